"""The warm runner on a resource reached over SSH with no scheduler: kept over one channel.

Why: on `scheduler: none` over SSH the jobs run on the machine the service
logs in to, and a cold runner spends most of a short job starting (Python,
cwltool's imports, the CWL schemas: about 0.5 s there). The local warm
runner's answer works there too: the deployed runner's own warm server
(cerise_runner.warm_server, the same code as runner/warm_server.py) is
started on the resource, and each job script hands its job to it through
the deployed warm client, which runs the cold runner whenever the server
cannot be reached. Nowhere else: under a batch scheduler the jobs run on
compute nodes, which a server on the login node cannot fork into.

This class keeps one such server running, beside the completion watcher
and as it is kept (resource/completion_watch.py), over one long-lived
session channel of the resource's existing SSH connection:

- the channel runs a bash script (staging/runner_command.py renders it)
  that makes the socket's folder private, says `pid N` and execs the
  server, whose stdin is then the channel: when the channel closes (the
  service stops or dies, sshd ends), the server leaves; the jobs it forked
  run on, supervised in sessions of their own. Its log goes to a file
  beside the socket, so no job's process holds the channel. A connection
  that dies silently (the service's machine gone, a network or NAT that
  drops it without a word) closes the channel only once sshd notices:
  through its ClientAliveInterval if set (paramiko answers those probes),
  else TCP keepalive (about two hours by Linux defaults), as the server
  sends nothing on the channel. The Transport's keepalive (ssh_connection)
  goes from here to sshd and is never waited for there, so it lets the
  service notice, not sshd. Until sshd does, an old server lingers beside
  the one started over the new connection, whose socket replaced its own:
  it serves no job, but holds its memory;
- the server prints `ready` once its socket is in place; until then, and
  whenever it is down, jobs start cold;
- a channel that ends (the server was killed, crashed, or the connection
  went) is opened again after a pause: 1 s, doubling up to MAX_BACKOFF,
  back to 1 s once a server had been ready for STABLE_SECONDS;
- the first channel waits for `runner_installed()`: the service calls it
  once the runner is installed at start-up, so a server never runs code or
  a Python environment that the installer is about to replace;
- the server is started with `--idle-exit` (staging/runner_command.py): one
  no job has used for five minutes prints `idle` and leaves, which is no
  failure: no channel is opened again until the next job starts (`wake`,
  called as each job's command line is made), and that job runs cold. An
  unused service holds no memory on the resource.

Nothing a job needs goes through this object: a lost server costs warm
starts, never a job (the claim and the exit-code file decide those).
"""

import logging
import os
import select
import threading
import time
from typing import Callable, List, Optional, Protocol, Tuple, Union

from .session_channel import SessionChannel

logger = logging.getLogger(__name__)

#: under the resource's files path, as the local warm runner's (resource/warm.py)
FOLDER_NAME = '.warm-runner'
SOCKET_NAME = 'runner.sock'
LOG_NAME = 'warm-runner.log'
#: what the server prints on stdout once its socket is in place (warm_server.READY)
READY = b'ready'
#: what it prints before it leaves unused (warm_server.IDLE)
IDLE = b'idle'
#: what the script prints before it execs the server (bash's $$, then the server's pid)
PID_PREFIX = b'pid '
#: the first pause before opening a channel again, and the longest
FIRST_PAUSE = 1.0
MAX_BACKOFF = 60.0
#: a server that was ready this long before it ended resets the pauses
STABLE_SECONDS = 60.0
#: seconds for the resource to answer the channel's exec request
EXEC_TIMEOUT = 30.0


class ServerChannel(SessionChannel, Protocol):
    """What `RemoteWarmRunner` needs of a channel: paramiko's session Channel
    has it all (tests pass fakes)."""

    def exit_status_ready(self) -> bool: ...

    def recv_exit_status(self) -> int: ...


class RemoteWarmRunner:
    """Keeps one warm server running on the resource for the service's lifetime.

    `open_channel()` returns a new paramiko session channel (or anything with
    its settimeout, exec_command, fileno, recv, recv_stderr_ready,
    recv_stderr, exit_status_ready, recv_exit_status and close); `command`
    is what it executes; `socket_path` and `log_path` are the server's on the
    resource (the job scripts' clients connect to the first).
    """

    def __init__(
        self,
        open_channel: Callable[[], ServerChannel],
        command: str,
        socket_path: str,
        log_path: str,
        name: str = 'the compute resource',
        max_backoff: float = MAX_BACKOFF,
        stable_seconds: float = STABLE_SECONDS,
    ):
        self._open_channel = open_channel
        self._command = command
        self.socket_path = socket_path
        self.log_path = log_path
        self._name = name
        self._max_backoff = max_backoff
        self._stable = stable_seconds
        self._lock = threading.Condition()
        self._ready = False
        self._remote_pid: Optional[int] = None
        self._closing = threading.Event()
        self._go = threading.Event()  # the runner is installed, or a pause is cut short
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._thread: Optional[threading.Thread] = None
        self._last_end = ''
        self._asleep = False  # the server left unused; the next job wakes it
        self.starts = 0  # servers that became ready so far (tests and the benchmark read it)

    # --- what the service calls ---------------------------------------------
    def start(self) -> 'RemoteWarmRunner':
        """Start the keeping thread; the first server starts at `runner_installed()`."""
        self._thread = threading.Thread(
            target=self._keep, name='cerise-remote-warm-runner', daemon=True
        )
        self._thread.start()
        return self

    def runner_installed(self) -> None:
        """The deployed runner is in place: start the server now if it is down."""
        self._go.set()

    def wake(self) -> None:
        """A job is starting: open a channel again if the server left unused
        (it runs cold; the next ones warm); nothing otherwise."""
        with self._lock:
            if self._asleep:
                self._asleep = False
                self._go.set()

    @property
    def asleep(self) -> bool:
        """Whether the server left unused and waits for the next job."""
        with self._lock:
            return self._asleep

    def close(self, timeout: float = 5.0) -> None:
        """Close the channel (the server leaves; its jobs run on); no restart after this."""
        self._closing.set()
        self._go.set()
        self._wake()
        with self._lock:
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._thread is None or not self._thread.is_alive():
            for fd in (self._wake_r, self._wake_w):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def wait_ready(self, timeout: float) -> bool:
        """Whether a server is ready (its socket in place) within `timeout` s."""
        with self._lock:
            self._lock.wait_for(lambda: self._ready or self._closing.is_set(), timeout)
            return self._ready

    @property
    def pid(self) -> Optional[int]:
        """The ready server's pid on the resource, else None."""
        with self._lock:
            return self._remote_pid if self._ready else None

    # --- the thread -----------------------------------------------------------
    def _keep(self) -> None:
        self._go.wait()
        pause = FIRST_PAUSE
        while not self._closing.is_set():
            channel: Optional[ServerChannel] = None
            lived, went_idle = 0.0, False
            try:
                channel = self._open_channel()
                channel.settimeout(EXEC_TIMEOUT)
                channel.exec_command(self._command)
                lived, went_idle = self._serve(channel)
            except Exception as exc:  # an SSH error of any kind: try again later
                self._ended(f'{type(exc).__name__}: {exc}')
            finally:
                with self._lock:
                    self._ready, self._remote_pid = False, None
                if channel is not None:
                    try:
                        channel.close()
                    except Exception:
                        pass
            if self._closing.is_set():
                return
            # it left unused (even if its channel then failed): wait for a job,
            # unless one woke it already; no failure, no back-off
            if went_idle or self.asleep:
                self._sleep()
                pause = FIRST_PAUSE
                continue
            if lived >= self._stable:
                pause = FIRST_PAUSE
            logger.info(
                'warm runner on %s: starting it again in %g s; jobs there start cold meanwhile',
                self._name,
                pause,
            )
            self._go.clear()
            self._go.wait(pause)
            pause = min(pause * 2, self._max_backoff)

    def _sleep(self) -> None:
        """After the server left unused, wait for `wake` (or `close`); at once
        if a job woke it between its `idle` line and its channel's end."""
        with self._lock:
            if not self._asleep:
                return
        logger.info('warm runner on %s left unused; the next job starts it again', self._name)
        self._go.wait()

    def _serve(self, channel: ServerChannel) -> Tuple[float, bool]:
        """Follow one server until its channel ends: seconds it was ready, and
        whether it said it leaves unused (its end is then no failure, even if
        a job's `wake` came before the channel closed)."""
        buffered, errors = b'', b''
        ready_at = None
        went_idle = False
        readable: List[Union[ServerChannel, int]] = [channel, self._wake_r]
        while not self._closing.is_set():
            ready, _, _ = select.select(readable, [], [], 1.0)
            if self._wake_r in ready:
                self._drain_wake()
            while channel.recv_stderr_ready():
                chunk = channel.recv_stderr(65536)
                if not chunk:
                    break
                errors = (errors + chunk)[-4000:]
            if channel not in ready:
                continue
            data = channel.recv(4096)
            if not data:
                if not went_idle:
                    self._ended(self._why(channel, errors))
                break
            *lines, buffered = (buffered + data).split(b'\n')
            for line in lines:
                line = line.strip()
                if line.startswith(PID_PREFIX) and line[len(PID_PREFIX) :].isdigit():
                    with self._lock:
                        self._remote_pid = int(line[len(PID_PREFIX) :])
                elif line == IDLE:  # wake() from now on opens a channel again
                    went_idle = True
                    with self._lock:
                        self._asleep = True
                        self._go.clear()
                elif line == READY and ready_at is None:
                    ready_at = time.monotonic()
                    with self._lock:
                        self._ready = True
                        self.starts += 1
                        self._lock.notify_all()
                    logger.info(
                        'warm runner on %s ready (pid %s; its log: %s)',
                        self._name,
                        self._remote_pid,
                        self.log_path,
                    )
        return (0.0 if ready_at is None else time.monotonic() - ready_at), went_idle

    def _why(self, channel: ServerChannel, errors: bytes) -> str:
        text = errors.decode(errors='replace').strip()
        status: Optional[int] = None
        try:
            if channel.exit_status_ready():
                status = channel.recv_exit_status()
        except Exception:
            pass
        why = f'exit status {status}' if status not in (None, -1) else 'its channel closed'
        return f'{why}: {text}' if text else why

    def _ended(self, why: str) -> None:
        """Log a server's end; the same reason again only at INFO (the back-off repeats it)."""
        if self._closing.is_set():
            return
        level = logging.INFO if why == self._last_end else logging.WARNING
        self._last_end = why
        logger.log(
            level,
            'warm runner on %s ended (%s); its log: %s on the resource',
            self._name,
            why,
            self.log_path,
        )

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b'.')
        except OSError:
            pass  # already woken, or closed

    def _drain_wake(self) -> None:
        os.set_blocking(self._wake_r, False)
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
