"""What the REST front end needs from the actor system, as plain calls.

The falcon resources call this facade; it asks the StoreActor with a time-out
and turns its answers into values or into exceptions the app maps to HTTP.

Every call takes the requesting user as `owner`, keyword-only and without a
default, so a resource cannot forget it: the store answers another user's
job exactly as a job that does not exist (JobNotFound, left out of lists).
"""

import json
import time
from typing import (
    TYPE_CHECKING,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Tuple,
    TypedDict,
    TypeVar,
)

import falcon
import pykka

from ..defaults import WEB_ASK_TIMEOUT
from ..errors import JobNotFound, ServiceUnavailable
from ..jobs.states import JobState
from ..jobs.views import JobSummary, JobView, RunRecord, RunSummary
from .paging import STORE_PAGE_BYTES, STORE_PAGE_SECONDS, Cursor

if TYPE_CHECKING:  # the actors are started by app/, which hands the proxy in
    from ..actors.proxies import StoreProxy


class _Bounds(TypedDict):
    """What one ask for a page of a list may hold and take (store/pages.py)."""

    max_bytes: int
    max_seconds: float


_BOUNDS: _Bounds = {'max_bytes': STORE_PAGE_BYTES, 'max_seconds': STORE_PAGE_SECONDS}

T = TypeVar('T')
#: a page of rows and the cursor of the next page (None: the last page)
Page = Tuple[List[T], Optional[Cursor]]


class _NewJobExtras(TypedDict, total=False):
    """The arguments of StoreActor.create_job given only when set."""

    job_id: str
    wes_request: str
    notes: List[str]
    max_active: int


class JobsBackend:
    def __init__(self, store_proxy: 'StoreProxy') -> None:
        self._store = store_proxy

    def _ask(self, future: 'pykka.Future[T]') -> T:
        try:
            return future.get(timeout=WEB_ASK_TIMEOUT)
        except pykka.Timeout as exc:
            raise ServiceUnavailable('the job store did not answer in time') from exc
        except pykka.ActorDeadError as exc:
            raise ServiceUnavailable('the service is shutting down') from exc

    def create(
        self,
        name: str,
        workflow: str,
        input_doc: dict,
        job_id: Optional[str] = None,
        wes_request: Optional[dict] = None,
        notes: Iterable[str] = (),
        *,
        owner: str,
        max_active: Optional[int] = None,
    ) -> JobView:
        """A new job of `owner`; `job_id`, `wes_request` and `notes` for runs
        made through WES. With `max_active`, TooManyActiveJobs if the owner
        has that many unfinished jobs already (checked in the store, with the
        insert)."""
        extra: _NewJobExtras = {'job_id': job_id} if job_id else {}
        if wes_request is not None:
            extra['wes_request'] = json.dumps(wes_request)
        if notes:
            extra['notes'] = list(notes)
        if max_active is not None:
            extra['max_active'] = max_active
        future = self._store.create_job(name, workflow, json.dumps(input_doc), owner=owner, **extra)
        return self._ask(future)

    def get(self, job_id: str, *, owner: str) -> JobView:
        job = self._ask(self._store.get_job(job_id, owner=owner))
        if job is None:
            raise JobNotFound(job_id)
        return job

    def list_jobs(
        self,
        states: Optional[List[str]] = None,
        name: Optional[str] = None,
        limit: Optional[int] = None,
        after: Optional[Cursor] = None,
        *,
        owner: str,
    ) -> Tuple[Iterator[List[JobSummary]], Optional[Cursor]]:
        """The jobs of GET /jobs, in `states` (stored values), named `name`,
        after the cursor `after`, at most `limit`: as an iterator of lists,
        each one short ask of the store made as it is reached (a job deleted
        meanwhile is left out); and the cursor of the next page, if any. With
        a `limit`, the end of the page is asked for first (its keys only), so
        the cursor is known before any job is read."""
        until = cursor = None
        if limit is not None:
            ends = self._store.jobs_page_end(states, name, limit, after, owner=owner)
            until, cursor = self._ask(ends)
            if until is None:  # an empty page
                return iter(()), None

        def ask(after: Optional[Cursor], _: Optional[int]) -> 'pykka.Future[Page[JobSummary]]':
            return self._store.list_jobs_page(
                states, name, None, after, owner=owner, until=until, **_BOUNDS
            )

        return (rows for rows, _ in self._pages(ask, after)), cursor

    def list_runs(
        self, limit: int, after: Optional[Cursor] = None, *, owner: str
    ) -> Iterator[Tuple[List[RunSummary], Optional[Cursor]]]:
        """The runs of a page of GET /runs, at most `limit` after `after`, as
        (runs, cursor) pairs, each one short ask of the store made as it is
        reached; the last cursor names the next page (None if none)."""

        def ask(after: Optional[Cursor], left: Optional[int]) -> 'pykka.Future[Page[RunSummary]]':
            if left is None:  # _pages counts down the `limit` given it below
                raise ValueError('a page of runs is asked for with a limit')
            return self._store.list_runs(left, after, owner=owner, **_BOUNDS)

        return self._pages(ask, after, limit)

    def _pages(
        self,
        ask: Callable[[Optional[Cursor], Optional[int]], 'pykka.Future[Page[T]]'],
        after: Optional[Cursor],
        limit: Optional[int] = None,
    ) -> Iterator[Page[T]]:
        """(rows, cursor) of `ask(after, limit)` over and over, to the end
        or to `limit` rows."""
        while True:
            rows, after = self._ask(ask(after, limit))
            if limit is not None:
                limit -= len(rows)
            yield rows, after
            if after is None or limit == 0:
                return

    def get_run(self, job_id: str, *, owner: str) -> RunRecord:
        run = self._ask(self._store.get_run(job_id, owner=owner))
        if run is None:
            raise JobNotFound(job_id)
        return run

    def state_counts(self, *, owner: str) -> Dict[str, int]:
        """Stored state value -> number of `owner`'s jobs in it."""
        return self._ask(self._store.state_counts(owner=owner))

    def cancel(self, job_id: str, *, owner: str) -> JobView:
        job = self._ask(self._store.cancel_job(job_id, owner=owner))
        if job is None:
            raise JobNotFound(job_id)
        return job

    def delete(self, job_id: str, *, owner: str) -> None:
        if not self._ask(self._store.delete_job(job_id, owner=owner)):
            raise JobNotFound(job_id)

    def log_text(self, job_id: str, *, owner: str) -> str:
        return ''.join(format_log_line(*line) for line in self.log_lines(job_id, owner=owner))

    def log_lines(self, job_id: str, *, owner: str) -> List[Tuple[float, str, str]]:
        """The job log as (time, level, message) lines."""
        lines = self._ask(self._store.job_log(job_id, owner=owner))
        if lines is None:
            raise JobNotFound(job_id)
        return lines


def format_log_line(when: float, level: str, message: str) -> str:
    stamp = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(when))
    text = message.replace('\n', '\n  ')
    return f'{stamp} {level} {text}\n'


def job_json(job: JobView, base_url: str) -> dict:
    """The job as the Cerise REST API shows it."""
    return {
        'id': job.id,
        'name': job.name,
        'workflow': job.workflow_url,
        'input': job.input,
        'state': job.state.cwl_state,
        'output': job.output,
        'log': f'{base_url}/jobs/{job.id}/log',
    }


_CWL_STATE = {state.value: state.cwl_state for state in JobState}


def jobs_json_chunks(pages: Iterable[List[JobSummary]], base_url: str) -> Iterator[bytes]:
    """The JSON text of GET /jobs, a chunk per page of jobs: what `job_json`
    gives for each job, written directly. The stored input and output are JSON
    text the service itself wrote, so they are copied rather than parsed and
    encoded again (four times faster for 10,000 jobs)."""
    log = json.dumps(f'{base_url}/jobs/')[:-1]  # opening quote, escaped, no closing
    dumps = json.dumps
    opening = '['
    for jobs in pages:
        if not jobs:
            continue
        yield (
            opening
            + ', '.join(
                f'{{"id": {dumps(job.id)}, "name": {dumps(job.name)}, '
                f'"workflow": {dumps(job.workflow_url)}, "input": {job.input_json}, '
                f'"state": "{_CWL_STATE[job.state]}", "output": {job.output_json or "{}"}, '
                f'"log": {log}{dumps(job.id)[1:-1]}/log"}}'
                for job in jobs
            )
        ).encode()
        opening = ', '
    yield b'[]' if opening == '[' else b']'


def base_url_of(req: falcon.Request, configured: Optional[str]) -> str:
    return configured or req.prefix
