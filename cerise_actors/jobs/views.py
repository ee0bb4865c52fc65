"""Immutable views of a job: what leaves the store for other threads.

Only the StoreActor's thread touches database rows. Everything it hands to
the workers or the front end is one of these frozen values, so no other
thread ever holds a live row, and the front end needs nothing of the store.
"""

import dataclasses
import json
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

from .states import JobState

#: a job-log message: one line, several lines (a sequence), or None for none
Message = Optional[Union[str, Sequence[str]]]
#: a line of a job's log as the store gives it: (time, level, message)
LogEntry = Tuple[float, str, str]


class JobSummary(NamedTuple):
    """What GET /jobs shows of a job, straight from its row: the list of all
    jobs is the largest answer the service gives (it is written page by page,
    see JobStore.page), so its JSON fields stay text and its state the stored
    JobState value."""

    id: str
    name: str
    workflow_url: str
    input_json: str
    state: str
    output_json: Optional[str]


class RunSummary(NamedTuple):
    """What GET /ga4gh/wes/v1/runs shows of a run: no input, no request, only
    the request's tags (JSON text; None for a job submitted through /jobs)."""

    id: str
    name: str
    state: str
    updated_at: float
    started_at: Optional[float]
    tags: Optional[str]


class RunRecord(NamedTuple):
    """What the GA4GH WES API shows of one job (a run), straight from its row:
    the fields of JobSummary plus the times and the WES request, so one
    query answers GET /runs/{id}."""

    id: str
    name: str
    workflow_url: str
    input_json: str
    state: str
    output_json: Optional[str]
    exit_code: Optional[int]
    created_at: float
    updated_at: float
    started_at: Optional[float]
    wes_request: Optional[str]  # JSON; None for jobs submitted through /jobs


@dataclasses.dataclass(frozen=True)
class JobView:
    """A snapshot of a job, safe to pass between threads."""

    id: str
    name: str
    workflow_url: str
    input_json: str
    state: JobState
    output_json: Optional[str]
    exit_code: Optional[int]  # the workflow runner's, once it has stopped
    remote_job_id: Optional[str]
    remote_dir: Optional[str]
    cores: int
    time_limit: int
    delete_requested: bool
    created_at: float
    updated_at: float
    workflow_content: Optional[bytes] = None
    staged_input_json: Optional[str] = None
    #: the user who submitted the job ('' when the service has no users):
    #: the store shows a job only to its owner, the runner takes turns by it
    owner: str = ''

    @classmethod
    def from_tuple(cls, row: Tuple[Any, ...]) -> 'JobView':
        """From a row of JOB_COLUMNS (+ FULL_COLUMNS), as the store selects them
        (sqlite3's values of the columns' types, hence Any)."""
        values: List[Any] = list(row)
        values[4] = JobState(values[4])
        values[11] = bool(values[11])
        owner = values.pop(14)
        if len(values) > 14 and values[14] is not None:
            values[14] = bytes(values[14])
        return cls(*values, owner=owner)  # type: ignore[misc]  # 14 or 16 values: never up to owner

    @property
    def input(self) -> Dict[str, Any]:
        """The job's input document (JSON: its values are of any JSON type)."""
        document: Dict[str, Any] = json.loads(self.input_json)
        return document

    @property
    def output(self) -> Dict[str, Any]:
        """The job's output document ({} before it has one)."""
        document: Dict[str, Any] = json.loads(self.output_json) if self.output_json else {}
        return document


_FIELDS = tuple(field.name for field in dataclasses.fields(JobView))
#: columns of a JobView: its first fields, in order, and its owner; FULL_COLUMNS
#: (the large ones) follow for full views
JOB_COLUMNS = _FIELDS[:14] + ('owner',)
FULL_COLUMNS = _FIELDS[14:16]
