"""The service's side of the warm runner: start it, watch it, restart it, stop it.

The warm runner (cerise_actors/runner/warm_server.py) is a process with
cwltool and the CWL schemas loaded, from which each local job is forked; a
job script reaches it through a tiny client (runner/warm_client.py) that
falls back to the cold runner whenever the server cannot be reached. So the
server is an optimisation the service may lose at any moment, and this
class only has to keep one running:

- it is started as a child of the service in a session of its own, with the
  service's scrubbed environment (what job scripts get), a pipe as its stdin
  and its log appended to `warm-runner.log` beside its socket. It ends when
  that pipe closes: when the service stops, or dies, the server goes too,
  while the jobs it forked run on in their own sessions;
- its socket lives in a folder of its own, mode 0700, under the resource's
  files path, and the server serves only its own user (a path too long for
  a unix socket is reached relative to its folder, on both ends);
- a thread waits for it to end; if it ends while the service runs (a crash,
  a kill -9), it is started again after a pause that grows with repeated
  failures (1 s to 60 s). Meanwhile jobs start cold;
- a reinstalled specialisation needs nothing from here: jobs read the
  installed steps from disk, and the server validates them again when it
  sees the projects' version files change;
- it is started with `--idle-exit` (IDLE_EXIT): a server no job has used
  for that long leaves (saying `idle`), which is no failure: nothing is
  restarted then, and the next job (`wake`, called as each job starts,
  see `waking`) starts it again. That job runs cold, as every job does
  while a server loads, and an unused service keeps only its own memory.

This module imports nothing of the runner: it starts it by module name.
"""

import logging
import os
import stat
import subprocess
import sys
import threading
import time
from typing import Callable, Dict, List, Optional

from .remote_warm import RemoteWarmRunner
from .shell import scrubbed_environment

logger = logging.getLogger(__name__)

#: the server module, started with the service's Python
SERVER_MODULE = 'cerise_actors.runner.warm_server'
#: the client script a job script runs (by path, with python -I -S)
CLIENT_SCRIPT = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'runner', 'warm_client.py'
)
#: pauses before restarting a server that ended, growing with repeated failures
RESTART_PAUSES = (1.0, 2.0, 5.0, 15.0, 60.0)
#: a server that lived this long before it ended resets the pauses
STABLE_SECONDS = 60.0
#: seconds a stopped server gets to leave before it is killed
STOP_GRACE = 5.0
#: seconds without a job after which the server leaves, until the next job
IDLE_EXIT = 300.0


def private_folder(base: str) -> str:
    """`<base>/.warm-runner`, created mode 0700, and refused unless it is a real
    folder of this user with no access for others."""
    folder = os.path.join(base, '.warm-runner')
    os.makedirs(folder, mode=0o700, exist_ok=True)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise PermissionError(f'{folder} is not a folder of this user')
    os.chmod(folder, 0o700)
    return folder


class WarmRunner:
    """Keeps one warm runner process running for the service's lifetime."""

    def __init__(
        self,
        base: str,
        step_folders: List[str],
        python: str = sys.executable,
        entry: Optional[str] = None,
        idle_exit: float = IDLE_EXIT,
    ):
        """The socket goes in a private folder under `base` (the resource's files
        path); `entry` (module:function) replaces the runner, for tests; the
        server leaves after `idle_exit` seconds without a job (0: never)."""
        self.folder = folder = private_folder(base)
        self.socket_path = os.path.join(folder, 'runner.sock')
        self.log_path = os.path.join(folder, 'warm-runner.log')
        self._argv = [python, '-m', SERVER_MODULE, '--socket', self.socket_path]
        self._argv += ['--idle-exit', f'{idle_exit:g}']
        for steps in step_folders:
            self._argv += ['--steps', steps]
        if entry:
            self._argv += ['--entry', entry]
        self._lock = threading.Condition()
        self._proc: Optional[subprocess.Popen[bytes]] = None
        self._ready = False
        self._closed = False
        self._asleep = False  # the server left unused; the next job starts it
        self._failures = 0
        self.starts = 0  # servers started so far (tests and the benchmark read it)

    # --- what the service calls ---------------------------------------------
    def start(self) -> 'WarmRunner':
        with self._lock:
            self._spawn()
        return self

    def close(self) -> None:
        """Stop the server (its jobs run on); no restart after this."""
        with self._lock:
            self._closed = True
            proc, self._proc = self._proc, None
            self._lock.notify_all()
        if proc is not None:
            stop_child(proc)

    def wake(self) -> None:
        """Start the server again if it left unused (a job is starting); does
        nothing while it runs, or waits to be restarted after a failure."""
        with self._lock:
            if self._asleep and not self._closed:
                self._asleep = False
                self._spawn()

    @property
    def asleep(self) -> bool:
        """Whether the server left unused and waits for the next job."""
        with self._lock:
            return self._asleep

    def wait_ready(self, timeout: float) -> bool:
        """Whether a server is ready (its socket in place) within `timeout` s."""
        with self._lock:
            return self._lock.wait_for(lambda: self._ready or self._closed, timeout) and (
                self._ready
            )

    @property
    def pid(self) -> Optional[int]:
        with self._lock:
            return self._proc.pid if self._proc is not None and self._ready else None

    def memory(self) -> Dict[str, int]:
        """The server's resident and proportional set size in bytes ({} if not running)."""
        pid = self.pid
        if pid is None:
            return {}
        figures: Dict[str, int] = {}
        for name, key in (('status', 'VmRSS:'), ('smaps_rollup', 'Pss:')):
            try:
                with open(f'/proc/{pid}/{name}') as f:
                    for line in f:
                        if line.startswith(key):
                            figures[key.rstrip(':').lower()] = int(line.split()[1]) * 1024
            except OSError:
                pass
        return figures

    # --- the server process ---------------------------------------------------
    def _spawn(self) -> None:
        """Start a server (with the lock held) and a thread that follows it."""
        with open(self.log_path, 'ab') as log:
            proc = subprocess.Popen(
                self._argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=self.folder,
                env=scrubbed_environment(),
                start_new_session=True,
            )
        self._proc = proc
        self._ready = False
        self.starts += 1
        threading.Thread(
            target=self._follow, args=(proc,), name='cerise-warm-runner', daemon=True
        ).start()

    def _follow(self, proc: subprocess.Popen[bytes]) -> None:
        """Wait for `proc` to say it is ready, then to end; restart it if it
        ended while it was still the service's server, unless it left unused."""
        started = time.monotonic()
        idle = False
        stdout = proc.stdout
        if stdout is None:  # never: _spawn gives it a pipe
            raise ValueError('the warm runner was started without a pipe for its stdout')
        for line in stdout:
            if line.strip() == b'ready':
                with self._lock:
                    if self._proc is proc:
                        self._ready = True
                        self._lock.notify_all()
            elif line.strip() == b'idle':
                idle = True
                break
        code = proc.wait()  # not the pipe's end: jobs' supervisors do not hold it, but
        stdout.close()  # whether it ended is the process's to say
        lived = time.monotonic() - started
        with self._lock:
            if self._proc is not proc or self._closed:
                return
            self._ready = False
            if idle and code == 0:
                self._proc, self._asleep, self._failures = None, True, 0
                logger.info('the warm runner left unused; the next job starts it again')
                return
            self._failures = 1 if lived > STABLE_SECONDS else self._failures + 1
            pause = RESTART_PAUSES[min(self._failures, len(RESTART_PAUSES)) - 1]
            logger.warning(
                'the warm runner (pid %s) ended with exit code %s; jobs start cold until it '
                'is started again in %g s (its log: %s)',
                proc.pid,
                code,
                pause,
                self.log_path,
            )
            if self._lock.wait_for(lambda: self._closed or self._proc is not proc, pause):
                return
            self._spawn()


def waking(warm: object, job_argv: Callable[..., List[str]]) -> Callable[..., List[str]]:
    """`job_argv(paths, cores)`, the runner's command line of a job that is
    starting, first waking `warm` if it is a warm runner (here, or kept on an
    SSH resource) that left unused."""
    if not isinstance(warm, (WarmRunner, RemoteWarmRunner)):
        return job_argv

    def argv(*args: object) -> List[str]:
        warm.wake()
        return job_argv(*args)

    return argv


def stop_child(proc: subprocess.Popen[bytes], grace: float = STOP_GRACE) -> None:
    """Close the stdin of a child that leaves when it closes (the warm server,
    the workflow check's worker), and kill it if it has not left after `grace`."""
    if proc.stdin is None:  # never: both are started with a pipe for it
        raise ValueError('stop_child needs a child started with stdin=PIPE')
    try:
        proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
