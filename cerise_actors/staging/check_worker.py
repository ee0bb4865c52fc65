"""The service's end of the workflow check's process (validate_worker.py).

The process is started on the first check, with the service's own Python
and package, in a session of its own (a Ctrl-C meant for the service does
not end a check half-way), with the service's scrubbed environment. Checks
are one conversation at a time: a request, the documents the loader asks
for (answered by the caller), the answer. It is told to leave by closing
its stdin once it has been unused for `idle_seconds`, by a thread that
waits for that under the same lock as the conversations, so it never leaves
during one; the next check starts it again. It leaves too when the service
ends, since its stdin closes then.

Fail closed: a process that ends, does not answer within `answer_seconds`
(waiting for it to start counts), or answers what is not a frame raises
WorkerFailed, is killed, and is started afresh for the next check; the
caller refuses the job.
"""

import logging
import os
import select
import subprocess
import sys
import threading
import time
from typing import Callable, Optional

from ..resource.shell import scrubbed_environment
from ..resource.warm import stop_child
from .validate_worker import read_frame, write_frame

logger = logging.getLogger(__name__)

#: the worker, started with the service's Python
WORKER_MODULE = 'cerise_actors.staging.validate_worker'
#: seconds unused after which the worker is told to leave
IDLE_SECONDS = 60.0
#: seconds the worker may take to answer (a start and a load included)
ANSWER_SECONDS = 120.0
#: seconds a worker told to leave gets before it is killed
STOP_GRACE = 5.0
#: the folder that holds the cerise_actors package: the worker starts there, so
#: `-m` imports the very package the service runs from
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class WorkerFailed(Exception):
    """The checking process ended, did not answer in time, or answered garbage."""


class _Deadline:
    """A raw stream read with a deadline: WorkerFailed when it passes."""

    def __init__(self, stream, seconds: float):
        self._stream = stream
        self._seconds = seconds
        self.restart()

    def restart(self) -> None:
        self._until = time.monotonic() + self._seconds

    def read(self, size: int) -> bytes:
        left = self._until - time.monotonic()
        if left <= 0 or not select.select([self._stream], [], [], left)[0]:
            raise WorkerFailed(f'the workflow check did not answer within {self._seconds:g} s')
        return os.read(self._stream.fileno(), size)


class CheckWorker:
    """One checking process, started when needed, retired when unused."""

    def __init__(
        self,
        argv: Optional[list] = None,
        idle_seconds: float = IDLE_SECONDS,
        answer_seconds: float = ANSWER_SECONDS,
    ):
        self._argv = argv or [sys.executable, '-m', WORKER_MODULE]
        self._idle = idle_seconds
        self._answer = answer_seconds
        self._lock = threading.Condition()
        self._proc: Optional[subprocess.Popen] = None
        self._last_used = 0.0
        self.starts = 0  # processes started so far (tests and the benchmark read it)

    @property
    def pid(self) -> Optional[int]:
        """The running worker's pid (None when there is none)."""
        with self._lock:
            return self._proc.pid if self._proc is not None else None

    def converse(self, request: dict, answer_fetch: Callable[[str], dict]) -> dict:
        """Send `request`, answer each document the worker asks for with
        `answer_fetch(url)`, and return its answer."""
        with self._lock:
            proc = self._running()
            reader = _Deadline(proc.stdout, self._answer)
            try:
                self._write(proc, request)
                while True:
                    message = read_frame(reader)
                    if message is None:
                        raise WorkerFailed(_ended(proc))
                    if 'fetch' not in message:
                        return message
                    answer = answer_fetch(str(message['fetch']))
                    self._write(proc, answer)
                    reader.restart()  # the time spent reading is the caller's, bounded there
            except WorkerFailed:
                self._discard(proc)
                raise
            except ValueError as exc:
                self._discard(proc)
                raise WorkerFailed(f'the workflow check answered garbage ({exc})') from None
            except OSError as exc:  # its stdin closed: it ended
                failure = WorkerFailed(f'{_ended(proc)} ({type(exc).__name__}: {exc})')
                self._discard(proc)
                raise failure from None
            finally:
                self._last_used = time.monotonic()
                self._lock.notify_all()

    def _write(self, proc: subprocess.Popen, message: dict) -> None:
        """`write_frame` with the answer's deadline: a worker that stops reading
        (hung, or a request over the pipe's buffer) is killed, so the write
        fails (OSError: it ended) instead of holding every check forever."""
        watchdog = threading.Timer(self._answer, proc.kill)
        watchdog.daemon = True
        watchdog.start()
        try:
            write_frame(proc.stdin, message)
        finally:
            watchdog.cancel()

    def close(self) -> None:
        """Tell the worker to leave now (the next check starts another)."""
        with self._lock:
            proc, self._proc = self._proc, None
            self._lock.notify_all()
        if proc is not None:
            _stop(proc)

    # --- the process (with the lock held) -----------------------------------------
    def _running(self) -> subprocess.Popen:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        if self._proc is not None:
            logger.warning(
                'the workflow check process ended (%s); starting another', _ended(self._proc)
            )
        self._proc = proc = subprocess.Popen(
            self._argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            cwd=PACKAGE_ROOT,
            env=scrubbed_environment(),
            start_new_session=True,
        )
        self.starts += 1
        self._last_used = time.monotonic()
        threading.Thread(
            target=self._retire_when_idle, args=(proc,), name='cerise-check-idle', daemon=True
        ).start()
        return proc

    def _discard(self, proc: subprocess.Popen) -> None:
        """A worker in an unknown state is never asked again."""
        if self._proc is proc:
            self._proc = None
        proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:  # pipes: never None here
                stream.close()

    def _retire_when_idle(self, proc: subprocess.Popen) -> None:
        with self._lock:
            while self._proc is proc:
                left = self._last_used + self._idle - time.monotonic()
                if left <= 0:
                    self._proc = None
                    break
                self._lock.wait(left)
            else:
                return  # discarded or closed meanwhile
        _stop(proc)


def _ended(proc: subprocess.Popen) -> str:
    try:  # its output ended: it is ending, if it has not yet
        code = proc.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
        code = None
    return 'the workflow check process ended' + ('' if code is None else f' (exit code {code})')


def _stop(proc: subprocess.Popen) -> None:
    """Close the worker's stdin (it leaves at once), kill it if it does not."""
    stop_child(proc, STOP_GRACE)
    if proc.stdout is not None:  # a pipe: never None here
        proc.stdout.close()
