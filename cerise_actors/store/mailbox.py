"""The service's thread actors, on cheaper primitives than pykka's defaults.

Every job passes a dozen asks and as many tells between the actors. pykka's
ThreadingActor gives each actor a `queue.Queue` inbox (three Conditions, a
lock taken and a waiter made in Python for every put and get) and each ask a
ThreadingFuture built on a Condition (a lock made for every wait). Here the
inbox is a `queue.SimpleQueue` (one lock, in C) and a future is one lock,
held until its value is set: the same semantics (a FIFO inbox; `get` blocks
until the value or exception is set, or raises pykka.Timeout; a value can
be read any number of times; get hooks, as Future.map and Future.join use,
work as in pykka), at a fraction of the cost in a burst of jobs.
"""

import queue
import sys
import threading
from types import TracebackType
from typing import Any, Callable, NamedTuple, Optional, Tuple, Type

import pykka

#: an exception as `sys.exc_info()` gives it (all None outside an `except`)
ExcInfo = Tuple[Optional[Type[BaseException]], Optional[BaseException], Optional[TracebackType]]


class _Result(NamedTuple):
    value: Any = None  # whatever the asked method returned
    exc_info: Optional[ExcInfo] = None


class LockFuture(pykka.ThreadingFuture[Any]):
    """A ThreadingFuture whose waiting is one lock, released when it is set.

    Its result is `_outcome`, not the base's `_result` (of pykka's own
    result type): every method that reads it is replaced here."""

    def __init__(self) -> None:
        pykka.Future.__init__(self)
        self._set_lock = threading.Lock()  # serialises set, set_exception, set_get_hook
        self._done = threading.Lock()
        self._done.acquire()  # released, for good, once there is a result
        self._outcome: Optional[_Result] = None

    def get(self, *, timeout: Optional[float] = None) -> Any:
        if self._get_hook is not None:
            return pykka.Future.get(self, timeout=timeout)
        if self._outcome is None:
            if not self._done.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
                if self._get_hook is not None:  # set meanwhile by set_get_hook
                    return pykka.Future.get(self, timeout=timeout)
                raise pykka.Timeout(f'{timeout} seconds')
            self._done.release()  # for the next reader
        if self._outcome is None:  # woken by set_get_hook
            return pykka.Future.get(self, timeout=timeout)
        exc_info = self._outcome.exc_info
        if exc_info is None:
            return self._outcome.value
        exc_type, exc_value, exc_traceback = exc_info
        if exc_value is None:
            if exc_type is None:  # set_exception() outside an `except` block
                raise RuntimeError('the future was failed with no exception')
            exc_value = exc_type()
        if exc_value.__traceback__ is not exc_traceback:
            raise exc_value.with_traceback(exc_traceback)
        raise exc_value

    def set(self, value: Any = None) -> None:
        self._complete(_Result(value=value))

    def set_exception(self, exc_info: Optional[ExcInfo] = None) -> None:
        assert exc_info is None or len(exc_info) == 3
        self._complete(_Result(exc_info=exc_info or sys.exc_info()))

    def set_get_hook(self, func: Callable[[Optional[float]], Any]) -> None:
        with self._set_lock:
            if self._outcome is not None:
                raise queue.Full
            pykka.Future.set_get_hook(self, func)
            self._done.release()

    def _complete(self, result: _Result) -> None:
        with self._set_lock:
            if self._outcome is not None or self._get_hook is not None:
                raise queue.Full
            self._outcome = result
            self._done.release()


class LeanActor(pykka.ThreadingActor):
    """A pykka ThreadingActor with a SimpleQueue inbox and LockFuture answers."""

    @staticmethod
    def _create_actor_inbox() -> 'queue.SimpleQueue[Any]':  # of pykka's envelopes
        return queue.SimpleQueue()

    @staticmethod
    def _create_future() -> 'pykka.Future[Any]':
        return LockFuture()
