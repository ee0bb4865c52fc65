"""Database tables (peewee).

Only the StoreActor's thread touches these models. Everything it hands to
other actors or the front end is a :class:`~cerise_actors.jobs.views.JobView`,
a frozen snapshot, so no other thread ever holds a live row.
"""

from typing import Optional, Tuple, Type, Union

import peewee


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
    #: no index of its own: a transition moves a job's entry in every index
    #: that holds its state (schema.UNUSED_INDEXES)
    state = peewee.CharField(max_length=20)
    exit_code = peewee.IntegerField(null=True)
    remote_job_id = peewee.TextField(null=True)
    remote_dir = peewee.TextField(null=True)
    cores = peewee.IntegerField(default=0)
    time_limit = peewee.IntegerField(default=0)
    delete_requested = peewee.BooleanField(default=False)
    created_at = peewee.FloatField()
    updated_at = peewee.FloatField()
    #: when the job was first seen started on the resource (WES start_time)
    started_at = peewee.FloatField(null=True)
    #: the GA4GH WES RunRequest as submitted (JSON), for runs made through WES
    wes_request = peewee.TextField(null=True)
    #: the user who submitted the job ('' without users). Its indexes are
    #: composite and made by schema.prepare once an older file has the column:
    #: an index declared here would be made before that, and fail
    owner = peewee.CharField(max_length=64, default='')


class LogLine(_Base):
    """One timestamped line of a job's log, as users read it."""

    job_id = peewee.CharField(index=True, max_length=36)
    time = peewee.FloatField()
    level = peewee.CharField(max_length=8)
    message = peewee.TextField()


def bind_models(db: peewee.Database) -> Tuple[Type[Job], Type[LogLine]]:
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


#: the value of a field in UPDATABLE_FIELDS: text, a number, the workflow's
#: bytes, or None (NULL)
FieldValue = Optional[Union[str, int, bytes]]
#: Job fields that workers may set through JobStore.update()
UPDATABLE_FIELDS = frozenset(
    {
        'workflow_content',
        'staged_input_json',
        'output_json',
        'exit_code',
        'remote_job_id',
        'remote_dir',
        'cores',
        'time_limit',
    }
)
