"""`/ready` and `/metrics`, answered in front of the start gate.

`/health` (answered by the auth gate) says the process answers; `/ready`
says it can do its work: start-up is done, the job store answers, the
specialisation is installed (the runner's installation gate is open) and
the compute resource answered the poller's last status query. It asks three
actors, which only the composition root knows, so it lives here and not in
web/. Each ask has a short time-out, all share one deadline, and anything
that fails or is late means "not ready": a probe must never hang, nor call a
service ready that it could not check.

Both sit behind the auth gate (`/ready` is among its public paths,
`/metrics` needs the token like every route) and in front of the start gate,
so while the service starts `/ready` answers its own 503 and `/metrics` is
already scraped. The answer tells nothing but ready or not: the reason goes
to the service log, once per change.

The metrics count every user's jobs, so with a users file only the user
`metrics` (made for the scraper with `cerise-actors add-user metrics`) may
read them: any other user would learn of other users' jobs, which no other
route tells. With the one token (user '') its holder, the operator, may.
"""

import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Iterable, List, Optional, Sequence, Tuple

from ..web.identity import USER_KEY

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from ..actors.proxies import PollerProxy, RunnerProxy, StoreProxy

logger = logging.getLogger(__name__)

READY = '/ready'
METRICS = '/metrics'
#: all of a probe's asks together, in seconds
READY_TIMEOUT = 2.0
#: with a users file, the one user who may read /metrics (the one token's user is '')
METRICS_USER = 'metrics'
RETRY = [('Retry-After', '5')]
ALLOW = [('Allow', 'GET, HEAD')]


_FORBIDDEN = (
    "the metrics count every user's jobs: with a users file only the user "
    f'"{METRICS_USER}" may read them (cerise-actors add-user {METRICS_USER})'
)


class Readiness:
    """Whether the service is ready; `watch` the actors once they exist,
    `open` when start-up is done, `close` when stopping begins."""

    def __init__(self, timeout: float = READY_TIMEOUT) -> None:
        self._timeout = timeout
        self._open = threading.Event()
        self._actors: Optional[Tuple[StoreProxy, RunnerProxy, PollerProxy]] = None
        self._last: Optional[str] = None  # the last reason logged ('' = ready)

    def watch(
        self, store_proxy: 'StoreProxy', runner_proxy: 'RunnerProxy', poller_proxy: 'PollerProxy'
    ) -> None:
        self._actors = (store_proxy, runner_proxy, poller_proxy)

    def open(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._open.clear()

    def is_ready(self) -> bool:
        reason = self._why_not()
        if reason != self._last:  # one log line per change, not one per probe
            self._last = reason
            if reason:
                logger.warning('not ready: %s', reason)
            else:
                logger.info('ready')
        return not reason

    def _why_not(self) -> str:
        """'' when ready, else what is missing (for the log only)."""
        if not self._open.is_set() or self._actors is None:
            return 'starting or stopping'
        store, runner, poller = self._actors
        deadline = time.monotonic() + self._timeout
        try:  # asked at once, answered in parallel, one deadline for all
            asks = (
                ('the job store is not open', store.ping()),
                ('the specialisation is not installed', runner.installed()),
                ('the last status query did not reach the resource', poller.reachable()),
            )
            for problem, future in asks:
                if future.get(timeout=max(0.0, deadline - time.monotonic())) is not True:
                    return problem
        except Exception as exc:  # a time-out, a stopped actor: not ready
            return f'an actor did not answer in {self._timeout:g} s ({type(exc).__name__})'
        return ''


class Probes:
    """WSGI: `/ready` and `/metrics` here, everything else to `app`."""

    def __init__(
        self, app: 'WSGIApplication', readiness: Readiness, metrics: 'WSGIApplication'
    ) -> None:
        self._app = app
        self._readiness = readiness
        self._metrics = metrics

    def __call__(
        self, environ: 'WSGIEnvironment', start_response: 'StartResponse'
    ) -> Iterable[bytes]:
        path = environ.get('PATH_INFO', '')
        if path not in (READY, METRICS):
            return self._app(environ, start_response)
        if environ.get('REQUEST_METHOD') not in ('GET', 'HEAD'):
            body = {'title': 'Method not allowed', 'description': 'only GET and HEAD'}
            return _answer(environ, start_response, '405 Method Not Allowed', body, ALLOW)
        if path == METRICS:
            if environ.get(USER_KEY) not in ('', METRICS_USER):  # unset: refused too
                body = {'title': 'Forbidden', 'description': _FORBIDDEN}
                return _answer(environ, start_response, '403 Forbidden', body)
            return self._metrics(environ, start_response)
        if self._readiness.is_ready():
            return _answer(environ, start_response, '200 OK', {'status': 'ready'})
        body = {'status': 'not ready'}
        return _answer(environ, start_response, '503 Service Unavailable', body, RETRY)


def _answer(
    environ: 'WSGIEnvironment',
    start_response: 'StartResponse',
    status: str,
    body: dict,
    headers: Sequence[Tuple[str, str]] = (),
) -> List[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status,
        [
            ('Content-Type', 'application/json'),
            ('Content-Length', str(len(data))),
            ('Cache-Control', 'no-store'),
            *headers,
        ],
    )
    return [] if environ.get('REQUEST_METHOD') == 'HEAD' else [data]
