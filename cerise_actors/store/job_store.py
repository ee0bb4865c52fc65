"""The job database: create, read, transition, log, delete.

A plain class used from exactly one thread (the StoreActor's). Each state
change is one compare-and-swap UPDATE inside a transaction together with the
job-log line that explains it, so a crash never leaves a state without its
reason, and two callers racing for the same transition cannot both win.

peewee owns the schema and its migration (schema.py); the statements every job runs
many times (read, transition, update, log) are fixed SQL strings, because
building them through the query builder cost more than SQLite's own work,
run on the sqlite3 connection itself (sql.Connection: peewee's execute_sql
and atomic() cost more again).

Each job has an owner. The reads and changes a user's request makes take
`owner`: with one given, another owner's job is answered exactly as a job
that does not exist (None, or left out of lists and counts); None is any
owner, for the internal actors. `create` enforces the per-user limit of
unfinished jobs in the same transaction as the insert, so two requests
racing for the last place cannot both have it.
"""

import logging
import math
import time
import uuid
from pathlib import Path
from typing import ContextManager, Dict, Iterable, List, Optional, Sequence, Tuple, Type

import peewee

from ..errors import IllegalTransition, TooManyActiveJobs
from ..jobs.states import JobState
from ..jobs.views import JobSummary, JobView, LogEntry, Message, RunRecord
from . import pages, schema, transitions
from .job_facts import ActiveCounts, Facts
from .models import FieldValue, bind_models
from .pages import R
from .sql import (
    DELETABLE,
    EXPIRED,
    FINALS,
    GET,
    GET_FULL,
    INSERT_JOB,
    SELECT,
    STARTED,
    Connection,
    SqlDatabase,
    owned,
    set_clause,
    transition_sql,
)

logger = logging.getLogger(__name__)


class JobStore:
    """SQLite-backed store of jobs and their logs."""

    def __init__(self, db_file: Path):
        db_file = Path(db_file)
        db_file.parent.mkdir(parents=True, exist_ok=True)
        db = peewee.SqliteDatabase(
            str(db_file),
            pragmas={
                'journal_mode': 'wal',
                'synchronous': 'normal',
                'foreign_keys': 1,
                'busy_timeout': 5000,
            },
        )
        self.Job, self.LogLine = bind_models(db)
        db.connect(reuse_if_open=True)
        schema.prepare(db, self.Job, self.LogLine)
        sql: SqlDatabase = db  # the same database, as the fixed SQL calls it (typed)
        self._db = sql
        self._sql = Connection(sql.connection())
        self._facts = Facts(self._sql)  # owners and deletions, as last read or written
        self._active = ActiveCounts(self._sql, self._facts)
        self._sql.on_undo = self._active.forget  # and the facts with the bounds
        self._last_created: Optional[float] = sql.execute_sql(
            'SELECT max(created_at) FROM job'
        ).fetchone()[0]

    def close(self) -> None:
        if not self._db.is_closed():
            self._db.close()

    def transaction(self) -> ContextManager[object]:
        """A transaction context (the StoreActor's group commit): each change
        inside it is undone alone if it fails (sql.Connection.move)."""
        return self._sql.transaction

    def in_transaction(self) -> bool:
        """Whether SQLite itself holds a transaction open: after SQLITE_FULL or an
        I/O error it may have rolled the whole transaction back on its own."""
        return self._sql.in_transaction

    # --- reading -------------------------------------------------------
    def get(
        self,
        job_id: str,
        full: bool = False,
        include_deleted: bool = False,
        owner: Optional[str] = None,
    ) -> Optional[JobView]:
        """The job, or None if unknown (or being deleted, unless asked, or
        not `owner`'s)."""
        row = self._sql.execute(GET_FULL if full else GET, (job_id,)).fetchone()
        if row is None:
            return None
        job = JobView.from_tuple(row)
        self._facts.known(job.id, job.owner, job.delete_requested)
        if owner is not None and job.owner != owner:
            return None
        return None if job.delete_requested and not include_deleted else job

    def page(
        self,
        row_type: Type[R] = JobSummary,  # type: ignore[assignment]  # then R is JobSummary (mypy#3737)
        states: Optional[List[str]] = None,
        name: Optional[str] = None,
        limit: Optional[int] = None,
        after: Optional[pages.Key] = None,
        owner: Optional[str] = None,
        until: Optional[pages.Key] = None,
        max_bytes: Optional[int] = None,
        max_seconds: Optional[float] = None,
    ) -> Tuple[List[R], Optional[pages.Key]]:
        """A page of the jobs users see (`owner`'s only, if given), as
        `row_type` rows (JobSummary or RunSummary), and the cursor of the next
        page (None on the last); see `pages.read` for the filters and the
        bounds (until, max_bytes, max_seconds)."""
        return pages.read(
            self._db, row_type, states, name, limit, after, until, max_bytes, max_seconds, owner
        )

    def page_end(
        self,
        states: Optional[List[str]] = None,
        name: Optional[str] = None,
        limit: int = 1,
        after: Optional[pages.Key] = None,
        owner: Optional[str] = None,
    ) -> Tuple[Optional[pages.Key], Optional[pages.Key]]:
        """The last job of a page and the next page's cursor, see `pages.end`."""
        return pages.end(self._db, states, name, limit, after, owner)

    def run(self, job_id: str, owner: Optional[str] = None) -> Optional[RunRecord]:
        """The job as the WES API shows it, None if unknown, being deleted or
        not `owner`'s."""
        where, values = owned('id = ? AND delete_requested = 0', [job_id], owner)
        row = self._db.execute_sql(
            f'SELECT {", ".join(RunRecord._fields)} FROM job WHERE {where}', values
        ).fetchone()
        return None if row is None else RunRecord._make(row)

    def state_counts(self, owner: Optional[str] = None) -> Dict[str, int]:
        """Stored state value -> how many jobs users see (`owner`'s, if given) are in it."""
        where, values = owned('delete_requested = 0', [], owner)
        return dict(
            self._db.execute_sql(
                f'SELECT state, count(*) FROM job WHERE {where} GROUP BY state', values
            ).fetchall()
        )

    def active_count(self, owner: str, most: int) -> int:
        """How many of `owner`'s jobs are unfinished and not being deleted,
        counted up to `most` (no further: that is all the limit needs)."""
        return self._active.count(owner, most)

    def in_states(self, states: Iterable[JobState]) -> List[JobView]:
        """Jobs in any of `states` (deleted ones too: workers must finish them).
        Read on job_listing, which holds the state: only the rows found are read
        (at start-up; no index on the state alone is kept up to date for it)."""
        values = [s.value for s in states]
        where = f'state IN ({", ".join("?" * len(values))})'
        rows = self._sql.execute(
            f'{SELECT} INDEXED BY job_listing WHERE {where} ORDER BY created_at', values
        ).fetchall()
        return [JobView.from_tuple(row) for row in rows]

    def owner_and_deletion(self, job_id: str) -> Tuple[str, bool]:
        """The job's owner and whether its deletion was requested (('', False) if
        unknown): what the StoreActor's publications need, without the whole job."""
        return self._facts(job_id)

    def deletable(self) -> List[str]:
        """Ids of jobs whose deletion was requested and that are final."""
        return [job_id for (job_id,) in self._sql.execute(DELETABLE, FINALS)]

    def expired(self, before: float, limit: int) -> List[str]:
        """Ids of at most `limit` finished jobs last changed before `before`
        (jobs.retention), oldest first; jobs being deleted are left out."""
        return [job_id for (job_id,) in self._sql.execute(EXPIRED, (*FINALS, before, limit))]

    def log_lines(self, job_id: str, owner: Optional[str] = None) -> Optional[List[LogEntry]]:
        """The job log, None if the job is unknown, being deleted or not `owner`'s."""
        if self.get(job_id, owner=owner) is None:
            return None
        lines: List[LogEntry] = self._db.execute_sql(
            'SELECT time, level, message FROM logline WHERE job_id = ? ORDER BY id', (job_id,)
        ).fetchall()
        return lines

    # --- writing -------------------------------------------------------
    def create(
        self,
        name: str,
        workflow_url: str,
        input_json: str,
        job_id: Optional[str] = None,
        wes_request: Optional[str] = None,
        notes: Iterable[str] = (),
        owner: str = '',
        max_active: Optional[int] = None,
    ) -> JobView:
        """A new job of `owner` in SUBMITTED. `job_id` is given by a front end
        that had to name the job's files before creating it (WES attachments);
        `notes` are added to its log after the first line.

        With `max_active`, an owner who already has that many unfinished jobs
        gets TooManyActiveJobs and nothing is made; the count and the insert
        are one transaction (counted only near the limit: job_facts.ActiveCounts).
        An id that exists already is refused by the database as before
        (IntegrityError), never counted as a new job."""
        with self._sql.atomic():  # the count and the insert
            if max_active is not None and not (job_id and self._exists(job_id)):
                if not self._active.below(owner, max_active):
                    logger.info('user %r: refused a job, at the limit of %d', owner, max_active)
                    raise TooManyActiveJobs(owner, max_active)
            job = self._insert(name, workflow_url, input_json, job_id, wes_request, notes, owner)
        self._active.added(owner)
        return job

    def _exists(self, job_id: str) -> bool:
        return self._sql.execute('SELECT 1 FROM job WHERE id = ?', (job_id,)).fetchone() is not None

    def _insert(
        self,
        name: str,
        workflow_url: str,
        input_json: str,
        job_id: Optional[str],
        wes_request: Optional[str],
        notes: Iterable[str],
        owner: str,
    ) -> JobView:
        """Insert the job and its first log lines (inside create's transaction)."""
        job_id = job_id or str(uuid.uuid4())
        now = time.time()
        # creation times only grow, also when the clock steps back, so pages
        # in creation order never miss a job created while a client pages
        if self._last_created is not None and now <= self._last_created:
            now = math.nextafter(self._last_created, math.inf)
        self._last_created = now
        job = JobView(
            id=job_id,
            name=name,
            workflow_url=workflow_url,
            input_json=input_json,
            state=JobState.SUBMITTED,
            output_json=None,
            exit_code=None,
            remote_job_id=None,
            remote_dir=None,
            cores=0,
            time_limit=0,
            delete_requested=False,
            created_at=now,
            updated_at=now,
            owner=owner,
        )
        values = (job_id, name, workflow_url, input_json, job.state.value, now, now, wes_request)
        lines = ['Job submitted; waiting to be staged in.', *notes]
        self._sql.insert(INSERT_JOB, (*values, owner), (job_id, now, 'INFO', lines))
        self._facts.known(job_id, owner, False)
        logger.info('job %s: created in %s', job_id, JobState.SUBMITTED.name)
        return job

    def transition(
        self,
        job_id: str,
        from_state: JobState,
        to_state: JobState,
        message: Message = None,
        level: str = 'INFO',
        **fields: FieldValue,
    ) -> bool:
        """Move the job from `from_state` to `to_state` iff it is in `from_state`.

        `fields` (see UPDATABLE_FIELDS) are set in the same UPDATE, only if the
        move is made. Returns whether this call made the move. An illegal pair
        raises IllegalTransition: that is a programming error, not a race.
        """
        if not transitions.is_allowed(from_state, to_state):
            raise IllegalTransition(transitions.refused(job_id, from_state, to_state))
        now = time.time()
        started = to_state in STARTED
        sql = transition_sql(tuple(fields), started)
        values: List[object] = [*fields.values(), to_state.value, now]
        if started:
            values.append(now)  # started_at's
        ending = self._active.ending(job_id) if to_state.is_final else None
        changed = self._sql.move(
            sql, values, from_state.value, (job_id, now, level, _lines(message))
        )
        if changed:
            if ending is not None:
                self._active.removed(ending)  # one place fewer under the limit
            if level == 'ERROR' and message:
                logger.info(
                    'job %s: %s -> %s: %s',
                    job_id,
                    from_state.name,
                    to_state.name,
                    (message if isinstance(message, str) else message[0]).splitlines()[0][:300],
                )
            else:
                logger.info('job %s: %s -> %s', job_id, from_state.name, to_state.name)
        return changed

    def cancel(self, job_id: str, owner: Optional[str] = None) -> Optional[JobView]:
        """Apply a user's cancel request; returns the job afterwards (None if
        unknown or not `owner`'s).

        The store has one thread, so the job cannot move between the read and
        the compare-and-swap: the transition always takes.
        """
        job = self.get(job_id, include_deleted=True, owner=owner)
        if job is None:
            return None
        target = transitions.cancel_target(job.state)
        if target is not None:
            self.transition(
                job_id,
                job.state,
                target,
                'Cancelled.' if target is JobState.CANCELLED else 'Cancellation requested.',
            )
        return self.get(job_id, include_deleted=True)

    def request_delete(self, job_id: str, owner: Optional[str] = None) -> Optional[JobView]:
        """Cancel the job and mark it for deletion; hides it from users. None
        if unknown, being deleted already, or not `owner`'s."""
        job = self.get(job_id, owner=owner)
        if job is None:
            return None
        self._sql.execute('UPDATE job SET delete_requested = 1 WHERE id = ?', (job_id,))
        self._facts.known(job_id, job.owner, True)
        if not job.state.is_final:
            self._active.removed(job.owner)
        logger.info('job %s: deletion requested', job_id)
        return self.cancel(job_id)

    def update(
        self, job_id: str, message: Message = None, level: str = 'INFO', **fields: FieldValue
    ) -> None:
        """Set `fields` (see UPDATABLE_FIELDS) and add `message` to the log, at once."""
        now = time.time()
        assignments, values = set_clause(fields, updated_at=now)
        with self._sql.change:
            self._sql.execute(f'UPDATE job SET {assignments} WHERE id = ?', values + [job_id])
            self._log(job_id, now, level, message)

    def add_log(self, job_id: str, message: Message, level: str = 'INFO') -> None:
        self._log(job_id, time.time(), level, message)

    def _log(self, job_id: str, now: float, level: str, message: Message) -> None:
        """Add `message`: none, one line, or a sequence of lines (one statement)."""
        self._sql.log((job_id, now, level, _lines(message)))

    def remove(self, job_id: str) -> None:
        with self._sql.change:
            self._sql.execute('DELETE FROM logline WHERE job_id = ?', (job_id,))
            self._sql.execute('DELETE FROM job WHERE id = ?', (job_id,))
        self._facts.forget(job_id)
        logger.info('job %s: deleted', job_id)

    def recover_interrupted(self, why: str) -> List[Tuple[str, JobState, JobState]]:
        """Put jobs that were being staged back into rest states (spec 4.3.3.4).

        `why` says what happened ("The service stopped"); the job log gets it
        with what follows for the job.
        """
        moved = []
        for job in self.in_states(transitions.RECOVERY):
            target = transitions.RECOVERY[job.state]
            message = transitions.recovery_message(why, target)
            if self.transition(job.id, job.state, target, message):
                moved.append((job.id, job.state, target))
        return moved


def _lines(message: Message) -> Sequence[str]:
    """The lines of a job-log message (none, one, or a sequence)."""
    return () if not message else (message,) if isinstance(message, str) else message
