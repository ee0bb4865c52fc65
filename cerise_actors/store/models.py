"""Database tables (peewee) and the immutable view of a job that leaves the store.

Only the StoreActor's thread touches these models. Everything it hands to
other actors or the front end is a :class:`JobView`, a frozen snapshot, so no
other thread ever holds a live row.
"""
import dataclasses
import json
from typing import NamedTuple, Optional

import peewee

from ..jobs.states import JobState

class _Base(peewee.Model):
    """Unbound base: each JobStore binds its own copies (see bind_models)."""


class Job(_Base):
    """One submitted job; `state` holds a JobState value."""

    id = peewee.CharField(primary_key=True, max_length=36)
    name = peewee.TextField(default='')
    workflow_url = peewee.TextField()
    workflow_content = peewee.BlobField(null=True)
    input_json = peewee.TextField(default='{}')
    staged_input_json = peewee.TextField(null=True)
    output_json = peewee.TextField(null=True)
    state = peewee.CharField(index=True, max_length=20)
    runner_result = peewee.CharField(null=True, max_length=20)
    remote_job_id = peewee.TextField(null=True)
    remote_dir = peewee.TextField(null=True)
    cores = peewee.IntegerField(default=0)
    time_limit = peewee.IntegerField(default=0)
    delete_requested = peewee.BooleanField(default=False, index=True)
    created_at = peewee.FloatField()
    updated_at = peewee.FloatField()


class LogLine(_Base):
    """One timestamped line of a job's log, as users read it."""

    job_id = peewee.CharField(index=True, max_length=36)
    time = peewee.FloatField()
    level = peewee.CharField(max_length=8)
    message = peewee.TextField()


def bind_models(db: peewee.Database):
    """Copies of the tables bound to `db`, so two stores never share a binding."""
    class BoundJob(Job):
        class Meta:
            database = db
            table_name = 'job'

    class BoundLogLine(LogLine):
        class Meta:
            database = db
            table_name = 'logline'

    return BoundJob, BoundLogLine

#: Job fields that workers may set through JobStore.update()
UPDATABLE_FIELDS = frozenset({
    'workflow_content', 'staged_input_json', 'output_json', 'runner_result',
    'remote_job_id', 'remote_dir', 'cores', 'time_limit'})


class JobSummary(NamedTuple):
    """What GET /jobs shows of a job, straight from its row: the list of all
    jobs is the largest answer the service gives, so its JSON fields stay text
    and its state the stored JobState value."""

    id: str
    name: str
    workflow_url: str
    input_json: str
    state: str
    output_json: Optional[str]


#: columns of a JobView, in the order of its fields; FULL_COLUMNS follow for full views
JOB_COLUMNS = ('id', 'name', 'workflow_url', 'input_json', 'state', 'output_json',
               'runner_result', 'remote_job_id', 'remote_dir', 'cores', 'time_limit',
               'delete_requested', 'created_at', 'updated_at')
FULL_COLUMNS = ('workflow_content', 'staged_input_json')


@dataclasses.dataclass(frozen=True)
class JobView:
    """A snapshot of a job, safe to pass between threads."""

    id: str
    name: str
    workflow_url: str
    input_json: str
    state: JobState
    output_json: Optional[str]
    runner_result: Optional[str]
    remote_job_id: Optional[str]
    remote_dir: Optional[str]
    cores: int
    time_limit: int
    delete_requested: bool
    created_at: float
    updated_at: float
    workflow_content: Optional[bytes] = None
    staged_input_json: Optional[str] = None

    @classmethod
    def from_tuple(cls, row: tuple) -> 'JobView':
        """From a row of JOB_COLUMNS (+ FULL_COLUMNS), as the store selects them."""
        row = list(row)
        row[4] = JobState(row[4])
        row[11] = bool(row[11])
        if len(row) > 14 and row[14] is not None:
            row[14] = bytes(row[14])
        return cls(*row)

    @property
    def input(self) -> dict:
        return json.loads(self.input_json)

    @property
    def output(self) -> dict:
        return json.loads(self.output_json) if self.output_json else {}
