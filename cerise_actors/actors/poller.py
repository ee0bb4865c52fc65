"""PollerActor: the only timer; reflects what the resource reports.

Every `refresh` seconds (or sooner when asked) it asks the scheduler about
all tracked jobs in one call and moves each job accordingly: WAITING ->
RUNNING, finished -> FINISHED (the exit code is kept for staging out),
stopped after a cancel -> CANCELLED, vanished without an exit code ->
SYSTEM_ERROR, or TEMPORARY_FAILURE when the job script said the resource's
disk was full. When the job's claim names another copy of its job script
than the one followed, the claimant is followed from then on. A failed status query never means "finished": it is logged,
the poller backs off and asks again later.

On the local resource a finished job is also noticed at once: between
rounds the timer thread sleeps in an ExitWatch over the tracked job scripts
and polls as soon as one ends, so short jobs do not wait for the next
`refresh`.

On a remote resource a completion watcher (`resource/completion_watch.py`,
`hints`) reports from the resource when a job starts or ends. Each report
is only a hint: the timer thread wakes and the poller polls the hinted jobs
at once through the scheduler's normal poll, which judges by the files as
every round does, so a lost or repeated report changes nothing. The
`refresh` rounds go on as before (the fall-back, and for the scheduler's
own states); each time the watcher's channel opens, one full round follows.
"""

import logging
import threading
import time
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Set, Tuple, cast

import pykka

from ..defaults import CONTACT_TIMEOUT, MAX_BACKOFF, RECANCEL_AFTER
from ..errors import ResourceError
from ..jobs.states import JobState as S
from ..resource.completion_watch import CompletionWatch
from ..resource.exit_watch import ENDED, WOKEN, ExitWatch
from ..resource.layout import ResourceLayout
from ..resource.scheduler import PollRequest, RemoteState, RemoteStatus, Scheduler
from ..staging.progress import ProgressReader
from ..store.mailbox import LeanActor
from .base import StoreClient, WorkerMetrics
from .outage import Outage

if TYPE_CHECKING:  # proxies.py imports this module
    from .proxies import PollerProxy, StoreProxy

logger = logging.getLogger(__name__)


class PollerActor(LeanActor):
    #: a stuck call (a hung transfer or command) must not keep the process alive
    use_daemon_thread = True

    def __init__(
        self,
        store_proxy: 'StoreProxy',
        scheduler: Scheduler,
        layout: ResourceLayout,
        refresh: float,
        watch_local_exits: bool = False,
        contact_timeout: float = CONTACT_TIMEOUT,
        progress: Optional[ProgressReader] = None,
        metrics: Optional[WorkerMetrics] = None,
        hints: Optional[CompletionWatch] = None,
    ) -> None:
        """`progress` turns running jobs' step lines into job-log lines;
        `metrics` (app/metrics.py, or None) hears round times and failed queries;
        `hints` (a CompletionWatch, or None) reports jobs that started or ended."""
        super().__init__()
        self._metrics = metrics
        self._progress = progress
        self._store = StoreClient(store_proxy)
        self._scheduler = scheduler
        self._layout = layout
        self._refresh = refresh
        self._tracked: Dict[str, str] = {}
        self._cancel_seen: Dict[str, float] = {}
        self._seen_running: Set[str] = set()  # jobs this poller moved to RUNNING
        self._delay = refresh
        self._watch = ExitWatch()
        self._stopping = threading.Event()
        self._tick_pending = threading.Event()
        self._timer: Optional[threading.Thread] = None
        self._watch_exits = watch_local_exits
        self._watched: Tuple[Tuple[Optional[int], str], ...] = ()  # for the timer: (pid, exit file)
        self._next_round: List[Callable[[], object]] = []  # callables to run at the next round
        self._poll_requested = False  # poll_now() (not track()) woke the timer
        self._outage = Outage(self._store, contact_timeout)
        self._hints = hints
        self._hint_lock = threading.Lock()
        self._hinted: Set[str] = set()  # reported by the watcher, polled at the next hint round

    def on_start(self) -> None:
        me = cast('PollerProxy', self.actor_ref.proxy())  # see proxies.py
        self._timer = timer = threading.Thread(
            target=self._timer_loop, args=(me,), name='cerise-poll-timer', daemon=True
        )
        timer.start()
        if self._hints is not None:
            self._hints.start(self._hint, self._request_poll)

    def on_stop(self) -> None:
        self._stopping.set()
        self._watch.wake()
        if self._hints is not None:
            self._hints.stop()

    def _hint(self, kind: str, job_id: str) -> None:
        """From the watcher's thread: poll this job soon (coalesced with others);
        a start the poller already saw (direct scheduler) needs no poll."""
        if kind == 'started' and job_id in self._seen_running:
            return
        with self._hint_lock:
            self._hinted.add(job_id)
        self._watch.wake()

    def _request_poll(self) -> None:
        """From the watcher's thread: one full round now (as `poll_now`)."""
        self._poll_requested = True
        self._watch.wake()

    def _timer_loop(self, me: 'PollerProxy') -> None:
        try:
            while not self._stopping.is_set():
                deadline = time.monotonic() + self._delay
                while self._wait_for_next_round(deadline) == 'hints':
                    try:
                        me.poll_hinted()  # the full round keeps its deadline
                    except pykka.ActorDeadError:
                        return
                if self._stopping.is_set():
                    return
                if (self._tracked or self._next_round) and not self._tick_pending.is_set():
                    self._tick_pending.set()
                    try:
                        me.tick()
                    except pykka.ActorDeadError:
                        return
        finally:
            self._watch.close()

    def _wait_for_next_round(self, deadline: float) -> Optional[str]:
        """Sleep until `deadline`, a poll was asked for, or (local) a job ended;
        'hints' when the watcher reported jobs (only those are polled)."""
        while not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            woke = self._watch.wait(left, self._watched)
            if woke == ENDED:
                return None
            if woke == WOKEN and (self._poll_requested or self._stopping.is_set()):
                self._poll_requested = False
                return None
            if woke == WOKEN and self._hinted:
                return 'hints'
            # else a job was tracked: watch it too
        return None

    def track(
        self, job_id: str, remote_id: str, running: bool = False, resumed: bool = False
    ) -> None:
        """Follow a job; `running`: its starter already moved it to RUNNING;
        `resumed`: it was started before the service restarted (its steps so
        far are not logged again)."""
        self._tracked[job_id] = remote_id
        if self._hints is not None:
            self._hints.watch(job_id)
        if running:
            self._seen_running.add(job_id)
        if self._progress is not None:
            self._progress.follow(job_id, from_start=not resumed)
        self._snapshot()

    def _snapshot(self) -> None:
        if self._watch_exits:
            self._watched = tuple(
                (
                    _pid_of(remote_id) if self._scheduler.ids_are_pids else None,
                    self._layout.job(job_id).exit_code,
                )
                for job_id, remote_id in self._tracked.items()
            )
            self._watch.wake()  # let the timer start watching the new set

    def poll_now(self) -> None:
        self._poll_requested = True
        self._watch.wake()

    def tracked_count(self) -> int:
        return len(self._tracked)

    def reachable(self) -> bool:
        """Whether the last status query reached the resource (readiness)."""
        return self._outage.reachable

    def call_later(self, callback: Callable[[], object]) -> None:
        """Run `callback()` (a tell) at the next round: how work that could not
        reach the resource is tried again without timers of its own."""
        self._next_round.append(callback)

    def tick(self) -> None:
        self._tick_pending.clear()
        due, self._next_round = self._next_round, []
        for callback in due:
            try:
                callback()
            except Exception:
                logger.exception('a delayed retry failed')
        if not self._tracked:
            return
        started = time.monotonic()
        try:
            self._poll_tracked()
        finally:
            if self._metrics is not None:
                self._metrics.poll_round(time.monotonic() - started)

    def poll_hinted(self) -> None:
        """Poll the jobs the watcher reported (the normal poll: it confirms)."""
        with self._hint_lock:
            hinted, self._hinted = self._hinted, set()
        requests = [self._request(job_id) for job_id in hinted if job_id in self._tracked]
        if not requests:
            return
        try:
            statuses = self._scheduler.poll(requests)
        except ResourceError as exc:  # the next full round counts and reports failures
            logger.info('status query after a hint failed (%s)', exc)
            return
        self._apply_all(statuses)

    def _request(self, job_id: str) -> PollRequest:
        return PollRequest(job_id, self._tracked[job_id], self._layout.job(job_id))

    def _poll_tracked(self) -> None:
        requests = [self._request(job_id) for job_id in self._tracked]
        try:
            statuses = self._scheduler.poll(requests)
        except ResourceError as exc:
            if self._metrics is not None:
                self._metrics.resource_error(type(exc).__name__)
            self._delay = min(self._delay * 2, max(MAX_BACKOFF, self._refresh))
            logger.warning('status query failed (%s); asking again in %.1f s', exc, self._delay)
            self._outage.failed(exc, self._tracked)
            return
        self._delay = self._refresh
        self._outage.answered(self._tracked)
        self._apply_all(statuses)

    def _apply_all(self, statuses: Dict[str, RemoteStatus]) -> None:
        for job_id, status in statuses.items():
            try:
                self._apply(job_id, status)
            except Exception:
                logger.exception('job %s: could not apply status %s', job_id, status)

    def _apply(self, job_id: str, status: RemoteStatus) -> None:
        if self._progress is not None and status.state in (RemoteState.RUNNING, RemoteState.DONE):
            done = status.state is RemoteState.DONE
            steps = self._progress.read(job_id, final=done)  # before FINISHED: last steps first
            if steps:
                self._store.note(job_id, steps)  # before FINISHED all the same: told first
        if status.claimant and status.claimant != self._tracked.get(job_id):
            self._follow_claimant(job_id, status.claimant)
        if status.state is RemoteState.DONE and self._finish(
            job_id, status.exit_code, disk_full=status.disk_full
        ):
            return
        job = self._store.get_job(job_id, include_deleted=True)
        if job is None or not job.state.is_remote:
            self._untrack(job_id)
            return
        state = job.state
        if status.state in (RemoteState.WAITING, RemoteState.RUNNING):
            if status.state is RemoteState.RUNNING and state is S.WAITING:
                if self._store.transition(
                    job_id, S.WAITING, S.RUNNING, 'Running on the compute resource.'
                ):
                    self._seen_running.add(job_id)
            elif status.state is RemoteState.RUNNING and state is S.WAITING_CR:
                self._store.transition(job_id, S.WAITING_CR, S.RUNNING_CR)
            if state.cancellation_pending:
                self._recancel_if_stuck(job_id)
            return
        if state.cancellation_pending:
            moved = self._store.transition(
                job_id, state, S.CANCELLED, 'Cancelled; the job has stopped.'
            )
        elif status.state is RemoteState.DONE:
            self._finish(job_id, status.exit_code, state, status.disk_full)  # untracks if moved
            return
        elif status.disk_full:
            moved = self._store.transition(
                job_id,
                state,
                S.TEMPORARY_FAILURE,
                "The job stopped without recording an exit code: the compute resource's "
                'disk is full. Free space there and submit the job again.',
                'ERROR',
            )
        else:
            moved = self._store.transition(
                job_id,
                state,
                S.SYSTEM_ERROR,
                'The job stopped without recording an exit code (was it killed '
                'on the compute resource?).',
                'ERROR',
            )
        if moved:
            self._untrack(job_id)

    def _finish(
        self,
        job_id: str,
        exit_code: Optional[int],
        state: Optional[S] = None,
        disk_full: bool = False,
    ) -> bool:
        """Move a job that ended to FINISHED. Without `state`, guess it (RUNNING if
        we moved it there, else WAITING): one ask in the common case; a wrong
        guess (e.g. a cancel came) moves nothing and `_apply` reads the job.
        `disk_full`: the job script found the disk full after the runner
        failed, which the job's log then says (stage-out only sees the code)."""
        if state is None:
            state = S.RUNNING if job_id in self._seen_running else S.WAITING
        moved = self._store.transition(
            job_id,
            state,
            S.FINISHED,
            'The workflow runner has stopped; collecting its results.',
            exit_code=exit_code,
        )
        if moved:
            self._untrack(job_id)
            if disk_full:
                self._store.add_log(
                    job_id,
                    f'The workflow runner failed (exit code {exit_code}) while the compute '
                    "resource's disk was full; that is the likely cause.",
                    'WARNING',
                )
        return moved

    def _follow_claimant(self, job_id: str, claimant: str) -> None:
        """The copy of the job script we followed found the job claimed by
        another copy (started before a crash of the service) and left without
        running anything: follow, and record, the copy that runs the job, so
        a cancel stops it."""
        self._tracked[job_id] = claimant
        self._snapshot()
        self._store.update_job(
            job_id,
            f'Another copy of the job script had claimed this job; following that copy '
            f'(id {claimant}).',
            remote_job_id=claimant,
        )

    def _untrack(self, job_id: str) -> None:
        self._seen_running.discard(job_id)
        if self._progress is not None:
            self._progress.forget(job_id)
        if self._tracked.pop(job_id, None) is not None:
            if self._hints is not None:
                self._hints.forget(job_id)
            self._snapshot()
            self._cancel_seen.pop(job_id, None)

    def _recancel_if_stuck(self, job_id: str) -> None:
        first = self._cancel_seen.setdefault(job_id, time.monotonic())
        if time.monotonic() - first > RECANCEL_AFTER:
            self._cancel_seen[job_id] = time.monotonic()
            self._store.republish(job_id)  # the runner is told to cancel again


def _pid_of(remote_id: str) -> Optional[int]:
    """The PID in a direct scheduler's `PID:STARTTIME` id, or None."""
    pid = remote_id.partition(':')[0]
    return int(pid) if pid.isdigit() else None
