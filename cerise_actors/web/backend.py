"""What the REST front end needs from the actor system, as plain calls.

The falcon resources call this facade; it asks the StoreActor with a time-out
and turns its answers into values or into exceptions the app maps to HTTP.
"""

import json
import time
from typing import Dict, Iterable, List, Optional, Tuple

import pykka

from ..defaults import WEB_ASK_TIMEOUT
from ..errors import JobNotFound, ServiceUnavailable
from ..jobs.states import JobState
from ..jobs.views import JobSummary, JobView, RunRecord
from .paging import Cursor


class JobsBackend:
    def __init__(self, store_proxy):
        self._store = store_proxy

    def _ask(self, future):
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
    ) -> JobView:
        """A new job; `job_id`, `wes_request` and `notes` for runs made through WES."""
        extra = {'job_id': job_id} if job_id else {}
        if wes_request is not None:
            extra['wes_request'] = json.dumps(wes_request)
        if notes:
            extra['notes'] = list(notes)
        return self._ask(self._store.create_job(name, workflow, json.dumps(input_doc), **extra))

    def get(self, job_id: str) -> JobView:
        job = self._ask(self._store.get_job(job_id))
        if job is None:
            raise JobNotFound(job_id)
        return job

    def list(self) -> List[JobSummary]:
        return self._ask(self._store.list_jobs())

    def list_page(
        self,
        states: Optional[List[str]] = None,
        name: Optional[str] = None,
        limit: Optional[int] = None,
        after: Optional[Cursor] = None,
    ) -> Tuple[List[JobSummary], Optional[Cursor]]:
        """Jobs in `states` (stored values) named `name`, at most `limit`,
        after the cursor `after`; and the cursor of the next page, if any."""
        return self._ask(self._store.list_jobs_page(states, name, limit, after))

    def list_runs(
        self, limit: int, after: Optional[Cursor] = None
    ) -> Tuple[List[RunRecord], Optional[Cursor]]:
        return self._ask(self._store.list_runs(limit, after))

    def get_run(self, job_id: str) -> RunRecord:
        run = self._ask(self._store.get_run(job_id))
        if run is None:
            raise JobNotFound(job_id)
        return run

    def state_counts(self) -> Dict[str, int]:
        """Stored state value -> number of jobs users see in it."""
        return self._ask(self._store.state_counts())

    def cancel(self, job_id: str) -> JobView:
        job = self._ask(self._store.cancel_job(job_id))
        if job is None:
            raise JobNotFound(job_id)
        return job

    def delete(self, job_id: str) -> None:
        if not self._ask(self._store.delete_job(job_id)):
            raise JobNotFound(job_id)

    def log_text(self, job_id: str) -> str:
        return ''.join(format_log_line(*line) for line in self.log_lines(job_id))

    def log_lines(self, job_id: str) -> List[Tuple[float, str, str]]:
        """The job log as (time, level, message) lines."""
        lines = self._ask(self._store.job_log(job_id))
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


def jobs_json_text(jobs: List[JobSummary], base_url: str) -> str:
    """The JSON text of GET /jobs: what `job_json` gives for each job, written
    directly. The stored input and output are JSON text the service itself
    wrote, so they are copied rather than parsed and encoded again (four times
    faster for 10,000 jobs)."""
    log = json.dumps(f'{base_url}/jobs/')[:-1]  # opening quote, escaped, no closing
    dumps = json.dumps
    return (
        '['
        + ', '.join(
            f'{{"id": {dumps(job.id)}, "name": {dumps(job.name)}, '
            f'"workflow": {dumps(job.workflow_url)}, "input": {job.input_json}, '
            f'"state": "{_CWL_STATE[job.state]}", "output": {job.output_json or "{}"}, '
            f'"log": {log}{dumps(job.id)[1:-1]}/log"}}'
            for job in jobs
        )
        + ']'
    )


def base_url_of(req, configured: Optional[str]) -> str:
    return configured or req.prefix
