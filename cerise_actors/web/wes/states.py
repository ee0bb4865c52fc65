"""Cerise's fifteen internal job states as the seven-odd states of GA4GH WES.

One table, documented in docs/wes.md. A WES client waits while a run is
QUEUED, INITIALIZING, RUNNING or CANCELING, so every state that is not final
maps to one of those, and every final state to a final WES state.
"""

from typing import Dict, List

from ...jobs.states import JobState as S

#: internal state -> WES State
WES_STATE: Dict[S, str] = {
    S.SUBMITTED: 'QUEUED',  # accepted, waiting for a stager
    S.STAGING_IN: 'INITIALIZING',  # workflow and inputs being copied to the resource
    S.WAITING: 'QUEUED',  # waiting for a slot, or queued by the batch scheduler
    S.RUNNING: 'RUNNING',
    S.FINISHED: 'RUNNING',  # the runner has stopped; outputs not yet collected
    S.STAGING_OUT: 'RUNNING',  # outputs being collected
    S.SUCCESS: 'COMPLETE',
    S.STAGING_IN_CR: 'CANCELING',
    S.WAITING_CR: 'CANCELING',
    S.RUNNING_CR: 'CANCELING',
    S.STAGING_OUT_CR: 'CANCELING',
    S.CANCELLED: 'CANCELED',
    # the workflow or its inputs were refused, or the workflow failed
    S.PERMANENT_FAILURE: 'EXECUTOR_ERROR',
    # a source was unavailable, or the runner said temporaryFail: not the workflow's fault
    S.TEMPORARY_FAILURE: 'SYSTEM_ERROR',
    S.SYSTEM_ERROR: 'SYSTEM_ERROR',
}

#: every State of the WES 1.1 schema, in its order (service-info counts them all)
WES_STATES: List[str] = [
    'UNKNOWN',
    'QUEUED',
    'INITIALIZING',
    'RUNNING',
    'PAUSED',
    'COMPLETE',
    'EXECUTOR_ERROR',
    'SYSTEM_ERROR',
    'CANCELED',
    'CANCELING',
    'PREEMPTED',
]

_BY_VALUE = {state.value: wes for state, wes in WES_STATE.items()}


def wes_state(stored: str) -> str:
    """The WES state of a stored state value (as rows carry it)."""
    return _BY_VALUE.get(stored, 'UNKNOWN')


def state_counts(stored_counts: Dict[str, int]) -> Dict[str, int]:
    """system_state_counts: every WES state, with how many runs are in it."""
    counts = dict.fromkeys(WES_STATES, 0)
    for stored, count in stored_counts.items():
        counts[wes_state(stored)] += count
    return counts
