"""Schedulers: build a job script, submit it, poll all jobs at once, cancel.

The base class writes the job script shared by every scheduler
(`job_script.py`): it claims its job before it runs anything and writes the
runner's exit code to a file itself, so the service judges completion by
that file rather than by process tables, and never runs a job twice.
Subclasses only say how to submit, how to ask about many jobs in one
command, and how to cancel. All that bash is in templates (scripts/*.sh),
filled in by shell_template, the one place values are quoted.
"""

import abc
import dataclasses
import enum
import os
from typing import Dict, List, Optional, Sequence, Set, Tuple

from ..defaults import CANCEL_GRACE, SHELL_TIMEOUT, WATCHDOG_GRACE
from ..errors import DiskFull, PermanentResourceError, TemporaryResourceError
from .job_script import TIMEOUT_EXIT_CODE, job_script, valid_direct_id
from .layout import JobPaths
from .shell import Shell, ShellResult
from .shell_template import Raw, line_template, script_template

__all__ = ['TIMEOUT_EXIT_CODE', 'job_script']  # their home is job_script.py

#: TEST ONLY: seconds to sleep between starting a job script and recording its
#: id, which widens the window a `kill -9` of the service must hit to test
#: that a job still runs exactly once (tests/faults/test_exactly_once.py)
FAULT_SUBMIT_DELAY = 'CERISE_FAULT_SUBMIT_DELAY'


def fault_submit_delay() -> float:
    """The test-only delay of FAULT_SUBMIT_DELAY, read here only; 0 unless set."""
    try:
        return max(0.0, float(os.environ.get(FAULT_SUBMIT_DELAY, '0') or 0))
    except ValueError:
        return 0.0


@dataclasses.dataclass(frozen=True)
class SubmitRequest:
    job_id: str
    paths: JobPaths
    runner: Sequence[str]  # argv of the CWL runner, before workflow and input
    cores: int = 0
    time_limit: int = 0  # seconds; 0 = none


@dataclasses.dataclass(frozen=True)
class PollRequest:
    job_id: str
    remote_id: str
    paths: JobPaths


class RemoteState(str, enum.Enum):
    """What the resource says about a job. The values are the words of the
    direct scheduler's status lines."""

    WAITING = 'waiting'  # queued by a batch scheduler
    RUNNING = 'running'
    DONE = 'done'  # ended and left an exit code
    GONE = 'gone'  # ended without an exit code (killed, lost)


@dataclasses.dataclass(frozen=True)
class RemoteStatus:
    """A job's RemoteState, and its exit code once DONE.

    `claimant` is set when the job's `claim` names another copy of its
    script than the polled remote id (that copy lost the race and left; the
    state is the claimant's). `disk_full` says the job script found the
    resource's disk full (see job_script.py).
    """

    state: RemoteState
    exit_code: Optional[int] = None
    claimant: Optional[str] = None
    disk_full: bool = False


class Scheduler(abc.ABC):
    """Starts, follows and stops jobs on a resource through a Shell."""

    #: whether a remote id names a process of this machine that can be waited on
    ids_are_pids = False
    #: whether a submitted job runs at once (no queue), so it is Running when started
    runs_at_once = False

    def __init__(self, shell: Shell, command_timeout: float = SHELL_TIMEOUT):
        self._shell = shell
        self._timeout = command_timeout

    @abc.abstractmethod
    def submit(self, req: SubmitRequest) -> str:
        """Start the job (the script is already written); returns its remote id."""

    @abc.abstractmethod
    def poll(self, jobs: List[PollRequest]) -> Dict[str, RemoteStatus]:
        """Status of all `jobs` with one command; keyed by job id."""

    @abc.abstractmethod
    def cancel(self, remote_id: str, paths: JobPaths) -> None:
        """Stop the job if it still runs; not an error if it already ended."""

    def time_limit_margin(self, time_limit: int) -> int:
        """Seconds before the limit at which the job script stops the runner;
        batch schedulers kill at the wall time, so the script acts first."""
        return min(60, max(WATCHDOG_GRACE + 1, time_limit // 10))

    def _run(self, command: str) -> ShellResult:
        return self._shell.run(command, timeout=self._timeout)

    def script_header(self, req: SubmitRequest) -> Raw:
        """The scheduler's directive lines of the job script (none here)."""
        return Raw('')

    #: the environment variables that may hold the job's id in the job
    #: script, the first one set wins; none: the script's PID:STARTTIME
    #: (job_script.py)
    id_variables: Tuple[str, ...] = ()

    def script(self, req: SubmitRequest) -> str:
        return job_script(
            req,
            self.script_header(req),
            time_limit_margin=self.time_limit_margin(req.time_limit),
            id_variables=self.id_variables,
        )


#: seconds a submission waits for the job script it started to claim its job
CLAIM_WAIT = 10.0
_DISK_FULL, _UNCLAIMED = 4, 5  # exit codes of the direct submit command

_SUBMIT, _POLL, _CANCEL = (
    script_template('direct_submit.sh'),
    script_template('direct_poll.sh'),
    script_template('direct_cancel.sh'),
)
_CHECK = line_template('check {{job_id}} {{pid}} {{start}} {{dir}}')


class DirectScheduler(Scheduler):
    """No batch system: the job script runs as a detached process group.

    The remote id is `PID:STARTTIME` (start time from /proc, in clock ticks)
    so a reused PID is never mistaken for our job. Submission is guarded by
    the job script's `claim`: submitting a job that was claimed returns the
    claimant's id instead of starting a second copy. After starting a copy,
    the submission waits (up to CLAIM_WAIT) for a claim and returns the
    claimant: normally the copy it started; after a `kill -9` of the service
    between starting a copy and recording its id, possibly the older copy,
    in which case the new one leaves without running anything. Should the
    wait end first, the new copy's id is returned and polls and cancels
    follow whichever copy the claim names (RemoteStatus.claimant).

    The commands are scripts/direct_submit.sh, direct_poll.sh (one `check`
    line a job) and direct_cancel.sh.
    """

    ids_are_pids = True  # PID:STARTTIME
    runs_at_once = True

    def time_limit_margin(self, time_limit: int) -> int:
        return 0  # nobody else enforces the limit: run up to it

    def submit(self, req: SubmitRequest) -> str:
        delay = fault_submit_delay()
        command = _SUBMIT.render(
            dir=req.paths.dir,
            script=req.paths.script,
            delay=bool(delay),
            delay_seconds=str(delay),
            rounds=int(CLAIM_WAIT / 0.02),
            disk_full_code=_DISK_FULL,
            unclaimed_code=_UNCLAIMED,
        )
        result = self._run(command)
        remote_id = result.stdout.strip()
        if result.exit_code == _DISK_FULL:
            raise disk_full_error()
        if result.exit_code == _UNCLAIMED:
            raise PermanentResourceError(unclaimed_message())
        if result.exit_code != 0 or not valid_direct_id(remote_id):
            raise PermanentResourceError(
                f'could not start the job script (exit code {result.exit_code}): '
                f'{result.stderr.strip() or result.stdout.strip()}'
            )
        return remote_id

    def poll(self, jobs: List[PollRequest]) -> Dict[str, RemoteStatus]:
        if not jobs:
            return {}
        checks = []
        for job in jobs:
            pid, start = _split_direct_id(job.remote_id)
            checks.append(_CHECK.render(job_id=job.job_id, pid=pid, start=start, dir=job.paths.dir))
        result = self._run(_POLL.render(checks=Raw('\n'.join(checks))))
        if result.exit_code != 0:
            raise TemporaryResourceError(
                f'status command failed (exit code {result.exit_code}): {result.stderr.strip()}'
            )
        return _parse_poll_output(result.stdout, {job.job_id for job in jobs})

    def cancel(self, remote_id: str, paths: JobPaths) -> None:
        pid, start = _split_direct_id(remote_id)
        result = self._run(
            _CANCEL.render(pid=pid, start=start, grace=CANCEL_GRACE, claim=paths.claim)
        )
        if result.exit_code != 0:
            raise TemporaryResourceError(
                f'could not stop process group {pid}: {result.stdout.strip()} '
                f'{result.stderr.strip()}'.strip()
            )


def disk_full_error() -> DiskFull:
    """The job script could not claim its job for lack of space. The job ends
    TemporaryFailure (freeing space lets it run when submitted again) rather
    than being retried every round on a full disk."""
    return DiskFull("the compute resource's disk is full: the job script could not claim the job")


def unclaimed_message() -> str:
    return 'the job script ended before claiming the job (see run.sh on the resource)'


def _split_direct_id(remote_id: str) -> Tuple[int, int]:
    if not valid_direct_id(remote_id):
        raise PermanentResourceError(f'not a process id: {remote_id!r}')
    pid, _, start = remote_id.partition(':')
    return int(pid), int(start)


def _parse_poll_output(stdout: str, expected: Set[str]) -> Dict[str, RemoteStatus]:
    """Strictly parse `ID running|gone|done [CODE] [claim=ID] [disk-full]`
    lines; anything odd is an error."""
    statuses: Dict[str, RemoteStatus] = {}
    for line in stdout.splitlines():
        statuses.update([_parse_poll_line(line)])
    missing = expected - set(statuses)
    if missing:
        raise TemporaryResourceError(f'no status for jobs {sorted(missing)}')
    return statuses


def _parse_poll_line(line: str) -> Tuple[str, RemoteStatus]:
    parts = line.split()
    if len(parts) < 2 or parts[1] not in ('running', 'gone', 'waiting', 'done'):
        raise TemporaryResourceError(f'unexpected status line {line!r}')
    job_id, word, rest = parts[0], parts[1], parts[2:]
    code = None
    if word == 'done' and rest and rest[0].lstrip('-').isdigit():
        code = int(rest.pop(0))
    claimant, disk_full = None, False
    for flag in rest:
        if flag == 'disk-full':
            disk_full = True
        elif flag.startswith('claim=') and valid_direct_id(flag[6:]):
            claimant = flag[6:]
        else:
            raise TemporaryResourceError(f'unexpected status line {line!r}')
    if word == 'done' and code is None:  # exit_code file still empty
        word = 'running'
    return job_id, RemoteStatus(RemoteState(word), code, claimant, disk_full)
