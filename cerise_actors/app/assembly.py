"""Parts of the service that CeriseService._build wires from what it already built.

Each function makes one part from the parts it needs, passed explicitly, and
registers nothing to undo: none of them starts a thread or opens a file (those
that do, the HTTP server, the actors and the resource, are in parts.py, each
with its own undo). Kept apart so `_build` reads as the order things
start and stop in, and each part's set-up reads in one place.
"""

from pathlib import Path
from typing import Dict

from ..actors.proxies import RunnerProxy, StoreProxy
from ..actors.stager_pool import StagerPool
from ..cwl.step_info import describe_steps
from ..cwl.steps import installed_file_names
from ..defaults import ASK_TIMEOUT
from ..jobs.states import JobState as S
from ..staging import api_install
from ..staging.bounded import SourceLimits
from ..staging.exchange import Exchange
from ..staging.runner_command import RunnerChoice
from ..staging.stage_in import StageIn
from ..staging.validate import WorkflowValidator
from ..store.actor import DELETABLE, LEFT_RESOURCE
from ..web.app import create_app
from ..web.backend import JobsBackend
from ..web.dispatch import mount
from ..web.files import make_files_app
from ..web.files_users import FilesPerUser
from ..web.signed_outputs import Downloads
from .metrics import SubmissionCounter
from .wes_info import wes_settings


def build_stage_in(
    res, exchange: Exchange, projects: Dict[str, Path], catalogue, limits, own_port: int, choice
) -> StageIn:
    """Stage-in on resource `res`: the installed steps, the fetch limits (never
    the service's own port), the workflow check; JavaScript only where our
    runner sandboxes it."""
    return StageIn(
        res.fs,
        res.layout,
        exchange,
        catalogue,
        installed_file_names(projects),
        SourceLimits(
            seconds=limits.fetch_seconds,
            max_bytes=limits.fetch_bytes,
            deny=limits.fetch_deny.with_own_port(own_port),  # never its own API
        ),
        WorkflowValidator(projects),
        javascript=choice.configured is None,  # only our runner sandboxes it
    )


def subscribe_workers(store: StoreProxy, stagers: StagerPool, runner: RunnerProxy) -> None:
    """Tell the stagers and the runner of the states they move jobs on from;
    those that share work out between users hear each job's owner too."""
    for topic, callback in (
        (S.SUBMITTED, stagers.stage_in),
        (S.FINISHED, stagers.stage_out),
        (DELETABLE, stagers.delete),
        (S.WAITING, runner.enqueue),
    ):
        store.subscribe(topic, callback, with_owner=True).get(timeout=ASK_TIMEOUT)
    for topic, told in (
        (S.WAITING_CR, runner.cancel),
        (S.RUNNING_CR, runner.cancel),
        (LEFT_RESOURCE, runner.job_ended),
    ):
        store.subscribe(topic, told).get(timeout=ASK_TIMEOUT)


def build_api(
    store: StoreProxy,
    exchange: Exchange,
    projects: Dict[str, Path],
    catalogue,
    choice: RunnerChoice,
    access,
    config,
    metrics,
):
    """The WSGI app behind the gates: the jobs API (and WES) on `store`, and
    the file exchange over WebDAV on the same port, each user in their own
    folder of it, chosen by the user the auth gate let in."""
    wes = wes_settings(exchange, projects, catalogue, choice, open_to_all=access.who is None)
    steps = describe_steps(catalogue, api_install.project_versions(projects))
    app = create_app(
        JobsBackend(store),
        config.base_url,
        config.limits.request_bytes,
        wes,
        steps,
        Downloads(exchange.client_url, access.signer),
        config.limits.active_jobs_per_user,
        exchange.names,
    )
    app.add_middleware(SubmissionCounter(metrics))  # counts POST /jobs and /runs
    files = FilesPerUser(lambda user: make_files_app(exchange.for_user(user).service_dir))
    return mount(app, '/files', files)
