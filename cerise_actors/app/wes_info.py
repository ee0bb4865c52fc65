"""What the GA4GH WES front end needs to know about the service, as plain values.

The web package may not reach the staging or cwl packages, so the
composition root gathers the facts service-info tells (the runner, the
installed projects and steps) and where a run's attachments go (the exchange
area, and which URLs name it: the Exchange's own rule), once, at start-up.
"""

from .. import __version__
from ..staging import api_install
from ..web.wes import ServiceFacts, WesSettings


def wes_settings(exchange, projects, catalogue, choice, open_to_all: bool = False) -> WesSettings:
    """From the service's Exchange, projects, step catalogue and RunnerChoice;
    `open_to_all`: authentication is off (rest-service.auth: none)."""
    if choice.configured is not None:
        engine = (choice.configured.split() or ['cwl-runner'])[0]
        engine_version = 'as configured'
    else:
        engine, engine_version = 'cerise-runner', __version__
    facts = ServiceFacts(
        version=__version__,
        engine=engine,
        engine_version=engine_version,
        runner=choice.description,
        projects=api_install.project_versions(projects),
        steps=tuple(sorted(catalogue)),
        authentication=(
            'none (rest-service.auth: none)'
            if open_to_all
            else 'a token: Authorization: Bearer <token>, or as HTTP Basic password'
        ),
    )
    # the same prefixes and folder spellings stage-in reads by, so POST refuses what it would
    area_of = None
    if exchange.per_user:  # each user's attachments go to their own area

        def area_of(user):
            area = exchange.for_user(user)
            return area.service_dir, area.client_url, area.names

    return WesSettings(facts, exchange.service_dir, exchange.client_url, exchange.names, area_of)
