"""The table of allowed job state transitions, kept as data.

Every state change in the service is one of these pairs, applied by the
StoreActor as a compare-and-swap. A pair that is not here is a bug in the
caller: the store logs it and refuses it, so the database never holds a job
that skipped a check. Who makes each move is noted beside it.
"""

import logging
from typing import Optional

from ..jobs.states import JobState as S

logger = logging.getLogger(__name__)

_FAILURES = (S.PERMANENT_FAILURE, S.TEMPORARY_FAILURE, S.SYSTEM_ERROR)

#: from-state -> the states it may move to
TRANSITIONS = {
    # front end cancels a rest state; stager picks the job up
    S.SUBMITTED: {S.STAGING_IN, S.CANCELLED},
    # stager: done staging, failed staging, or shutdown put it back;
    # front end: cancel requested
    S.STAGING_IN: {S.WAITING, S.SUBMITTED, S.STAGING_IN_CR, *_FAILURES},
    S.STAGING_IN_CR: {S.CANCELLED, *_FAILURES},
    # poller: the resource reports it running or finished; runner: a
    # submission that failed; front end: cancel requested
    S.WAITING: {S.RUNNING, S.FINISHED, S.WAITING_CR, *_FAILURES},
    S.RUNNING: {S.FINISHED, S.RUNNING_CR, *_FAILURES},
    S.WAITING_CR: {S.RUNNING_CR, S.CANCELLED, *_FAILURES},
    S.RUNNING_CR: {S.CANCELLED, *_FAILURES},
    # stager starts staging out; front end cancels a rest state
    S.FINISHED: {S.STAGING_OUT, S.CANCELLED},
    # stager: published (success or the runner's failure), or shutdown put
    # it back; front end: cancel requested
    S.STAGING_OUT: {S.SUCCESS, S.FINISHED, S.STAGING_OUT_CR, *_FAILURES},
    S.STAGING_OUT_CR: {S.CANCELLED, *_FAILURES},
}

#: what shutdown and start-up recovery do with jobs that were being staged
RECOVERY = {
    S.STAGING_IN: S.SUBMITTED,
    S.STAGING_OUT: S.FINISHED,
    S.STAGING_IN_CR: S.CANCELLED,
    S.STAGING_OUT_CR: S.CANCELLED,
}


def recovery_message(why: str, target: S) -> str:
    """The job-log line of a job that `RECOVERY` put back into `target`
    after `why` ("The service stopped")."""
    if target is S.CANCELLED:
        return f'{why} while staging a cancelled job; it is now Cancelled.'
    return f'{why} while staging this job; staging will start again.'


def is_allowed(from_state: S, to_state: S) -> bool:
    """True iff the table has the pair."""
    return to_state in TRANSITIONS.get(from_state, ())


def refused(job_id: str, from_state: S, to_state: S) -> str:
    """Log the refusal of a pair the table has not got; the pair, for the error."""
    logger.error(
        'job %s: illegal transition %s -> %s refused', job_id, from_state.name, to_state.name
    )
    return f'{from_state.name} -> {to_state.name}'


def cancel_target(state: S) -> Optional[S]:
    """Where a cancel request moves a job in `state`, or None to leave it.

    Rest states that are not final go straight to CANCELLED; active and
    remote states go to their `_CR` twin and the worker that owns them
    finishes the cancellation; final and `_CR` states stay as they are.
    """
    if state in (S.SUBMITTED, S.FINISHED):
        return S.CANCELLED
    return state.cancel_twin()
