"""StoreActor: sole owner of the job database and of every state change.

The front end and the workers ask it (always with a time-out); it never asks
anyone. After a change it *tells* the actors that subscribed to the new state
(a stager for SUBMITTED and FINISHED, the runner for WAITING, the remote
`_CR` states and jobs that left the resource, the cleaner for deletable
jobs), so nothing polls the table.

The asks that serve a user's request take `owner`: with one given, another
owner's job is answered as a job that does not exist; None (the internal
actors') is any owner.
"""

import logging
import time
from collections import defaultdict
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Type, Union

import peewee

from ..jobs.states import JobState
from ..jobs.views import JobSummary, JobView, LogEntry, Message, RunRecord, RunSummary
from .group_commit import GroupCommit, StoreFuture, in_group_commit, translated
from .job_store import JobStore
from .mailbox import LeanActor
from .models import FieldValue
from .pages import Key

logger = logging.getLogger(__name__)

#: topic for "this job is final and its deletion was requested"
DELETABLE = 'deletable'
#: topic for "this job has left the resource's states" (a slot is free again)
LEFT_RESOURCE = 'left-resource'
#: the states in which a stager stops staging its job: a cancel was asked
STOP_STAGING = frozenset({JobState.STAGING_IN_CR, JobState.STAGING_OUT_CR})

#: what a subscriber is told of: a JobState entered, DELETABLE or LEFT_RESOURCE
Topic = Union[JobState, str]
#: `on_move(from_state, to_state, seconds in from_state)`
OnMove = Callable[[JobState, JobState, float], None]


@in_group_commit
class StoreActor(LeanActor):
    """Wraps a JobStore in one thread and publishes transitions."""

    #: a stuck call (a hung transfer or command) must not keep the process alive
    use_daemon_thread = True
    #: answers are given once the change is committed (group_commit.py)
    _create_future = staticmethod(StoreFuture)
    #: the asks that change nothing: outside a batch, no transaction (group_commit.py)
    _reads_only = frozenset(
        'subscribe stopping_view get_job list_jobs_page jobs_page_end list_runs get_run '
        'state_counts jobs_in job_log deletable_jobs ping'.split()
    )

    def __init__(self, db_file: Path, on_move: Optional[OnMove] = None) -> None:
        """`on_move(from_state, to_state, seconds in from_state)` is told of each
        transition whose start this actor saw (the metrics' durations): every
        state change passes here, so no worker has to time its own."""
        super().__init__()
        self._db_file = Path(db_file)
        self._store: Optional[JobStore] = None
        self._subscribers: Dict[Topic, List[Tuple[Callable[..., object], bool]]] = defaultdict(list)
        self._on_move = on_move
        self._entered: Dict[str, Tuple[JobState, float]] = {}  # unfinished jobs, for on_move
        self._stopping: Dict[str, JobState] = {}  # jobs in STOP_STAGING (stopping_view)
        self._stopping_view = MappingProxyType(self._stopping)
        self._group: Optional[GroupCommit] = None

    def on_start(self) -> None:
        # the SQLite connection must be made in the thread that uses it
        self._store = JobStore(self._db_file)
        self._group = GroupCommit(
            self._store.transaction,
            self.actor_inbox,
            translate=translated,
            in_transaction=self._store.in_transaction,
        )

    def on_stop(self) -> None:
        group, self._group = self._group, None
        if group is not None and group.open:
            try:
                group.commit()
            except Exception:  # noqa: BLE001 - its asks have the error
                logger.exception('the job store could not commit its last changes')
        self._close()

    def on_failure(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        # pykka calls this when a told (not asked) message fails, and the actor
        # goes on serving: the database must stay open
        logger.error('the job store failed to handle a message: %r', exc_value)

    def _close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def _jobs(self) -> JobStore:
        """The open JobStore. It is opened in on_start and closed in on_stop,
        and pykka hands this actor no message outside those: a closed store
        here is a bug (a RuntimeError, a 500 if a request meets it)."""
        if self._store is None:
            raise RuntimeError(
                'the job store is not open: a message reached the StoreActor outside on_start..on_stop'
            )
        return self._store

    # --- subscriptions ---------------------------------------------------
    def subscribe(
        self, topic: Topic, callback: Callable[..., object], with_owner: bool = False
    ) -> None:
        """Call `callback(job_id)` whenever a job enters `topic`; with
        `with_owner`, `callback(job_id, owner)`, for a subscriber that shares
        its work out fairly between users (the stager pool).

        `topic` is a JobState or DELETABLE. Callbacks must be tells (proxy
        calls whose futures are ignored), never blocking work.
        """
        self._subscribers[topic].append((callback, with_owner))

    def _publish(self, topic: Topic, job_id: str, owner: Optional[str] = None) -> None:
        """Tell the subscribers of `topic`, once the change is committed."""
        for callback, with_owner in self._subscribers.get(topic, ()):
            if with_owner and owner is None:
                owner, _ = self._jobs.owner_and_deletion(job_id)
            args = (job_id, owner) if with_owner else (job_id,)
            self._later(_notify, callback, args, topic)

    def _later(self, action: Callable[..., object], *args: object) -> None:
        """`action(*args)` once the current change is committed."""
        if self._group is None:
            action(*args)
        else:
            self._group.later(action, *args)

    def _after_change(self, job_id: str, state: JobState) -> None:
        self._publish(state, job_id)
        if state.is_final and self._jobs.owner_and_deletion(job_id)[1]:
            self._publish(DELETABLE, job_id)

    def _note(self, job_id: str, state: Optional[JobState]) -> None:
        """Keep `stopping_view` up to date with a job's new state (None: gone),
        once the change is committed."""
        if state in STOP_STAGING:
            self._later(self._stopping.__setitem__, job_id, state)
        else:
            self._later(self._stopping.pop, job_id, None)

    def stopping_view(self) -> Mapping[str, JobState]:
        """The jobs in STOP_STAGING, with that state: a live, read-only view,
        changed only by this actor's thread as it makes the change, that
        stagers read between files instead of asking for their job each time
        (an ask per file was most of a quick job's staging). A cancel that
        has been answered is in it; nothing else needs it."""
        return self._stopping_view

    # --- the API -------------------------------------------------------
    def create_job(
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
        """A new job of `owner`; with `max_active`, TooManyActiveJobs (and no
        job) if the owner has that many unfinished jobs already. Counted and
        made in one transaction of this one thread, so the limit holds
        however many requests race for the last place."""
        job = self._jobs.create(
            name, workflow_url, input_json, job_id, wes_request, notes, owner, max_active
        )
        self._publish(JobState.SUBMITTED, job.id, job.owner)
        return job

    def get_job(
        self,
        job_id: str,
        full: bool = False,
        include_deleted: bool = False,
        owner: Optional[str] = None,
    ) -> Optional[JobView]:
        return self._jobs.get(job_id, full, include_deleted, owner)

    def list_jobs_page(
        self,
        states: Optional[List[str]] = None,
        name: Optional[str] = None,
        limit: Optional[int] = None,
        after: Optional[Key] = None,
        owner: Optional[str] = None,
        *,
        until: Optional[Key] = None,
        max_bytes: Optional[int] = None,
        max_seconds: Optional[float] = None,
    ) -> Tuple[List[JobSummary], Optional[Key]]:
        """A page of GET /jobs and the next page's cursor; the bounds (until,
        max_bytes, max_seconds) keep a page of large jobs small (store/pages.py)."""
        bounds = (until, max_bytes, max_seconds)
        return self._jobs.page(JobSummary, states, name, limit, after, owner, *bounds)

    def jobs_page_end(
        self,
        states: Optional[List[str]] = None,
        name: Optional[str] = None,
        limit: int = 1,
        after: Optional[Key] = None,
        owner: Optional[str] = None,
    ) -> Tuple[Optional[Key], Optional[Key]]:
        """Where a page of GET /jobs?limit= ends, and the next page's cursor."""
        return self._jobs.page_end(states, name, limit, after, owner)

    def list_runs(
        self,
        limit: int,
        after: Optional[Key] = None,
        owner: Optional[str] = None,
        *,
        until: Optional[Key] = None,
        max_bytes: Optional[int] = None,
        max_seconds: Optional[float] = None,
    ) -> Tuple[List[RunSummary], Optional[Key]]:
        """A page of GET /ga4gh/wes/v1/runs and the next page's cursor."""
        bounds = (until, max_bytes, max_seconds)
        return self._jobs.page(RunSummary, None, None, limit, after, owner, *bounds)

    def get_run(self, job_id: str, owner: Optional[str] = None) -> Optional[RunRecord]:
        return self._jobs.run(job_id, owner)

    def state_counts(self, owner: Optional[str] = None) -> Dict[str, int]:
        return self._jobs.state_counts(owner)

    def jobs_in(self, states: Iterable[JobState]) -> List[JobView]:
        return self._jobs.in_states(states)

    def job_log(self, job_id: str, owner: Optional[str] = None) -> Optional[List[LogEntry]]:
        """The job's log lines, None if it is unknown, being deleted or not `owner`'s."""
        return self._jobs.log_lines(job_id, owner)

    def transition(
        self,
        job_id: str,
        from_state: JobState,
        to_state: JobState,
        message: Message = None,
        level: str = 'INFO',
        notify: bool = True,
        **fields: FieldValue,
    ) -> bool:
        """`fields` are set with the move, only if it is made. `notify=False`
        for a worker putting a job back to try later itself (a notification
        would hand it straight back to a worker, in a loop)."""
        done = self._jobs.transition(job_id, from_state, to_state, message, level, **fields)
        if done:
            self._note(job_id, to_state)
        if done and self._on_move is not None:
            self._timed(job_id, from_state, to_state)
        if done and notify:
            self._after_change(job_id, to_state)
            if from_state.is_remote and not to_state.is_remote:
                self._publish(LEFT_RESOURCE, job_id)
        return done

    def _timed(self, job_id: str, from_state: JobState, to_state: JobState) -> None:
        """Tell `on_move` how long the job was in `from_state`, if this actor saw
        it enter (not before a restart); an observer's failure stays here."""
        now = time.monotonic()
        state, since = self._entered.pop(job_id, (None, now))
        if not to_state.is_final:
            self._entered[job_id] = (to_state, now)
        if state is from_state and self._on_move is not None:  # (transition checked it)
            try:
                self._on_move(from_state, to_state, now - since)
            except Exception:
                logger.exception('job %s: the transition observer failed', job_id)

    def claim(
        self,
        job_id: str,
        from_state: JobState,
        to_state: JobState,
        message: Message = None,
        level: str = 'INFO',
    ) -> Optional[JobView]:
        """Transition, then the job as it is now; None if the move was not made.
        How a worker takes a job: one ask instead of a transition and a read."""
        if not self.transition(job_id, from_state, to_state, message, level):
            return None
        return self._jobs.get(job_id, include_deleted=True)

    def cancel_job(self, job_id: str, owner: Optional[str] = None) -> Optional[JobView]:
        before = self._jobs.get(job_id, owner=owner)
        if before is None:
            return None
        after = _present(self._jobs.cancel(job_id, owner), job_id)
        if after.state is not before.state:
            self._note(job_id, after.state)
            self._after_change(job_id, after.state)
        return after

    def delete_job(self, job_id: str, owner: Optional[str] = None) -> bool:
        """Cancel, mark for deletion, and hand a final job to the cleaner."""
        before = self._jobs.get(job_id, owner=owner)
        if before is None:
            return False
        after = _present(self._jobs.request_delete(job_id, owner), job_id)
        if after.state is not before.state:
            self._note(job_id, after.state)
            self._publish(after.state, job_id)
        if after.state.is_final:
            self._publish(DELETABLE, job_id)
        return True

    def delete_expired(self, before: float, why: str, limit: int = 1000) -> int:
        """Delete, as DELETE /jobs/{id} does, the finished jobs last changed
        before `before` (at most `limit` at a time); one service-log line per
        job saying `why`. How many were deleted."""
        expired = self._jobs.expired(before, limit)
        for job_id in expired:
            logger.info('job %s: deleted with its files: %s', job_id, why)
            self.delete_job(job_id)
        return len(expired)

    def republish(self, job_id: str) -> None:
        """Tell the job's current state to its subscribers again: how a worker
        that put a job back, or a cancel that did not take, tries once more."""
        job = self._jobs.get(job_id, include_deleted=True)
        if job is not None:
            self._after_change(job_id, job.state)

    def update_job(
        self, job_id: str, message: Message = None, level: str = 'INFO', **fields: FieldValue
    ) -> None:
        """Set `fields` and log `message` (if given) in one transaction."""
        self._jobs.update(job_id, message, level, **fields)

    def add_log(self, job_id: str, message: str, level: str = 'INFO') -> None:
        self._jobs.add_log(job_id, message, level)

    def note(self, job_id: str, message: Message, level: str = 'INFO') -> None:
        """add_log for a worker that does not wait (a tell: its later asks are
        answered after it all the same); a line that cannot be written is
        logged here, since no one reads the error."""
        try:
            self._jobs.add_log(job_id, message, level)
        except peewee.OperationalError as exc:  # SQLite may have ended the batch's transaction
            if self._group is not None:
                self._group.abort(translated(exc))  # its asks get the error, nothing is kept
            logger.exception('job %s: could not add to its log: %.200s', job_id, message)
        except Exception:  # noqa: BLE001 - told, not asked: the service log has it
            logger.exception('job %s: could not add to its log: %.200s', job_id, message)

    def remove_job(self, job_id: str) -> None:
        self._jobs.remove(job_id)
        self._note(job_id, None)

    def recover_interrupted(self, why: str) -> List[Tuple[str, JobState, JobState]]:
        """Shutdown/start-up recovery. Publishes nothing: at start-up the
        service hands every unfinished job to its actor itself."""
        moved = self._jobs.recover_interrupted(why)
        for job_id, _, after in moved:
            self._note(job_id, after)
        return moved

    def deletable_jobs(self) -> List[str]:
        return self._jobs.deletable()

    def ping(self) -> bool:
        """Whether the job database is open: the readiness probe's short ask."""
        return self._store is not None


def _present(job: Optional[JobView], job_id: str) -> JobView:
    """`job` as the store gave it right after this thread found it: it cannot
    be gone (only this thread changes the table), so None is a bug."""
    if job is None:
        raise RuntimeError(f'job {job_id}: gone from the store while it was being changed')
    return job


def _notify(callback: Callable[..., object], args: Tuple[object, ...], topic: Topic) -> None:
    try:
        callback(*args)
    except Exception:  # a dead subscriber must not take the store down
        logger.exception('job %s: could not notify about %s', args[0], topic)
