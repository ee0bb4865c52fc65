"""The direct scheduler on the service's own machine, without a shell per call.

Starting a job through bash costs a process before the job's own; asking
about jobs costs bash and `ps` every round. On the local machine both can be
done from Python: the job script is started as a child of the service in a
session of its own, and a job the service started is known to run while its
child has not exited. The remote ids (`PID:STARTTIME`), the claim and the
job script are those of DirectScheduler, so a job started before a
restart (no longer our child) is followed by DirectScheduler's shell check,
and so is the rare job whose script ended without an exit code (killed) while
other members of its process group may still run. Cancelling uses the shell.

Being the parent also means reaping: every child that has exited is waited
for at the next poll, so none lingers as a zombie.
"""

import errno
import os
import signal
import subprocess
import threading
import time
from typing import Dict, List, Optional, Tuple

from ..defaults import SHELL_TIMEOUT
from ..errors import PermanentResourceError, TemporaryResourceError
from .scheduler import (
    DirectScheduler,
    PollRequest,
    RemoteState,
    RemoteStatus,
    SubmitRequest,
    fault_submit_delay,
)
from .shell import Shell, scrubbed_environment


def proc_start_time(pid: int) -> Optional[str]:
    """Start time of process `pid` in clock ticks (field 22 of /proc/PID/stat)."""
    try:
        with open(f'/proc/{pid}/stat') as stat:
            return stat.read().rsplit(')', 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def read_exit_code(path: str) -> Optional[int]:
    """The code in an exit-code file, or None while it is missing or empty."""
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    try:
        return int(text)
    except ValueError:
        return None


class LocalScheduler(DirectScheduler):
    """DirectScheduler for the local resource: submit and poll from Python."""

    def __init__(self, shell: Shell, command_timeout: float = SHELL_TIMEOUT):
        super().__init__(shell, command_timeout)
        self._children: Dict[int, Tuple[subprocess.Popen[bytes], str]] = {}  # pid: (child, start)
        #: job folder -> id of the script started there, while it is our child:
        #: a second submit before the script claims returns it (no `jobid` file)
        self._started: Dict[str, str] = {}
        self._folders: Dict[int, str] = {}  # pid: its job folder (a key of _started)
        self._lock = threading.Lock()  # the runner submits, the poller polls

    def submit(self, req: SubmitRequest) -> str:
        """DirectScheduler.submit from Python: the claim (or the `jobid` of
        an older version or of DirectScheduler) says the job was started;
        otherwise start the script and return its id at once.

        Unlike DirectScheduler over SSH, this does not wait for the script to
        claim the job: that wait, in the runner actor, held up every other
        start of a burst. A copy that loses the race to an older one (started
        before a restart) leaves without running, and the poll then reports
        the claimant, which the poller follows; a script that could not claim
        at all (a full disk) is reported by the poll as well.
        """
        p = req.paths
        started = self._still_starting(p.dir) or _read_text(p.claim) or _read_text(p.jobid)
        if started:  # already started (before a restart)
            return started
        _remove(p.disk_full)  # left by an attempt on a full disk; try again
        try:
            proc = subprocess.Popen(
                ['bash', p.script],
                cwd=p.dir,
                env=scrubbed_environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            error = TemporaryResourceError if exc.errno in _SHORTAGES else PermanentResourceError
            raise error(f'could not start the job script: {exc}') from exc
        # not reaped until we wait for it, so its /proc entry is still there
        start = proc_start_time(proc.pid)
        if start is None:
            _stop(proc)
            raise PermanentResourceError(f'cannot read /proc/{proc.pid}/stat of the job script')
        remote_id = f'{proc.pid}:{start}'
        # remembered here rather than in a `jobid` file beside the claim (the
        # claim is what counts; a file fewer per job is one creation fewer)
        with self._lock:
            self._children[proc.pid] = (proc, start)
            self._started[p.dir] = remote_id
            self._folders[proc.pid] = p.dir
        time.sleep(fault_submit_delay())
        return remote_id

    def _still_starting(self, folder: str) -> Optional[str]:
        """The id of the script started in `folder` while it runs, else None: one
        that has ended without a claim (a full disk) is started again."""
        with self._lock:
            started = self._started.get(folder)
            child = self._children.get(int(started.split(':')[0])) if started else None
            if child is not None and child[0].poll() is None:
                return started
            self._started.pop(folder, None)
            return None

    def poll(self, jobs: List[PollRequest]) -> Dict[str, RemoteStatus]:
        statuses: Dict[str, RemoteStatus] = {}
        unsure = []
        with self._lock:
            self._reap()
            for job in jobs:
                status = self._own_status(job)
                if status is None:
                    unsure.append(job)
                else:
                    statuses[job.job_id] = status
        if unsure:
            statuses.update(super().poll(unsure))
        return statuses

    def _own_status(self, job: PollRequest) -> Optional[RemoteStatus]:
        """What we know without a shell, or None if the shell must judge."""
        pid, _, start = job.remote_id.partition(':')
        child = self._children.get(int(pid)) if pid.isdigit() else None
        if child is not None and child[1] != start:
            child = None  # not the process that job started
        code = read_exit_code(job.paths.exit_code)
        if code is not None:
            if child is not None and child[0].returncode is None:
                _wait_briefly(child[0])  # its last act; reap it now, not at the next poll
            return _done(job, code)
        if child is None:
            return None
        proc = child[0]
        if proc.returncode is None:
            return RemoteStatus(RemoteState.RUNNING)
        code = read_exit_code(job.paths.exit_code)  # written just before it exited
        return None if code is None else _done(job, code)

    def close(self) -> None:
        """Jobs outlive the service. In a process that goes on after it (tests,
        scripts), a daemon thread waits for the scripts still running, so none
        stays a zombie of that process."""
        with self._lock:
            left = [proc for proc, _ in self._children.values() if proc.returncode is None]
            self._children.clear()
            self._started.clear()
            self._folders.clear()
        if left:
            threading.Thread(
                target=lambda: [proc.wait() for proc in left], name='cerise-reaper', daemon=True
            ).start()

    def _reap(self) -> None:
        """Wait for children that have exited; forget those reaped earlier."""
        for pid, (proc, _) in list(self._children.items()):
            if proc.returncode is not None:
                del self._children[pid]  # judged by an earlier poll
                folder = self._folders.pop(pid, '')
                if self._started.get(folder, '').startswith(f'{pid}:'):  # not a later copy's
                    del self._started[folder]
            else:
                proc.poll()


#: errors of fork/exec that say the machine is short of something for now
_SHORTAGES = {errno.EAGAIN, errno.ENOMEM, errno.EMFILE, errno.ENFILE}


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill a job script we could not record, and what it started (its group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    proc.wait()


def _wait_briefly(proc: subprocess.Popen[bytes]) -> None:
    """The job script writes its exit code as its last command; wait for it to
    exit (it will within milliseconds) so it is reaped rather than left a zombie
    until the next poll, which an idle service may not make for a long time."""
    try:
        proc.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
        pass  # reaped at a later poll


def _done(job: PollRequest, code: int) -> RemoteStatus:
    """DONE; the script marks a full disk only when the runner failed."""
    disk_full = code != 0 and os.path.exists(job.paths.disk_full)
    return RemoteStatus(RemoteState.DONE, code, disk_full=disk_full)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _read_text(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ''
