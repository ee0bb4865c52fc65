"""What each error of `errors.py` leads to, in one table.

As `store/transitions.py` holds the state machine as data, this module holds
the consequences of the service's errors: the state a job ends in when one
stops it, whether the job waits and tries again instead, and the HTTP answer
when a request meets it. One lookup along the class's MRO (`outcome_of`)
serves the stager and runner actors and the web front ends, so what an error
means is decided here and nowhere else, and a new error class inherits its
parent's outcome until it is given its own. docs/design.md's error table is
rendered from this one (tests/design_tables.py).

Errors with no `job_state` are not a job's outcome (a bug, a configuration
mistake, a request's answer): an actor that meets one lets it reach its job
guard, which records a SystemError as for any unexpected exception.
"""

import dataclasses
from typing import Dict, Optional, Type

from .. import errors as e
from .states import JobState


@dataclasses.dataclass(frozen=True)
class Outcome:
    """The consequences of one class of error."""

    #: the state a job ends in when this error stops its staging or start
    job_state: Optional[JobState] = None
    #: the job goes back to its rest state and is tried again later instead
    #: (the resource could not be reached: submission and staging are idempotent)
    waits: bool = False
    #: the words the job log puts before the error's message; None: the
    #: phase's own ("Staging in failed", "Could not start the job")
    explained_as: Optional[str] = None
    #: the HTTP status of a request that meets this error (None: a 500)
    http_status: Optional[int] = None
    #: the title of that answer, and its Retry-After in seconds
    http_title: str = ''
    retry_after: Optional[int] = None
    #: what else follows, in words, for docs/design.md
    note: str = ''


#: the outcome of each error class; subclasses not listed inherit their parent's
OUTCOMES: Dict[Type[e.CeriseError], Outcome] = {
    e.CeriseError: Outcome(note='a bug: SYSTEM_ERROR for a job, HTTP 500 for a request'),
    e.ConfigError: Outcome(note='`serve` exits with 2'),
    e.JobRefused: Outcome(JobState.PERMANENT_FAILURE, explained_as='Cannot run this job'),
    e.InvalidOutput: Outcome(JobState.SYSTEM_ERROR),
    e.ResourceError: Outcome(JobState.PERMANENT_FAILURE, note='`serve` exits with 1 at start-up'),
    e.TemporaryResourceError: Outcome(JobState.TEMPORARY_FAILURE, waits=True),
    e.DiskFull: Outcome(JobState.TEMPORARY_FAILURE, note='once, not retried in a loop'),
    e.SourceUnavailable: Outcome(
        JobState.TEMPORARY_FAILURE, explained_as='An input is not available'
    ),
    e.StagingAborted: Outcome(note='back to the rest state (shutdown), or CANCELLED'),
    e.ApiInstallError: Outcome(
        note='`serve` exits with 2; deferred: SYSTEM_ERROR for waiting jobs'
    ),
    e.AlreadyRunning: Outcome(note='`serve` exits with 2'),
    e.IllegalTransition: Outcome(note='a bug in the caller'),
    e.JobNotFound: Outcome(http_status=404, http_title='Job not found'),
    e.TooManyActiveJobs: Outcome(
        http_status=429,
        http_title='Too many unfinished jobs',
        retry_after=60,
        note='no job is made',
    ),
    e.ServiceUnavailable: Outcome(http_status=503, http_title='Service unavailable', retry_after=5),
    e.StorageFull: Outcome(http_status=507, http_title='Storage full'),
}


def outcome_of(error: BaseException) -> Outcome:
    """The outcome of `error`: that of the nearest class along its MRO in the table
    (any exception that is not a CeriseError is a bug: the base's outcome)."""
    return outcome_of_class(type(error))


def outcome_of_class(cls: Type[BaseException]) -> Outcome:
    """`outcome_of` for a class rather than an instance (for the design document)."""
    for parent in cls.__mro__:
        if parent in OUTCOMES:
            return OUTCOMES[parent]
    return OUTCOMES[e.CeriseError]


def describe_outcome(cls: Type[BaseException]) -> str:
    """The outcome of `cls` in words, for docs/design.md's error table."""
    outcome = outcome_of_class(cls)
    parts = []
    if outcome.waits:
        parts.append('the job waits and is tried again (see [Failures](#failures))')
    elif outcome.job_state is not None:
        parts.append(outcome.job_state.name)
    if outcome.http_status is not None:
        answer = f'HTTP {outcome.http_status}'
        if outcome.retry_after is not None:
            answer += f' with `Retry-After: {outcome.retry_after}`'
        parts.append(answer)
    if outcome.note:
        parts.append(outcome.note)
    return '; '.join(parts)
