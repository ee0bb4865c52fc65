"""Sleep until a deadline, a wake-up, or the end of a watched local job.

The poller's timer thread sleeps here between rounds. On Linux (5.3 and
later) each watched job script is a pidfd, readable once the process has
exited, so the end of a local job is seen at once and nothing runs while
jobs run or the service is idle. Where pidfds are not available the watch
falls back to looking for the jobs' exit-code files every QUICK_CHECK
seconds. Either way a job is reported once; the poller then asks the
scheduler, which remains the judge of what happened.

Used by one thread, except `wake`, which any thread may call.
"""
import os
import select
from typing import Dict, Iterable, Optional, Set, Tuple

#: seconds between looks for exit-code files when pidfds are not available
QUICK_CHECK = 0.01

WOKEN, ENDED, TIMED_OUT = 'woken', 'ended', 'timed out'

Watched = Tuple[Optional[int], str]     # (pid of the job script, its exit-code file)


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
        self._fds: Dict[int, int] = {}          # pid: pidfd
        self._reported: Set[Watched] = set()    # ended, and said so

    def wake(self) -> None:
        """Make the current (or next) `wait` return WOKEN."""
        try:
            os.write(self._write, b'.')
        except BlockingIOError:
            pass                                # already woken; the pipe is full

    def wait(self, timeout: float, watched: Iterable[Watched]) -> str:
        """WOKEN, ENDED (a watched job ended) or TIMED_OUT, within `timeout` s."""
        watched = set(watched)
        self._reported &= watched
        pending = watched - self._reported
        if self._use_pidfds:
            return self._wait_pidfds(timeout, pending)
        return self._wait_files(timeout, pending)

    def _wait_pidfds(self, timeout: float, pending: Set[Watched]) -> str:
        by_fd = {}
        for item in pending:
            if item[0] is None:
                continue            # not a process we can name: the next round sees it
            fd = self._pidfd(item[0])
            if fd is None:          # no such process: it ended before we looked
                self._reported.add(item)
                return ENDED
            by_fd[fd] = item
        self._close_unwatched({item[0] for item in pending})
        poller = select.poll()
        poller.register(self._read, select.POLLIN)
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        events = poller.poll(max(0, timeout) * 1000)
        ended = [by_fd[fd] for fd, _ in events if fd in by_fd]
        self._reported.update(ended)
        woken = any(fd == self._read for fd, _ in events)
        if woken:
            self._drain()
        # an end outranks a wake-up: a wake-up only asks to look again
        return ENDED if ended else WOKEN if woken else TIMED_OUT

    def _wait_files(self, timeout: float, pending: Set[Watched]) -> str:
        step = min(timeout, QUICK_CHECK) if pending else timeout
        ready, _, _ = select.select([self._read], [], [], max(0, step))
        if ready:
            self._drain()
            return WOKEN
        ended = {item for item in pending if os.path.exists(item[1])}
        self._reported.update(ended)
        return ENDED if ended else TIMED_OUT

    def _pidfd(self, pid: int) -> Optional[int]:
        if pid not in self._fds:
            try:
                self._fds[pid] = os.pidfd_open(pid)
            except OSError:
                return None
        return self._fds[pid]

    def _close_unwatched(self, pids: Set[Optional[int]]) -> None:
        for pid in [pid for pid in self._fds if pid not in pids]:
            os.close(self._fds.pop(pid))

    def _drain(self) -> None:
        try:
            while os.read(self._read, 4096):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        self._close_unwatched(set())
        os.close(self._read)
        os.close(self._write)
