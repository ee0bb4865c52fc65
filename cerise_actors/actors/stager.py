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

import pykka

from ..cwl.errors import InvalidInput, InvalidOutput, InvalidWorkflow
from ..jobs.states import JobState as S
from ..resource.errors import ResourceError
from ..service.stage_in import StageIn, StagingAborted
from ..service.sources import SourceUnavailable
from ..service.stage_out import StageOut
from .base import StoreClient, fail_job, job_guard

logger = logging.getLogger(__name__)


class StagerActor(pykka.ThreadingActor):
    def __init__(self, store_proxy, stage_in: StageIn, stage_out: StageOut,
                 cleaner, shutting_down: threading.Event, on_done=None, retry_later=None):
        super().__init__()
        self._store = StoreClient(store_proxy)
        self._in = stage_in
        self._out = stage_out
        self._cleaner = cleaner
        self._shutting_down = shutting_down
        self._on_done = on_done or (lambda: None)
        # retry_later(fn): call fn at the poller's next round (the only timer)
        self._retry_later = retry_later
        self._resume = None         # set by the pool: how to hand a job back to a stager

    def set_pool(self, pool) -> None:
        """The pool that jobs put back for a later retry are handed to."""
        self._resume = pool

    def _stop_reason(self, job_id: str, cancel_state: S):
        if self._shutting_down.is_set():
            return 'shutdown'
        job = self._store.get_job(job_id, include_deleted=True)
        if job is None or job.state is cancel_state:
            return 'cancel'
        return None

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
        job = store.claim(job_id, S.SUBMITTED, S.STAGING_IN,
                          'Staging in: fetching the workflow and input files.')
        if job is None:
            return      # cancelled meanwhile, or another stager has it
        try:
            result = self._in.run(job_id, job.workflow_url, job.input_json,
                                  lambda: self._stop_reason(job_id, S.STAGING_IN_CR))
        except StagingAborted as exc:
            self._aborted(job_id, exc.reason, S.STAGING_IN, S.STAGING_IN_CR, S.SUBMITTED)
            return
        except (InvalidWorkflow, InvalidInput) as exc:
            fail_job(store, job_id, S.PERMANENT_FAILURE, f'Cannot run this job: {exc}')
            return
        except SourceUnavailable as exc:
            fail_job(store, job_id, S.TEMPORARY_FAILURE, f'An input is not available: {exc}')
            return
        except ResourceError as exc:
            if exc.temporary and self._wait_for_resource(job_id, exc, S.STAGING_IN,
                                                         S.SUBMITTED, 'stage_in'):
                return
            self._resource_failure(job_id, 'Staging in failed', exc)
            return
        staged = dict(cores=result.cores, time_limit=result.time_limit,
                      remote_dir=result.remote_dir, workflow_content=result.workflow_content,
                      staged_input_json=result.staged_input)
        if not store.transition(job_id, S.STAGING_IN, S.WAITING,
                                [result.summary, 'Waiting to start on the compute resource.'],
                                **staged):
            self._aborted(job_id, 'cancel', S.STAGING_IN, S.STAGING_IN_CR, S.SUBMITTED)

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
        job = store.claim(job_id, S.FINISHED, S.STAGING_OUT,
                          'Staging out: collecting the results.')
        if job is None:
            return
        exit_code = int(job.runner_result) if (job.runner_result or '').lstrip('-').isdigit() \
            else None
        try:
            result = self._out.run(job_id, exit_code, job.time_limit,
                                   lambda: self._stop_reason(job_id, S.STAGING_OUT_CR))
        except StagingAborted as exc:
            self._aborted(job_id, exc.reason, S.STAGING_OUT, S.STAGING_OUT_CR, S.FINISHED)
            return
        except ResourceError as exc:
            if exc.temporary and self._wait_for_resource(job_id, exc, S.STAGING_OUT,
                                                         S.FINISHED, 'stage_out'):
                return
            self._resource_failure(job_id, 'Staging out failed', exc)
            return
        except InvalidOutput as exc:
            self._resource_failure(job_id, 'Staging out failed', exc)
            return
        if result.runner_log_tail:
            store.add_log(job_id, 'Last lines of the workflow runner\'s log:\n'
                          + result.runner_log_tail, 'WARNING')
        output = None if result.output is None else json.dumps(result.output)
        if result.state is S.SUCCESS:
            message = f'Success: {result.files} output file(s) published.'
            level = 'INFO'
        else:
            message = f'The workflow failed: {result.reason}.'
            if result.files:
                message += f' {result.files} output file(s) it produced were published.'
            level = 'ERROR'
        if not store.transition(job_id, S.STAGING_OUT, result.state, message, level,
                                output_json=output):
            self._aborted(job_id, 'cancel', S.STAGING_OUT, S.STAGING_OUT_CR, S.FINISHED)

    # --- helpers -------------------------------------------------------
    def _wait_for_resource(self, job_id, exc, active, rest, method) -> bool:
        """The resource is unreachable: put the job back and try again later.

        Returns False if the job could not be put back (e.g. it was cancelled).
        """
        if self._retry_later is None or self._resume is None:
            return False
        if not self._store.transition(
                job_id, active, rest,
                f'Cannot reach the compute resource ({exc}); will try again.', 'WARNING',
                notify=False):
            return False
        resume = getattr(self._resume, method)
        self._retry_later(lambda: resume(job_id))
        return True

    def _aborted(self, job_id, reason, active, cancel_twin, rest) -> None:
        store = self._store
        if reason == 'shutdown':
            store.transition(job_id, active, rest,
                             'The service is shutting down; staging will resume '
                             'when it starts again.', notify=False)
        else:
            store.transition(job_id, cancel_twin, S.CANCELLED, 'Cancelled.')

    def _resource_failure(self, job_id, what, exc) -> None:
        state = S.TEMPORARY_FAILURE if getattr(exc, 'temporary', False) \
            else S.PERMANENT_FAILURE
        if isinstance(exc, InvalidOutput):
            state = S.SYSTEM_ERROR
        fail_job(self._store, job_id, state, f'{what}: {exc}')

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
            self._cleaner(job_id)
        except ResourceError as exc:
            if exc.temporary and self._retry_later is not None and self._resume is not None:
                logger.warning('job %s: cannot remove its files yet (%s); will try again',
                               job_id, exc)
                resume = self._resume
                self._retry_later(lambda: resume.delete(job_id))
                return      # the record stays (hidden) until its files are gone
            logger.warning('job %s: could not remove all its files: %s', job_id, exc)
        self._store.remove_job(job_id)
