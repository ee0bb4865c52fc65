"""The service's end of the completion watcher: one SSH channel per resource.

Why: without it a remote job is seen finished only at the poller's next
round, `refresh` seconds (10 s by default) after it ended. The watcher
(runner/watcher.py) runs on the resource, started over one long-lived
session channel on the resource's existing SSH connection, and reports
within a fraction of a second when a job's claim (started) or exit-code file
(ended) appears. Each report goes to `on_event(kind, job_id)`; the poller
takes it as a hint to poll that job now, through the scheduler's normal
poll, so a lost or repeated report changes nothing.

A thread of its own keeps the channel: it sends the set of watched jobs
whenever a channel opens, then each `watch`/`forget` as it comes, and a
ping every HEARTBEAT s; the watcher beats as often. A channel that closes,
errs or stays silent for DEAD_AFTER s is closed and opened again with
back-off (1 s doubling up to MAX_BACKOFF), and after each opening
`on_ready()` asks for one full poll, which covers whatever ended while no
watcher looked. Nothing here ever blocks the caller: `watch` and `forget`
only record the job and wake the thread.
"""

import json
import logging
import os
import select
import shlex
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Protocol, Set, Union

from .session_channel import SessionChannel

logger = logging.getLogger(__name__)

#: the program run on the resource (deployed with the runner as cerise_runner.watcher)
WATCHER_SOURCE = Path(__file__).resolve().parent.parent / 'runner' / 'watcher.py'
WATCHER_MODULE = 'cerise_runner.watcher'
#: seconds between pings to the watcher (it beats as often)
HEARTBEAT = 5.0
#: seconds without a line from the watcher after which the channel counts as dead
DEAD_AFTER = 3 * HEARTBEAT
#: the longest wait before opening a channel again
MAX_BACKOFF = 30.0

Event = Callable[[str, str], None]
#: a message to the watcher, as JSON: {'op': ..., 'jobs': [...]}
Message = Dict[str, object]


class WatchChannel(SessionChannel, Protocol):
    """What `CompletionWatch` needs of a channel: paramiko's session Channel
    has it all (tests pass fakes)."""

    def sendall(self, data: bytes, /) -> None: ...


def watcher_argv(jobs_dir: str, python: str, deployed: bool) -> List[str]:
    """The watcher's argv on the resource: the deployed runner's module where
    the runner is deployed, else `python` with the watcher's source (standard
    library only) as `-c`, whose first line names it in `ps`."""
    if deployed:
        return [python, '-m', WATCHER_MODULE, jobs_dir]
    return [python, '-c', WATCHER_SOURCE.read_text(), jobs_dir]


def bash_command(script: str) -> str:
    """`script` run by bash whatever the login shell (stdin stays the channel)."""
    return 'bash -c ' + shlex.quote(script)


class CompletionWatch:
    """Keeps one watcher running on the resource and passes on what it reports.

    `open_channel()` returns a new paramiko session channel (or anything with
    its exec_command, fileno, recv, recv_stderr_ready, recv_stderr, sendall
    and close); `command` is what it executes (`watcher_command`).
    """

    def __init__(
        self,
        open_channel: Callable[[], WatchChannel],
        command: str,
        name: str = 'the compute resource',
        heartbeat: float = HEARTBEAT,
        dead_after: float = DEAD_AFTER,
        max_backoff: float = MAX_BACKOFF,
    ):
        self._open_channel = open_channel
        self._command = command
        self._name = name
        self._heartbeat = heartbeat
        self._dead_after = dead_after
        self._max_backoff = max_backoff
        self._lock = threading.Lock()
        self._jobs: Set[str] = set()  # the watched jobs, sent whole to every new channel
        self._outbox: List[Message] = []  # watch/forget since the current channel got the set
        self._stopping = threading.Event()
        self._retry = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._thread: Optional[threading.Thread] = None
        self._on_event: Event = lambda kind, job_id: None
        self._on_ready: Callable[[], None] = lambda: None
        self.opened = 0  # channels that reached the watcher's hello (for tests and logs)
        self.remote_pid: Optional[int] = None  # the current watcher's pid on the resource
        self._last_end = ''

    # --- the caller's side ------------------------------------------------
    def start(
        self, on_event: Event, on_ready: Optional[Callable[[], None]] = None
    ) -> 'CompletionWatch':
        """Start keeping the channel; `on_event(kind, job_id)` with kind
        'started' or 'ended', `on_ready()` after each channel opens. Both are
        called from this object's thread and must not block."""
        self._on_event = on_event
        self._on_ready = on_ready or (lambda: None)
        self._thread = threading.Thread(
            target=self._keep, name='cerise-completion-watch', daemon=True
        )
        self._thread.start()
        return self

    def watch(self, job_id: str) -> None:
        self._change('watch', job_id)

    def forget(self, job_id: str) -> None:
        self._change('forget', job_id)

    def _change(self, op: str, job_id: str) -> None:
        with self._lock:
            if (op == 'watch') == (job_id in self._jobs):
                return
            (self._jobs.add if op == 'watch' else self._jobs.discard)(job_id)
            self._outbox.append({'op': op, 'jobs': [job_id]})
        self._wake()

    def retry_now(self) -> None:
        """Open the channel now if it is down (e.g. the runner was just installed)."""
        self._retry.set()
        self._wake()

    def stop(self, timeout: float = 5.0) -> None:
        """Close the channel (the watcher then exits) and end the thread."""
        self._stopping.set()
        self._retry.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._thread is None or not self._thread.is_alive():
            for fd in (self._wake_r, self._wake_w):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b'.')
        except (BlockingIOError, OSError):
            pass  # already woken, or stopped

    # --- the thread -------------------------------------------------------
    def _keep(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            channel: Optional[WatchChannel] = None
            try:
                channel = self._open_channel()
                channel.settimeout(self._dead_after)  # no read or write hangs for longer
                channel.exec_command(self._command)
                if self._serve(channel):
                    delay = 1.0  # it worked for a while: a new failure starts afresh
            except Exception as exc:  # an SSH error of any kind: try again later
                logger.info('completion watcher on %s: %s', self._name, exc)
            finally:
                self.remote_pid = None
                if channel is not None:
                    try:
                        channel.close()
                    except Exception:
                        pass
            if self._stopping.is_set():
                return
            logger.info('completion watcher on %s: opening again in %.0f s', self._name, delay)
            self._retry.clear()
            self._retry.wait(delay)
            delay = min(delay * 2, self._max_backoff)

    def _serve(self, channel: WatchChannel) -> bool:
        """Talk to one watcher until its channel dies; True if it said hello."""
        with self._lock:
            jobs, self._outbox = sorted(self._jobs), []
        self._send(channel, {'op': 'watch', 'jobs': jobs})
        buffered, errors = b'', b''
        greeted = False
        heard = sent = time.monotonic()
        readable: List[Union[WatchChannel, int]] = [channel, self._wake_r]
        while not self._stopping.is_set():
            ready, _, _ = select.select(readable, [], [], 1.0)
            now = time.monotonic()
            if self._wake_r in ready:
                self._drain_wake()
            with self._lock:
                outbox, self._outbox = self._outbox, []
            for message in outbox:
                self._send(channel, message)
                sent = now
            if now - sent >= self._heartbeat:
                self._send(channel, {'op': 'ping'})
                sent = now
            while channel.recv_stderr_ready():
                errors = (errors + channel.recv_stderr(65536))[-4000:]
            if channel in ready:
                data = channel.recv(65536)
                if not data:
                    why = errors.decode(errors='replace').strip() or 'its channel closed'
                    self._ended(why)
                    return greeted
                heard = now
                *lines, buffered = (buffered + data).split(b'\n')
                for line in lines:
                    if self._heard(line) == 'hello' and not greeted:
                        greeted = True
                        self.opened += 1
                        logger.info('completion watcher on %s started', self._name)
                        self._on_ready()  # one full poll: what ended while none looked
            if now - heard > self._dead_after:
                logger.warning(
                    'completion watcher on %s silent for %.0f s; opening it again',
                    self._name,
                    now - heard,
                )
                return greeted
        return greeted

    def _ended(self, why: str) -> None:
        """Log a watcher's end; the same reason again (e.g. not installed yet,
        while the back-off retries) only at INFO, so the log is not flooded."""
        level = logging.INFO if why == self._last_end else logging.WARNING
        self._last_end = why
        logger.log(level, 'completion watcher on %s ended: %s', self._name, why)

    def _heard(self, line: bytes) -> Optional[str]:
        try:
            message = json.loads(line)
            event = message['event']
        except (ValueError, KeyError, TypeError):
            logger.debug('completion watcher on %s said %r', self._name, line[:200])
            return None
        if event == 'hello':
            self.remote_pid = message.get('pid')
        elif event in ('started', 'ended') and isinstance(message.get('job'), str):
            try:
                self._on_event(event, message['job'])
            except Exception:
                logger.exception('completion watcher: handling %s failed', message)
        # the caller only looks for 'hello': an event that is no string is none
        return event if isinstance(event, str) else None

    @staticmethod
    def _send(channel: WatchChannel, message: Message) -> None:
        channel.sendall((json.dumps(message, separators=(',', ':')) + '\n').encode())

    def _drain_wake(self) -> None:
        os.set_blocking(self._wake_r, False)
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
