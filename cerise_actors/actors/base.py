"""What every worker actor shares: asking the store, and never dying.

Pykka stops an actor whose `tell`ed message raised, and silently keeps the
exception of an ignored future. Neither is acceptable here, so worker
methods are wrapped by :func:`job_guard`: an unexpected exception is logged
with the job id and turned into SYSTEM_ERROR with a job-log line, and the
actor carries on with its next message.
"""

import functools
import logging

import pykka

from ..defaults import ASK_TIMEOUT
from ..jobs.states import FINAL_STATES, JobState

logger = logging.getLogger(__name__)

#: how long a worker waits for the StoreActor before giving up


class ControlFlow(Exception):
    """Raised on purpose inside a guarded method; passes job_guard untouched."""


RETHROWN = (ControlFlow,)


class StoreClient:
    """Blocking asks to the StoreActor, always with a time-out."""

    def __init__(self, store_proxy):
        self._store = store_proxy

    def __getattr__(self, name):
        method = getattr(self._store, name)

        def ask(*args, **kwargs):
            return method(*args, **kwargs).get(timeout=ASK_TIMEOUT)

        return ask


def fail_job(store: StoreClient, job_id: str, state: JobState, message: str) -> None:
    """Move a job from wherever it is (not final) to a failure state."""
    job = store.get_job(job_id, include_deleted=True)
    if job is None or job.state in FINAL_STATES:
        return
    if job.state.cancellation_pending and state is not JobState.SYSTEM_ERROR:
        state = JobState.CANCELLED
        message = 'Cancelled.'
    try:
        if not store.transition(job_id, job.state, state, message, 'ERROR'):
            fail_job(store, job_id, state, message)  # it moved meanwhile
    except Exception:  # an illegal pair (e.g. from a rest state): log it only
        logger.exception('job %s: could not record failure %s', job_id, message)
        store.add_log(job_id, message, 'ERROR')


def job_guard(method):
    """Decorate `method(self, job_id, ...)` of an actor with a `_store` StoreClient."""

    @functools.wraps(method)
    def wrapper(self, job_id, *args, **kwargs):
        try:
            return method(self, job_id, *args, **kwargs)
        except RETHROWN:
            raise
        except pykka.ActorDeadError:
            logger.warning('job %s: %s skipped, the service is stopping', job_id, method.__name__)
        except Exception as exc:
            logger.exception('job %s: internal error in %s', job_id, method.__name__)
            try:
                fail_job(
                    self._store,
                    job_id,
                    JobState.SYSTEM_ERROR,
                    f'Internal error of the service ({type(exc).__name__}: {exc}); '
                    f'please report it.',
                )
            except Exception:
                logger.exception('job %s: could not record the internal error', job_id)
        return None

    return wrapper
