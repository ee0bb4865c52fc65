"""The fifteen internal job states and what each means to users and actors.

The names and values follow Cerise 0.2.4 so that databases and logs read the
same; ``cwl_state`` is what the REST API shows. Which transitions are allowed
is data in :mod:`cerise_actors.store.transitions`, owned by the StoreActor.
"""

import enum
from typing import Optional


class JobState(enum.Enum):
    """Where a job is in its life; the value is what the database stores."""

    SUBMITTED = 'Submitted'
    STAGING_IN = 'StagingIn'
    WAITING = 'Waiting'
    RUNNING = 'Running'
    FINISHED = 'Finished'
    STAGING_OUT = 'Destaging'
    SUCCESS = 'Success'
    STAGING_IN_CR = 'StagingCR'
    WAITING_CR = 'WaitingCR'
    RUNNING_CR = 'RunningCR'
    STAGING_OUT_CR = 'DestagingCR'
    CANCELLED = 'Cancelled'
    PERMANENT_FAILURE = 'PermanentFailure'
    TEMPORARY_FAILURE = 'TemporaryFailure'
    SYSTEM_ERROR = 'SystemError'

    @property
    def kind(self) -> str:
        """One of 'rest', 'active', 'remote' (as in the spec's table)."""
        return _KIND[self]

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def is_remote(self) -> bool:
        return _KIND[self] == 'remote'

    @property
    def cancellation_pending(self) -> bool:
        return self in _CANCEL_TWIN.values()

    @property
    def cwl_state(self) -> str:
        """The state as the REST API shows it."""
        return _CWL[self]

    def cancel_twin(self) -> Optional['JobState']:
        """The `_CR` state of an active or remote state, else None."""
        return _CANCEL_TWIN.get(self)


S = JobState

FINAL_STATES = frozenset(
    {S.SUCCESS, S.CANCELLED, S.PERMANENT_FAILURE, S.TEMPORARY_FAILURE, S.SYSTEM_ERROR}
)

_KIND = {
    S.SUBMITTED: 'rest',
    S.STAGING_IN: 'active',
    S.WAITING: 'remote',
    S.RUNNING: 'remote',
    S.FINISHED: 'rest',
    S.STAGING_OUT: 'active',
    S.SUCCESS: 'rest',
    S.STAGING_IN_CR: 'active',
    S.WAITING_CR: 'remote',
    S.RUNNING_CR: 'remote',
    S.STAGING_OUT_CR: 'active',
    S.CANCELLED: 'rest',
    S.PERMANENT_FAILURE: 'rest',
    S.TEMPORARY_FAILURE: 'rest',
    S.SYSTEM_ERROR: 'rest',
}

_CWL = {
    S.SUBMITTED: 'Waiting',
    S.STAGING_IN: 'Waiting',
    S.WAITING: 'Waiting',
    S.RUNNING: 'Running',
    S.FINISHED: 'Running',
    S.STAGING_OUT: 'Running',
    S.SUCCESS: 'Success',
    S.STAGING_IN_CR: 'Waiting',
    S.WAITING_CR: 'Waiting',
    S.RUNNING_CR: 'Running',
    S.STAGING_OUT_CR: 'Running',
    S.CANCELLED: 'Cancelled',
    S.PERMANENT_FAILURE: 'PermanentFailure',
    S.TEMPORARY_FAILURE: 'TemporaryFailure',
    S.SYSTEM_ERROR: 'SystemError',
}

_CANCEL_TWIN = {
    S.STAGING_IN: S.STAGING_IN_CR,
    S.WAITING: S.WAITING_CR,
    S.RUNNING: S.RUNNING_CR,
    S.STAGING_OUT: S.STAGING_OUT_CR,
}
