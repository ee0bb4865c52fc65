"""What every worker actor shares: asking the store, and never dying.

Pykka stops an actor whose `tell`ed message raised, and silently keeps the
exception of an ignored future. Neither is acceptable here, so worker
methods are wrapped by :func:`job_guard`: an unexpected exception is logged
with the job id and turned into SYSTEM_ERROR with a job-log line, and the
actor carries on with its next message.
"""

import functools
import logging
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Protocol, TypeVar, cast

import pykka

from ..defaults import ASK_TIMEOUT
from ..jobs.states import FINAL_STATES, JobState
from ..jobs.views import JobView, Message

if TYPE_CHECKING:  # proxies.py imports the actors, which import this module
    from .proxies import StoreProxy

logger = logging.getLogger(__name__)

#: a guarded method: `job_guard` keeps its signature
Guarded = TypeVar('Guarded', bound=Callable[..., Optional[Any]])


class ControlFlow(Exception):
    """Raised on purpose inside a guarded method; passes job_guard untouched."""


RETHROWN = (ControlFlow,)


class WorkerMetrics(Protocol):
    """What the workers report to the service's metrics (app/metrics.ServiceMetrics,
    which the actors may not import: app builds them)."""

    def resource_error(self, kind: str) -> None: ...

    def poll_round(self, seconds: float) -> None: ...

    def deployed(self, what: str) -> None: ...


class StoreClient:
    """Blocking asks to the StoreActor, always with a time-out.

    The workers' whole view of the store: each method asks the StoreActor's
    method of the same name (see store/actor.py) and waits for its answer.
    """

    def __init__(self, store_proxy: 'StoreProxy') -> None:
        self._store = store_proxy

    def get_job(self, job_id: str, include_deleted: bool = False) -> Optional[JobView]:
        return self._store.get_job(job_id, include_deleted=include_deleted).get(timeout=ASK_TIMEOUT)

    def transition(
        self,
        job_id: str,
        from_state: JobState,
        to_state: JobState,
        message: Message = None,
        level: str = 'INFO',
        notify: bool = True,
        **fields: Any,
    ) -> bool:
        return self._store.transition(
            job_id, from_state, to_state, message, level, notify, **fields
        ).get(timeout=ASK_TIMEOUT)

    def claim(
        self, job_id: str, from_state: JobState, to_state: JobState, message: Message = None
    ) -> Optional[JobView]:
        return self._store.claim(job_id, from_state, to_state, message).get(timeout=ASK_TIMEOUT)

    def update_job(
        self, job_id: str, message: Message = None, level: str = 'INFO', **fields: Any
    ) -> None:
        return self._store.update_job(job_id, message, level, **fields).get(timeout=ASK_TIMEOUT)

    def add_log(self, job_id: str, message: str, level: str = 'INFO') -> None:
        return self._store.add_log(job_id, message, level).get(timeout=ASK_TIMEOUT)

    def note(self, job_id: str, message: Message, level: str = 'INFO') -> None:
        """add_log without waiting (a tell); this worker's later asks are
        answered after it, so the job log keeps its order."""
        self._store.note(job_id, message, level)

    def stopping_view(self) -> Mapping[str, JobState]:
        """The store's live view of jobs whose staging must stop (a cancel)."""
        return self._store.stopping_view().get(timeout=ASK_TIMEOUT)

    def remove_job(self, job_id: str) -> None:
        return self._store.remove_job(job_id).get(timeout=ASK_TIMEOUT)

    def republish(self, job_id: str) -> None:
        return self._store.republish(job_id).get(timeout=ASK_TIMEOUT)


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


def job_guard(method: Guarded) -> Guarded:
    """Decorate `method(self, job_id, ...)` of an actor with a `_store` StoreClient.
    The guarded method keeps its signature (what callers of the actor's proxy see);
    on an error it answers None, as every guarded method does anyway."""

    @functools.wraps(method)
    def wrapper(self: Any, job_id: str, *args: Any, **kwargs: Any) -> Optional[Any]:
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

    return cast(Guarded, wrapper)  # the same call: `method`'s, or None after an error
