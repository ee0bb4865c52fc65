"""The fixed SQL of the job database and the small helpers that build its clauses.

The statements every job runs many times are fixed strings (building them
through peewee's query builder cost more than SQLite's own work); kept here
so job_store.py holds the logic of the store, not its text.

`SqlDatabase` is what the store asks of peewee's database, typed: peewee's
stubs leave `execute_sql` and `connection` untyped. What they give back is
sqlite3's: a row's values are Any (whatever the column stores), so each
reader names the types it reads (JobView, the NamedTuple rows, a count).

`Connection` runs the statements of every job's changes on the sqlite3
connection itself, in savepoints and transactions of fixed names: peewee's
`execute_sql` is five Python calls around the driver's one, and its
`atomic()` names each savepoint anew (a uuid4), a statement SQLite had to
compile every time. Its errors are peewee's, as execute_sql's are (the
group commit and the StoreActor catch peewee.OperationalError).
"""

import contextlib
import sqlite3
from types import TracebackType
from typing import (
    Callable,
    ContextManager,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    Tuple,
    Type,
)

import peewee

from ..jobs.states import FINAL_STATES, JobState
from ..jobs.views import FULL_COLUMNS, JOB_COLUMNS
from .models import UPDATABLE_FIELDS

SELECT = f'SELECT {", ".join(JOB_COLUMNS)} FROM job'
SELECT_FULL = f'SELECT {", ".join(JOB_COLUMNS + FULL_COLUMNS)} FROM job'
GET = f'{SELECT} WHERE id = ?'
GET_FULL = f'{SELECT_FULL} WHERE id = ?'
OWNER_AND_DELETION = 'SELECT owner, delete_requested FROM job WHERE id = ?'
INSERT_JOB = (
    'INSERT INTO job (id, name, workflow_url, input_json, state, cores, time_limit, '
    'delete_requested, created_at, updated_at, wes_request, owner) '
    'VALUES (?, ?, ?, ?, ?, 0, 0, 0, ?, ?, ?, ?)'
)
#: entering these states means the job has started on the resource (WES start_time)
STARTED = frozenset({JobState.RUNNING, JobState.FINISHED})
#: the stored values of the states of jobs that are not finished, and of those that are
UNFINISHED = tuple(s.value for s in JobState if s not in FINAL_STATES)
FINALS = tuple(s.value for s in JobState if s in FINAL_STATES)
_FINAL = f'state IN ({", ".join("?" * len(FINALS))})'
#: final jobs whose deletion was requested (values: FINALS), for the cleaner
DELETABLE = f'SELECT id FROM job WHERE delete_requested = 1 AND {_FINAL}'
#: final jobs not being deleted, last changed before a time (values: FINALS,
#: the time, how many at most), oldest first (jobs.retention)
EXPIRED = (
    f'SELECT id FROM job WHERE delete_requested = 0 AND {_FINAL} AND updated_at < ? '
    'ORDER BY updated_at LIMIT ?'
)
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

    def is_closed(self) -> bool:
        """Whether the connection is closed."""

    def close(self) -> object:
        """Close the connection."""


#: sqlite3's errors -> peewee's, as peewee's execute_sql turns them (by the
#: DB-API class's name)
_AS_PEEWEE = peewee.ExceptionWrapper(
    {
        kind.__name__: kind
        for kind in (peewee.DataError, peewee.IntegrityError, peewee.InterfaceError)
        + (peewee.InternalError, peewee.NotSupportedError, peewee.OperationalError)
        + (peewee.ProgrammingError, peewee.DatabaseError)
    }
)


_NOTHING = contextlib.nullcontext()
#: a job's log lines: its id, the time, the level, the lines
LogLines = Tuple[str, float, str, Sequence[str]]
#: lines per INSERT: far below SQLite's cap on a statement's parameters (32,766
#: in a default build), so a runner's log of any length is written, and few
#: statement texts are kept
LINES_PER_INSERT = 64
#: (how many lines, whether only while the job is in a state) -> the statement
_LOGS: Dict[Tuple[int, bool], str] = {}
#: the lines of a job between two of their ids (the first excluded), to take out
_UNLOG = 'DELETE FROM logline WHERE job_id = ? AND id > ? AND id <= ?'


def _log_sql(lines: int, only_in: bool) -> str:
    """INSERT of `lines` log lines, in their order; its values: the job's id,
    the time, the level, with `only_in` the state the job must be in (else
    no line is written), then the lines."""
    sql = _LOGS.get((lines, only_in))
    if sql is None:
        first = 5 if only_in else 4
        rows = ', '.join(f'({i}, ?{first + i})' for i in range(lines))
        where = ' WHERE EXISTS (SELECT 1 FROM job WHERE id = ?1 AND state = ?4)' if only_in else ''
        sql = _LOGS[(lines, only_in)] = (
            'INSERT INTO logline (job_id, time, level, message) '
            f'SELECT ?1, ?2, ?3, column2 FROM (VALUES {rows}){where} ORDER BY column1'
        )
    return sql


class Connection:
    """The store's statements on its sqlite3 connection (autocommit: peewee
    opens it with isolation_level None, so only these begin transactions)."""

    __slots__ = ('_conn', 'change', 'transaction', 'on_undo')

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        #: `with change:` one change (a transition and its log line): a
        #: savepoint, so a failure undoes the change alone; outside a
        #: transaction, it is one
        self.change: ContextManager[None] = _Block(
            self, 'SAVEPOINT change', 'RELEASE change', 'ROLLBACK TO change', 'RELEASE change'
        )
        #: `with transaction:` the group commit's batch
        self.transaction: ContextManager[None] = _Block(self, 'BEGIN', 'COMMIT', 'ROLLBACK')
        #: called whenever a change or a batch is undone (or SQLite undid it)
        self.on_undo: Callable[[], object] = lambda: None

    def execute(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except Exception:
            with _AS_PEEWEE:
                raise

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def move(self, update: str, values: Sequence[object], state: str, log: LogLines) -> bool:
        """The compare-and-swap `update` (`values`, then the job's id and the
        `state` it must be in) with its log lines, both or neither; whether
        the move was made.

        In a transaction (the group commit's) there is no savepoint: the lines
        go first, written only if the job is in `state`, so their count is
        the answer (only this thread writes); then the UPDATE, and should it
        fail, the lines are taken out again before its error goes on. A
        savepoint cost two statements more, and each statement hands the
        interpreter's lock to the waiting threads and back. Outside a
        transaction, all is in one savepoint, a transaction of its own."""
        with self.atomic():
            return self._move(update, values, state, log)

    def _move(self, update: str, values: Sequence[object], state: str, log: LogLines) -> bool:
        job_id, _, _, lines = log
        if not lines:
            return bool(self.execute(update, (*values, job_id, state)).rowcount)
        written = self._write_lines(log, state)
        if written is None:
            return False  # not in `state`: nothing was done
        try:
            if not self.execute(update, (*values, job_id, state)).rowcount:
                raise RuntimeError(f'job {job_id} left {state} between two statements')
        except BaseException:  # the lines out again (should that fail, its error goes on)
            self.execute(_UNLOG, (job_id, *written))
            raise
        return True

    def _write_lines(self, log: LogLines, state: Optional[str] = None) -> Optional[Tuple[int, int]]:
        """Write the lines, LINES_PER_INSERT a statement; with `state`, only if
        the job is in it (else None, nothing written). The ids around what was
        written (the first excluded), for _UNLOG; a statement that fails takes
        out the lines written before it, then its error goes on."""
        job_id, when, level, lines = log
        span: Optional[Tuple[int, int]] = None
        for start in range(0, len(lines), LINES_PER_INSERT):
            chunk = lines[start : start + LINES_PER_INSERT]
            only_in = state is not None and span is None
            params = (job_id, when, level, *((state,) if only_in else ()), *chunk)
            try:
                cursor = self.execute(_log_sql(len(chunk), only_in), params)
            except BaseException:
                if span is not None:
                    self.execute(_UNLOG, (job_id, *span))
                raise
            if only_in and not cursor.rowcount:
                return None
            last = cursor.lastrowid or 0
            span = (last - len(chunk) if span is None else span[0], last)
        return span

    def insert(self, insert: str, values: Sequence[object], log: LogLines) -> None:
        """`insert` (a job's) and its log lines, both or neither, as `move`
        makes a change: the job is deleted again if its lines fail."""
        with self.atomic():
            self.execute(insert, values)
            try:
                self.log(log)
            except BaseException:
                self.execute('DELETE FROM job WHERE id = ?', (log[0],))
                raise

    def atomic(self) -> ContextManager[None]:
        """What makes a change of several statements whole: outside a
        transaction, a savepoint (a transaction of its own); inside one,
        nothing, as `move` and `insert` undo their own first statement when
        the next fails (and the group commit rolls the batch back when SQLite
        may have lost its transaction)."""
        return _NOTHING if self._conn.in_transaction else self.change

    def log(self, log: LogLines) -> None:
        """Add the lines to the job's log, all or none."""
        self._write_lines(log)

    def undo(self, *statements: str) -> None:
        """Undo what SQLite still holds: nothing if it has rolled back on its
        own (the error that made it is the one raised); tell `on_undo`."""
        try:
            if self._conn.in_transaction:
                for sql in statements:
                    self._conn.execute(sql)
        except sqlite3.Error:
            pass
        finally:
            self.on_undo()


class _Block:
    """A savepoint of one fixed name (SQLite compiles its statements once), or
    BEGIN ... COMMIT: on an error, or if ending it fails, rolled back (a
    failed end is raised, as peewee's transaction() does). After some errors
    (a full disk) SQLite has rolled the whole transaction back, savepoint
    and all: the group commit sees that."""

    __slots__ = ('_sql', '_begin', '_end', '_undo')

    def __init__(self, sql: Connection, begin: str, end: str, *undo: str) -> None:
        self._sql, self._begin, self._end, self._undo = sql, begin, end, undo

    def __enter__(self) -> None:
        self._sql.execute(self._begin)

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        if exc_type is None:
            try:
                self._sql.execute(self._end)
                return
            except Exception:
                self._sql.undo(*self._undo)
                raise
        self._sql.undo(*self._undo)


#: (the fields a worker sets, in its order; whether the job starts) -> the
#: statement of a transition. A few shapes, each built (and checked) once
_TRANSITIONS: Dict[Tuple[Tuple[str, ...], bool], str] = {}


def transition_sql(fields: Tuple[str, ...], started: bool) -> str:
    """The compare-and-swap UPDATE of a transition that sets `fields`
    (UPDATABLE_FIELDS) and the state and time; with `started`, started_at
    too. Its values: the fields', the new state, the time (twice if
    `started`), the job's id and the state it must be in."""
    sql = _TRANSITIONS.get((fields, started))
    if sql is None:
        _check(fields)
        names = [*fields, 'state', 'updated_at']
        assignments = ', '.join(f'{name} = ?' for name in names)
        if started:
            assignments += ', started_at = COALESCE(started_at, ?)'
        sql = f'UPDATE job SET {assignments} WHERE id = ? AND state = ?'
        _TRANSITIONS[(fields, started)] = sql
    return sql


def _check(fields: Iterable[str]) -> None:
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise ValueError(f'cannot update job fields {sorted(unknown)}')


def owned(where: str, values: Params, owner: Optional[str]) -> Tuple[str, Params]:
    """`where` narrowed to `owner`'s jobs, unless `owner` is None (any)."""
    if owner is None:
        return where, values
    return f'{where} AND owner = ?', [*values, owner]


def set_clause(fields: Mapping[str, object], **fixed: object) -> Tuple[str, Params]:
    """`a = ?, b = ?` and the values for `fields` a worker may set (UPDATABLE_FIELDS)
    plus the store's own `fixed` ones (state, updated_at)."""
    _check(fields)
    fields = dict(fields, **fixed)
    names = sorted(fields)
    return ', '.join(f'{name} = ?' for name in names), [fields[name] for name in names]
