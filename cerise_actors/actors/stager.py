"""StagerActor: stages jobs in and out, and removes deleted jobs' files.

A small pool of these runs side by side (see StagerPool) so one large
upload does not hold up the others. A stager owns a job while it is in
STAGING_IN or STAGING_OUT; between files it checks for a cancel request
(the front end moved the job to the `_CR` twin) or a shutdown, and aborts
promptly, leaving the job in the state the spec prescribes.
"""

import json
import logging
import threading
from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional

from ..errors import (
    CeriseError,
    ResourceError,
    StagingAborted,
    StopReason,
)
from ..jobs.outcomes import outcome_of
from ..jobs.states import JobState as S
from ..staging.stage_in import StageIn
from ..staging.stage_out import StageOut
from ..store.mailbox import LeanActor
from .base import StoreClient, WorkerMetrics, fail_job, job_guard

if TYPE_CHECKING:  # proxies.py imports this module
    from .proxies import StoreProxy

logger = logging.getLogger(__name__)


class StagerActor(LeanActor):
    #: a stuck call (a hung transfer or command) must not keep the process alive
    use_daemon_thread = True

    def __init__(
        self,
        store_proxy: 'StoreProxy',
        stage_in: StageIn,
        stage_out: StageOut,
        cleaner: Callable[[str, str], None],
        shutting_down: threading.Event,
        on_done: Callable[[], None],
        retry_later: Callable[[Callable[[], object]], object],
        metrics: Optional[WorkerMetrics] = None,
    ) -> None:
        """`cleaner(job_id, owner)` removes a job's files; `on_done()` tells the pool a
        job is done with; `retry_later(fn)` calls fn at the poller's next round
        (the only timer); `metrics` (app/metrics.py, or None) counts resource errors."""
        super().__init__()
        self._metrics = metrics
        self._store = StoreClient(store_proxy)
        self._in = stage_in
        self._out = stage_out
        self._cleaner = cleaner
        self._shutting_down = shutting_down
        self._on_done = on_done
        self._retry_later = retry_later
        self._stopping: Optional[Mapping[str, S]] = None  # the store's view of cancelled jobs

    def on_start(self) -> None:
        try:  # read between files, instead of an ask for the job each time
            self._stopping = self._store.stopping_view()
        except Exception:  # noqa: BLE001 - a store without it: ask each time
            logger.warning('the job store gave no view of cancelled jobs; asking instead')

    def _stop_reason(self, job_id: str, cancel_state: S) -> Optional[StopReason]:
        if self._shutting_down.is_set():
            return StopReason.SHUTDOWN
        if self._stopping is not None:  # the store's own, changed as it answers a cancel
            return StopReason.CANCEL if self._stopping.get(job_id) is cancel_state else None
        job = self._store.get_job(job_id, include_deleted=True)
        if job is None or job.state is cancel_state:
            return StopReason.CANCEL
        return None

    def _hand_back_later(self, job_id: str) -> None:
        """At the poller's next round, the store tells the job's state again,
        so the pool hands it to a stager once more."""
        store = self._store
        self._retry_later(lambda: store.republish(job_id))

    # --- stage in ------------------------------------------------------
    def stage_in(self, job_id: str) -> None:
        try:
            if not self._shutting_down.is_set():
                self._stage_in(job_id)
        finally:
            self._on_done()

    @job_guard
    def _stage_in(self, job_id: str) -> None:
        store = self._store
        job = store.claim(
            job_id, S.SUBMITTED, S.STAGING_IN, 'Staging in: fetching the workflow and input files.'
        )
        if job is None:
            return  # cancelled meanwhile, or another stager has it
        try:
            result = self._in.run(
                job_id,
                job.workflow_url,
                job.input_json,
                lambda: self._stop_reason(job_id, S.STAGING_IN_CR),
                owner=job.owner,
            )
        except StagingAborted as exc:
            self._aborted(job_id, exc.reason, S.STAGING_IN, S.STAGING_IN_CR, S.SUBMITTED)
            return
        except CeriseError as exc:
            self._failed(job_id, exc, 'Staging in failed', S.STAGING_IN, S.SUBMITTED)
            return
        for warning in result.warnings:
            store.note(job_id, warning, 'WARNING')
        staged: Dict[str, Any] = dict(  # the job's fields the move sets
            cores=result.cores,
            time_limit=result.time_limit,
            remote_dir=result.remote_dir,
            workflow_content=result.workflow_content,
            staged_input_json=result.staged_input,
        )
        if not store.transition(
            job_id,
            S.STAGING_IN,
            S.WAITING,
            [result.summary, *result.notes, 'Waiting to start on the compute resource.'],
            **staged,
        ):
            self._aborted(job_id, StopReason.CANCEL, S.STAGING_IN, S.STAGING_IN_CR, S.SUBMITTED)

    # --- stage out -----------------------------------------------------
    def stage_out(self, job_id: str) -> None:
        try:
            if not self._shutting_down.is_set():
                self._stage_out(job_id)
        finally:
            self._on_done()

    @job_guard
    def _stage_out(self, job_id: str) -> None:
        store = self._store
        job = store.claim(job_id, S.FINISHED, S.STAGING_OUT, 'Staging out: collecting the results.')
        if job is None:
            return
        try:
            result = self._out.run(
                job_id,
                job.exit_code,
                job.time_limit,
                lambda: self._stop_reason(job_id, S.STAGING_OUT_CR),
                owner=job.owner,
            )
        except StagingAborted as exc:
            self._aborted(job_id, exc.reason, S.STAGING_OUT, S.STAGING_OUT_CR, S.FINISHED)
            return
        except CeriseError as exc:
            self._failed(job_id, exc, 'Staging out failed', S.STAGING_OUT, S.FINISHED)
            return
        if result.runner_log_tail:
            store.note(
                job_id,
                "Last lines of the workflow runner's log:\n" + result.runner_log_tail,
                'WARNING',
            )
        if result.runner_log_url:
            store.note(job_id, f"The workflow runner's whole log: {result.runner_log_url}")
        output = None if result.output is None else json.dumps(result.output)
        if result.state is S.SUCCESS:
            message = f'Success: {result.files} output file(s) published.'
            level = 'INFO'
        else:
            message = f'The workflow failed: {result.reason}.'
            if result.files:
                message += f' {result.files} output file(s) it produced were published.'
            level = 'ERROR'
        if not store.transition(
            job_id, S.STAGING_OUT, result.state, message, level, output_json=output
        ):
            self._aborted(job_id, StopReason.CANCEL, S.STAGING_OUT, S.STAGING_OUT_CR, S.FINISHED)

    # --- helpers -------------------------------------------------------
    def _count(self, exc: ResourceError) -> None:
        if self._metrics is not None:
            self._metrics.resource_error(type(exc).__name__)

    def _wait_for_resource(self, job_id: str, exc: CeriseError, active: S, rest: S) -> bool:
        """The resource is unreachable: put the job back and try again later.

        Returns False if the job could not be put back (e.g. it was cancelled).
        """
        if not self._store.transition(
            job_id,
            active,
            rest,
            f'Cannot reach the compute resource ({exc}); will try again.',
            'WARNING',
            notify=False,
        ):
            return False
        self._hand_back_later(job_id)
        return True

    def _aborted(self, job_id: str, reason: StopReason, active: S, cancel_twin: S, rest: S) -> None:
        store = self._store
        if reason is StopReason.SHUTDOWN:
            store.transition(
                job_id,
                active,
                rest,
                'The service is shutting down; staging will resume when it starts again.',
                notify=False,
            )
        else:
            store.transition(job_id, cancel_twin, S.CANCELLED, 'Cancelled.')

    def _failed(self, job_id: str, exc: CeriseError, what: str, active: S, rest: S) -> None:
        """Do what `exc` leads to (jobs/outcomes.py): wait for the resource, or end
        the job in the outcome's state with `what` (or the outcome's words) before
        the message. An error that is no job's outcome goes on to the job guard."""
        outcome = outcome_of(exc)
        if outcome.job_state is None:
            raise exc
        if isinstance(exc, ResourceError):
            self._count(exc)
        if outcome.waits and self._wait_for_resource(job_id, exc, active, rest):
            return
        fail_job(self._store, job_id, outcome.job_state, f'{outcome.explained_as or what}: {exc}')

    # --- deletion ------------------------------------------------------
    def delete(self, job_id: str) -> None:
        try:
            self._delete(job_id)
        finally:
            self._on_done()

    @job_guard
    def _delete(self, job_id: str) -> None:
        job = self._store.get_job(job_id, include_deleted=True)
        if job is None or not job.delete_requested or not job.state.is_final:
            return
        try:
            self._cleaner(job_id, job.owner)
        except ResourceError as exc:
            self._count(exc)
            if exc.temporary:
                logger.warning(
                    'job %s: cannot remove its files yet (%s); will try again', job_id, exc
                )
                self._hand_back_later(job_id)
                return  # the record stays (hidden) until its files are gone
            logger.warning('job %s: could not remove all its files: %s', job_id, exc)
        self._store.remove_job(job_id)
