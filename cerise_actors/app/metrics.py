"""The service's metrics, served at `/metrics` in the Prometheus text format.

Only this module imports prometheus_client. The actors and the web layer are
handed a `ServiceMetrics` through their constructors as a plain object with
plain methods (`job_moved`, `poll_round`, `resource_error`, `submitted`,
`refused`, `deployed`), or None where nothing is measured, so the lower
layers import nothing of it and an actor built alone in a test needs
nothing. Each service has its own `CollectorRegistry`: tests start many
services in one process, and the global default registry would mix their
numbers (and refuse the second service's metric names).

Jobs by state are not counted here but asked of the store at scrape time
(`JobsByState`), so they can never drift from the database; a store that
does not answer within a short time-out leaves them out and says so in
`cerise_job_store_up`.
"""

import logging
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional

import falcon
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from ..jobs.states import JobState as S
from ..web.wes import PREFIX as WES_PREFIX

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from ..actors.proxies import StoreProxy

logger = logging.getLogger(__name__)

#: how long a scrape waits for the store's counts
SCRAPE_ASK_TIMEOUT = 2.0
#: the label values counted from the start, so a rate is defined before the first event
WAYS = ('rest', 'wes')
REASONS = ('unauthorized', 'too_many_jobs', 'bad_request')
DEPLOYED = ('runner', 'project')
#: staging takes seconds to minutes, a run up to days, a poll round well under a minute
STAGING_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)
RUN_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 3 * 3600, 12 * 3600, 24 * 3600, 72 * 3600)
POLL_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
#: the answers to POST /jobs and WES POST /runs that count as a refusal
REFUSED_STATUS = {400: 'bad_request', 429: 'too_many_jobs'}


class ServiceMetrics:
    """Every metric of one service, in its own registry."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self._submissions = Counter(
            'cerise_submissions', 'Jobs created, by the API they came through', ['way'], registry=r
        )
        self._refusals = Counter(
            'cerise_refusals', 'Requests refused, by reason', ['reason'], registry=r
        )
        self._resource_errors = Counter(
            'cerise_resource_errors',
            'Failed calls to the compute resource (status queries, staging), by error class',
            ['kind'],
            registry=r,
        )
        self._deployments = Counter(
            'cerise_deployments',
            'Installations on the compute resource: the CWL runner, or a project',
            ['what'],
            registry=r,
        )
        self._poll_rounds = Histogram(
            'cerise_poll_round_seconds',
            'Time of one poller round (the status query and applying its answers)',
            buckets=POLL_BUCKETS,
            registry=r,
        )
        self._phases = {
            S.STAGING_IN: Histogram(
                'cerise_stage_in_seconds',
                'Time jobs spent staging in, whatever came next',
                buckets=STAGING_BUCKETS,
                registry=r,
            ),
            S.STAGING_OUT: Histogram(
                'cerise_stage_out_seconds',
                'Time jobs spent staging out, whatever came next',
                buckets=STAGING_BUCKETS,
                registry=r,
            ),
            S.RUNNING: Histogram(
                'cerise_run_seconds',
                'Time jobs were seen running on the compute resource',
                buckets=RUN_BUCKETS,
                registry=r,
            ),
        }
        for way in WAYS:
            self._submissions.labels(way)
        for reason in REASONS:
            self._refusals.labels(reason)
        for what in DEPLOYED:
            self._deployments.labels(what)

    # --- what the parts report -----------------------------------------
    def job_moved(self, from_state: S, to_state: S, seconds: float) -> None:
        """The StoreActor's transition hook: time spent in `from_state`."""
        histogram = self._phases.get(from_state)
        if histogram is not None and seconds >= 0:
            histogram.observe(seconds)

    def poll_round(self, seconds: float) -> None:
        self._poll_rounds.observe(seconds)

    def resource_error(self, kind: str) -> None:
        self._resource_errors.labels(kind).inc()

    def submitted(self, way: str) -> None:
        self._submissions.labels(way).inc()

    def refused(self, reason: str) -> None:
        self._refusals.labels(reason).inc()

    def deployed(self, what: str) -> None:
        self._deployments.labels(what).inc()

    # --- scraping --------------------------------------------------------
    def count_jobs(self, store_proxy: 'StoreProxy', timeout: float = SCRAPE_ASK_TIMEOUT) -> None:
        """From now on each scrape asks `store_proxy` for the jobs by state."""
        self.registry.register(JobsByState(store_proxy, timeout))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def __call__(self, environ: 'WSGIEnvironment', start_response: 'StartResponse') -> List[bytes]:
        """WSGI: the text format (behind the auth gate, like every route)."""
        body = self.exposition()
        start_response(
            '200 OK',
            [
                ('Content-Type', CONTENT_TYPE_LATEST),
                ('Content-Length', str(len(body))),
                ('Cache-Control', 'no-store'),
            ],
        )
        return [] if environ.get('REQUEST_METHOD') == 'HEAD' else [body]


class JobsByState:
    """A collector: `cerise_jobs{state=...}` asked of the store at each scrape
    (jobs being deleted left out, as in the API), every state listed, and
    `cerise_job_store_up` saying whether the store answered in time."""

    def __init__(self, store_proxy: 'StoreProxy', timeout: float = SCRAPE_ASK_TIMEOUT) -> None:
        self._store = store_proxy
        self._timeout = timeout

    def describe(self) -> List[GaugeMetricFamily]:
        """The names without asking the store (so registering asks nothing)."""
        return [_jobs_family(), _up_family()]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self._counts()
        up = _up_family()
        up.add_metric([], 0 if counts is None else 1)
        yield up
        if counts is None:
            return
        jobs = _jobs_family()
        for state in S:
            jobs.add_metric([state.value], counts.get(state.value, 0))
        yield jobs

    def _counts(self) -> Optional[Dict[str, int]]:
        try:
            return self._store.state_counts(owner=None).get(timeout=self._timeout)
        except Exception as exc:  # a time-out or a stopped store: leave the counts out
            logger.warning(
                'metrics: the job store did not answer (%r); jobs by state left out', exc
            )
            return None


def _jobs_family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        'cerise_jobs', 'Jobs in each internal state (jobs being deleted left out)', labels=['state']
    )


def _up_family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        'cerise_job_store_up', 'Whether the job store answered this scrape in time (1) or not (0)'
    )


class SubmissionCounter:
    """falcon middleware: counts POST /jobs and WES POST /runs by their answer,
    a created job (`submitted`) or a refusal (`refused`: 400, 429). One place
    for both APIs, after their own error handlers have chosen the status."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self._metrics = metrics
        self._ways = {'/jobs': 'rest', f'{WES_PREFIX}/runs': 'wes'}

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        way = self._ways.get(req.path.rstrip('/')) if req.method == 'POST' else None
        if way is None:
            return
        status = falcon.http_status_to_code(resp.status)  # falcon 3 has no status_code
        if 200 <= status < 300:
            self._metrics.submitted(way)
        elif status in REFUSED_STATUS:
            self._metrics.refused(REFUSED_STATUS[status])
