"""RunnerActor: starts staged jobs on the resource and cancels remote ones.

Jobs reach it in WAITING (told by the store). Without a batch scheduler the
service is the scheduler: at most `max_running` jobs run at once and the
others wait their turn, so a burst of a thousand jobs never starts a
thousand processes. Turns are taken by owner (fair_queue.py): one user's
burst does not hold back another user's first job, which starts at the
next free slot; one user's jobs start in the order they were staged. Nothing starts until the ApiInstallerActor says
the specialisation is installed; a `.dev` reinstall waits until running
jobs are done (`install_when_idle`).
"""

import logging
from typing import TYPE_CHECKING, Callable, List, Optional, Set, cast

from ..errors import CeriseError, ResourceError
from ..jobs.outcomes import outcome_of
from ..jobs.states import JobState as S
from ..resource.batch import FINISHED_ID
from ..resource.filesystem import FileSystem
from ..resource.layout import JobPaths, ResourceLayout
from ..resource.scheduler import Scheduler, SubmitRequest
from ..store.mailbox import LeanActor
from .base import ControlFlow, StoreClient, fail_job, job_guard
from .fair_queue import FairQueue

if TYPE_CHECKING:  # proxies.py imports this module
    from .proxies import PollerProxy, RunnerProxy, StoreProxy

logger = logging.getLogger(__name__)


class _Postpone(ControlFlow):
    """Starting jobs must wait: the resource could not be reached."""


class RunnerActor(LeanActor):
    #: a stuck call (a hung transfer or command) must not keep the process alive
    use_daemon_thread = True

    def __init__(
        self,
        store_proxy: 'StoreProxy',
        scheduler: Scheduler,
        fs: FileSystem,
        layout: ResourceLayout,
        runner_argv: Callable[[JobPaths, int], List[str]],
        max_running: Optional[int],
        poller_proxy: 'PollerProxy',
        runner_name: str = '',
    ) -> None:
        """`runner_argv(paths, cores)` is the CWL runner's command line for a
        job; `runner_name` says in the job log which runner that is."""
        super().__init__()
        self._store = StoreClient(store_proxy)
        self._scheduler = scheduler
        self._fs = fs
        self._layout = layout
        self._runner_argv = runner_argv
        self._runner_name = runner_name
        self._max_running = max_running
        self._queue = FairQueue()
        self._running: Set[str] = set()
        self._api_ready = False
        self._api_error: Optional[str] = None
        self._install_when_idle: Optional[Callable[[], object]] = None
        self._retry_pending = False  # a retry_queued is asked of the poller's timer
        self._postponed: Set[str] = set()  # jobs whose log says the resource could not be reached
        self._poller = poller_proxy  # track(), poll_now(), call_later()

    # --- installation gate ---------------------------------------------
    def api_ready(self) -> None:
        self._api_ready = True
        self._api_error = None
        self._start_queued()

    def api_failed(self, message: str) -> None:
        self._api_ready = False
        self._api_error = message
        for job_id in self._queue.drain():
            fail_job(
                self._store,
                job_id,
                S.SYSTEM_ERROR,
                f'The specialisation could not be installed: {message}',
            )

    def installed(self) -> bool:
        """Whether the installation gate is open (readiness)."""
        return self._api_ready

    def install_when_idle(self, install: Callable[[], object]) -> None:
        """Hold new jobs; call `install` once no job of ours is running."""
        self._api_ready = False
        self._install_when_idle = install
        self._maybe_install()

    def _maybe_install(self) -> None:
        if self._install_when_idle is not None and not self._running:
            install, self._install_when_idle = self._install_when_idle, None
            install()

    # --- bookkeeping told by others -------------------------------------
    def adopt(self, job_id: str) -> None:
        """A job already on the resource (found at start-up) counts as running."""
        self._running.add(job_id)

    def enqueue(self, job_id: str, owner: Optional[str] = None) -> None:
        """Told by the store when a job is staged (WAITING), with its `owner`
        (else it is asked for, if the job has to wait its owner's turn)."""
        if self._api_error is not None:
            fail_job(
                self._store,
                job_id,
                S.SYSTEM_ERROR,
                f'The specialisation could not be installed: {self._api_error}',
            )
            return
        if job_id not in self._queue:
            if not self._queue and self._can_start():
                self._queue.push_front(job_id)  # starts now: its owner's turn needs no asking
            else:
                self._queue.add(job_id, self._owner_of(job_id) if owner is None else owner)
        self._start_queued()
        if job_id in self._queue and job_id not in self._postponed:
            self._store.note(job_id, self._why_waiting())

    def _owner_of(self, job_id: str) -> str:
        """Whose turn a queued job waits for; a job gone meanwhile is nobody's
        ('') and is skipped when its turn comes."""
        job = self._store.get_job(job_id, include_deleted=True)
        return '' if job is None else job.owner

    def _why_waiting(self) -> str:
        if self._retry_pending:
            return (
                'Waiting: the compute resource cannot be reached at the moment; '
                'starting jobs is tried again at every poll.'
            )
        if not self._api_ready:
            return (
                'Waiting for the specialisation to be installed on the compute resource '
                '(a new version is installed once running jobs are done).'
            )
        return (
            f'Waiting for a free slot: {len(self._running)} job(s) running, at most '
            f'{self._max_running} at once.'
        )

    def job_ended(self, job_id: str) -> None:
        """Told by the store when a job leaves the resource's states."""
        self._running.discard(job_id)
        self._maybe_install()
        self._start_queued()

    # --- starting ------------------------------------------------------
    def _has_slot(self) -> bool:
        return self._max_running is None or len(self._running) < self._max_running

    def _can_start(self) -> bool:
        """Whether a job taken from the queue now would be started now."""
        return self._api_ready and not self._retry_pending and self._has_slot()

    def _start_queued(self) -> None:
        if self._retry_pending:
            return  # the resource is unreachable: wait for the poller's next round
        while self._api_ready and self._queue and self._has_slot():
            job_id = self._queue.pop()
            try:
                self._start(job_id)
            except _Postpone:
                return  # the resource is unreachable; the poller wakes us later

    def retry_queued(self) -> None:
        """Told by the poller's timer after a submission could not reach the resource."""
        self._retry_pending = False
        self._start_queued()

    @job_guard
    def _start(self, job_id: str) -> None:
        job = self._store.get_job(job_id, include_deleted=True)
        if job is None or job.state is not S.WAITING or job.remote_job_id:
            return
        self._queue.mark_served(job.owner)
        paths = self._layout.job(job_id)
        argv = self._runner_argv(paths, job.cores)
        req = SubmitRequest(job_id, paths, argv, job.cores, job.time_limit)
        try:
            self._fs.write_bytes(paths.script, self._scheduler.script(req).encode(), 0o755)
            remote_id = self._scheduler.submit(req)
        except CeriseError as exc:
            outcome = outcome_of(exc)  # jobs/outcomes.py decides what follows
            if outcome.job_state is None:
                raise  # no job's outcome: the job guard records a SystemError
            if outcome.waits:
                # submission is idempotent (jobid file / adoption by name): try again later
                self._queue.push_front(job_id)
                if job_id not in self._postponed:  # one line per job, not one per try
                    self._postponed.add(job_id)
                    self._store.add_log(
                        job_id,
                        f'Could not reach the compute resource to start the job ({exc}); '
                        f'trying again.',
                        'WARNING',
                    )
                if not self._retry_pending:  # one retry per round, however many jobs wait
                    self._retry_pending = True
                    me = cast('RunnerProxy', self.actor_ref.proxy())  # see proxies.py
                    self._poller.call_later(me.retry_queued)
                raise _Postpone() from exc
            words = outcome.explained_as or 'Could not start the job'
            fail_job(self._store, job_id, outcome.job_state, f'{words}: {exc}')
            return
        self._postponed.discard(job_id)
        if remote_id == FINISHED_ID:
            message = (
                'Found that this job had already run on the compute resource before '
                'the service restarted.'
            )
        else:
            message = f'Started on the compute resource (id {remote_id}).'
            if self._runner_name:
                message = message[:-1] + f', running {self._runner_name}.'
        running = self._scheduler.runs_at_once and remote_id != FINISHED_ID
        if not (
            running  # no queue: Running now, not at the next poll (up to `refresh` later)
            and self._store.transition(
                job_id,
                S.WAITING,
                S.RUNNING,
                [message, 'Running on the compute resource.'],
                remote_job_id=remote_id,
            )
        ):
            running = False
            self._store.update_job(job_id, message, remote_job_id=remote_id)
        self._running.add(job_id)
        self._poller.track(job_id, remote_id, running)

    # --- cancelling ----------------------------------------------------
    @job_guard
    def cancel(self, job_id: str) -> None:
        job = self._store.get_job(job_id, include_deleted=True)
        if job is None or job.state not in (S.WAITING_CR, S.RUNNING_CR):
            return
        if not job.remote_job_id:
            self._queue.remove(job_id)
            self._store.transition(
                job_id, S.WAITING_CR, S.CANCELLED, 'Cancelled before it started.'
            )
            return
        try:
            self._scheduler.cancel(job.remote_job_id, self._layout.job(job_id))
        except ResourceError as exc:
            logger.warning('job %s: cancel failed, will retry: %s', job_id, exc)
            self._store.add_log(
                job_id, f'Stopping the job failed ({exc}); trying again.', 'WARNING'
            )
        self._poller.track(job_id, job.remote_job_id)
        self._poller.poll_now()
