"""Sleep until a deadline, a wake-up, or the end of a watched local job.

The poller's timer thread sleeps here between rounds. A watched job is a
(pid, exit-code file) pair. Where the pid is known (direct scheduler) and
Linux gives pidfds (5.3 and later), the job script's pidfd becomes readable
once it has exited, so its end is seen at once and nothing runs meanwhile.
Otherwise (a batch scheduler's job, no pidfds, no fd to spare) the watch
looks for the exit-code file every QUICK_CHECK seconds while such jobs are
watched. Either way a job is reported once; the poller then asks the
scheduler, which remains the judge of what happened.

Used by one thread, except `wake` and `close`, which any thread may call.
"""

import errno
import os
import select
import threading
from typing import Dict, Iterable, List, Optional, Set, Tuple, Union

from ..defaults import QUICK_CHECK

#: seconds between looks for exit-code files of jobs not watched by pidfd

WOKEN, ENDED, TIMED_OUT = 'woken', 'ended', 'timed out'

Watched = Tuple[Optional[int], str]  # (pid of the job script or None, its exit-code file)


def _pidfds_work() -> bool:
    try:
        os.close(os.pidfd_open(os.getpid()))
        return True
    except (AttributeError, OSError):
        return False


class ExitWatch:
    """A wake-up pipe plus pidfds (or exit-code files) of the watched jobs."""

    def __init__(self, use_pidfds: Optional[bool] = None):
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._use_pidfds = _pidfds_work() if use_pidfds is None else use_pidfds
        self._fds: Dict[Watched, int] = {}  # keyed by job, so a reused pid is new
        self._reported: Set[Watched] = set()  # ended, and said so
        self._lock = threading.Lock()  # `wake` and `close` against each other
        self._closed = False

    def wake(self) -> None:
        """Make the current (or next) `wait` return WOKEN; a no-op once closed."""
        with self._lock:
            if self._closed:
                return
            try:
                os.write(self._write, b'.')
            except BlockingIOError:
                pass  # already woken; the pipe is full

    def wait(self, timeout: float, watched: Iterable[Watched]) -> str:
        """WOKEN, ENDED (a watched job ended) or TIMED_OUT, within `timeout` s."""
        watched = set(watched)
        self._reported &= watched
        pending = watched - self._reported
        by_fd: Dict[int, Watched] = {}
        by_file: List[Watched] = []
        for item in pending:
            fd = self._pidfd(item) if self._use_pidfds and item[0] is not None else None
            if fd is ENDED:  # no such process: it ended before we looked
                self._reported.add(item)
                return ENDED
            if isinstance(fd, int):
                by_fd[fd] = item
            else:  # None
                by_file.append(item)
        self._close_unwatched(set(by_fd.values()))
        if by_file:
            timeout = min(timeout, QUICK_CHECK)
        poller = select.poll()
        poller.register(self._read, select.POLLIN)
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        events = poller.poll(max(0, timeout) * 1000)
        ended = [by_fd[fd] for fd, _ in events if fd in by_fd]
        ended += [item for item in by_file if os.path.exists(item[1])]
        self._reported.update(ended)
        woken = any(fd == self._read for fd, _ in events)
        if woken:
            self._drain()
        # an end outranks a wake-up: a wake-up only asks to look again
        return ENDED if ended else WOKEN if woken else TIMED_OUT

    def _pidfd(self, item: Watched) -> Union[int, str, None]:
        """The item's pidfd; ENDED if the process is gone; None to use its file."""
        if item not in self._fds:
            pid = item[0]
            if pid is None:  # never: `wait` asks only for items with a pid
                raise ValueError(f'no pid to watch for {item[1]}')
            try:
                self._fds[item] = os.pidfd_open(pid)
            except OSError as exc:
                return ENDED if exc.errno == errno.ESRCH else None
        return self._fds[item]

    def _close_unwatched(self, keep: Set[Watched]) -> None:
        for item in [item for item in self._fds if item not in keep]:
            os.close(self._fds.pop(item))

    def _drain(self) -> None:
        try:
            while os.read(self._read, 4096):
                pass
        except BlockingIOError:
            pass

    def open_fds(self) -> int:
        """How many pidfds are open (for tests)."""
        return len(self._fds)

    def close(self) -> None:
        """Free the pipe and pidfds; call from the waiting thread, once it is done."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._close_unwatched(set())
            os.close(self._read)
            os.close(self._write)
