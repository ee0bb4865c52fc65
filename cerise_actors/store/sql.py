"""The fixed SQL of the job database and the small helpers that build its clauses.

The statements every job runs many times are fixed strings (building them
through peewee's query builder cost more than SQLite's own work); kept here
so job_store.py holds the logic of the store, not its text.

`SqlDatabase` is what the store asks of peewee's database, typed: peewee's
stubs leave `execute_sql` and `connection` untyped. What they give back is
sqlite3's: a row's values are Any (whatever the column stores), so each
reader names the types it reads (JobView, the NamedTuple rows, a count).
"""

import sqlite3
from typing import ContextManager, List, Mapping, Optional, Protocol, Sequence, Tuple

from ..jobs.states import FINAL_STATES, JobState
from ..jobs.views import FULL_COLUMNS, JOB_COLUMNS
from .models import UPDATABLE_FIELDS

SELECT = f'SELECT {", ".join(JOB_COLUMNS)} FROM job'
SELECT_FULL = f'SELECT {", ".join(JOB_COLUMNS + FULL_COLUMNS)} FROM job'
INSERT_JOB = (
    'INSERT INTO job (id, name, workflow_url, input_json, state, cores, time_limit, '
    'delete_requested, created_at, updated_at, wes_request, owner) '
    'VALUES (?, ?, ?, ?, ?, 0, 0, 0, ?, ?, ?, ?)'
)
INSERT_LOG = 'INSERT INTO logline (job_id, time, level, message) VALUES (?, ?, ?, ?)'
#: entering these states means the job has started on the resource (WES start_time)
STARTED = frozenset({JobState.RUNNING, JobState.FINISHED})
#: the stored values of the states of jobs that are not finished
UNFINISHED = tuple(s.value for s in JobState if s not in FINAL_STATES)
#: how many unfinished jobs a user has, on the index of schema.ACTIVE_INDEX and
#: only as far as the limit (a user's finished jobs are never read)
COUNT_ACTIVE = (
    'SELECT count(*) FROM (SELECT 1 FROM job INDEXED BY job_owner_state '
    f'WHERE owner = ? AND state IN ({", ".join("?" * len(UNFINISHED))}) '
    'AND delete_requested = 0 LIMIT ?)'
)

#: the values bound to a statement's `?`s, in order
Params = List[object]


class SqlDatabase(Protocol):
    """The calls the store makes on its peewee SqliteDatabase (an instance
    is one of these as it is: nothing wraps it)."""

    def execute_sql(self, sql: str, params: Optional[Sequence[object]] = ...) -> sqlite3.Cursor:
        """Run one statement; its cursor (rows, rowcount)."""

    def connection(self) -> sqlite3.Connection:
        """The thread's SQLite connection."""

    def atomic(self) -> ContextManager[object]:
        """A transaction, or a savepoint inside one."""

    def transaction(self) -> ContextManager[object]:
        """A transaction (the group commit's)."""

    def is_closed(self) -> bool:
        """Whether the connection is closed."""

    def close(self) -> object:
        """Close the connection."""


def owned(where: str, values: Params, owner: Optional[str]) -> Tuple[str, Params]:
    """`where` narrowed to `owner`'s jobs, unless `owner` is None (any)."""
    if owner is None:
        return where, values
    return f'{where} AND owner = ?', [*values, owner]


def set_clause(fields: Mapping[str, object], **fixed: object) -> Tuple[str, Params]:
    """`a = ?, b = ?` and the values for `fields` a worker may set (UPDATABLE_FIELDS)
    plus the store's own `fixed` ones (state, updated_at)."""
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise ValueError(f'cannot update job fields {sorted(unknown)}')
    fields = dict(fields, **fixed)
    names = sorted(fields)
    return ', '.join(f'{name} = ?' for name in names), [fields[name] for name in names]
