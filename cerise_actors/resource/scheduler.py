"""Schedulers: build a job script, submit it, poll all jobs at once, cancel.

The base class writes the job script shared by every scheduler
(`job_script.py`): it claims its job before it runs anything and writes the
runner's exit code to a file itself, so the service judges completion by
that file rather than by process tables, and never runs a job twice.
Subclasses only say how to submit, how to ask about many jobs in one
command, and how to cancel.
"""

import abc
import dataclasses
import enum
import os
import shlex
from typing import Dict, List, Optional, Sequence

from ..defaults import CANCEL_GRACE, SHELL_TIMEOUT, WATCHDOG_GRACE
from ..errors import DiskFull, PermanentResourceError, TemporaryResourceError
from .job_script import DIRECT_CLAIM_ID, TIMEOUT_EXIT_CODE, job_script, valid_direct_id
from .layout import JobPaths
from .shell import Shell

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

    def _run(self, command: str):
        result = self._shell.run(command, timeout=self._timeout)
        return result

    def script_header(self, req: SubmitRequest) -> str:
        return ''

    #: bash that sets `me` to the id of the running job script (job_script.py)
    claim_id = DIRECT_CLAIM_ID

    def script(self, req: SubmitRequest) -> str:
        return job_script(
            req,
            self.script_header(req),
            time_limit_margin=self.time_limit_margin(req.time_limit),
            claim_id=self.claim_id,
        )


# Job ids are PID:STARTTIME of the process-group leader. A job runs while
# its leader (if the PID was not reused) or any other member of its process
# group is alive and not a zombie; the kernel never reuses a PID that is still
# a group id, so members outliving the leader are ours.
# Only bash builtins run per job (read, parameter expansion), so a poll of a
# thousand jobs costs one `ps`, not thousands of processes.
_DIRECT_POLL_FUNC = r"""
live=" $(ps -e -o pgid=,stat= | awk '$2 !~ /^Z/ {print $1}' | sort -u | tr '\n' ' ') "
done_line() { local code; read -r code <"$2/exit_code"; echo "$1 done $code$3"; }
check() {
  local id=$1 pid=$2 want=$3 dir=$4 stat fields c extra=
  [ -e "$dir/disk_full" ] && extra=" disk-full"
  if [ -f "$dir/exit_code" ]; then done_line "$id" "$dir" "$extra"; return; fi
  if read -r c <"$dir/claim" 2>/dev/null && [ "$c" != "$pid:$want" ]; then
    case "$c" in *[!0-9:]*|:*|*:|*:*:*) ;; *:*) pid=${c%%:*}; want=${c#*:}; extra+=" claim=$c";; esac
  fi
  if read -r stat <"/proc/$pid/stat" 2>/dev/null; then
    fields=(${stat##*) })
    if [ "${fields[19]}" != "$want" ]; then echo "$id gone$extra"; return; fi
  fi
  case "$live" in *" $pid "*) echo "$id running$extra"; return;; esac
  if [ -f "$dir/exit_code" ]; then done_line "$id" "$dir" "$extra"; return; fi
  echo "$id gone$extra"
}
"""

# The claim, if any, names the copy of the job script that runs the job.
_DIRECT_CANCEL = r"""
pid={pid}; want={start}; grace={grace}
read -r c <{claim} 2>/dev/null
case "$c" in *[!0-9:]*|:*|*:|*:*:*|"") ;; *:*) pid=${{c%%:*}}; want=${{c#*:}};; esac
s=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null)
start=$(echo "$s" | cut -d' ' -f20)
if [ -n "$s" ] && [ "$start" != "$want" ]; then echo reused; exit 0; fi
alive() {{ ps -e -o pgid=,stat= | awk -v g="$pid" '$1==g && $2 !~ /^Z/' | head -n 1; }}
[ -z "$(alive)" ] && {{ echo ended; exit 0; }}
kill -TERM -- "-$pid" 2>/dev/null
for i in $(seq $((grace * 10))); do [ -z "$(alive)" ] && {{ echo stopped; exit 0; }}; sleep 0.1; done
kill -KILL -- "-$pid" 2>/dev/null
for i in $(seq 50); do [ -z "$(alive)" ] && {{ echo killed; exit 0; }}; sleep 0.1; done
echo survived; exit 1
"""

#: seconds a submission waits for the job script it started to claim its job
CLAIM_WAIT = 10.0
_DISK_FULL, _UNCLAIMED = 4, 5  # exit codes of the direct submit command

# Start the script unless the job was claimed, then wait for the claim and
# print the claimant (the new script, or a copy started before a crash).
_DIRECT_SUBMIT = r"""
cd {dir} || exit 3
if [ -s claim ]; then cat claim; exit 0; fi
if [ -s jobid ]; then cat jobid; exit 0; fi  # started by a version without claims
rm -f disk_full
setsid nohup bash {script} </dev/null >/dev/null 2>&1 &
pid=$!
s=$(sed 's/.*) //' /proc/$pid/stat 2>/dev/null)
start=$(echo "$s" | cut -d" " -f20)
{delay}
alive() {{ local s; read -r s </proc/$pid/stat 2>/dev/null || return 1; s=${{s##*) }}; [ "${{s%% *}}" != Z ]; }}
for i in $(seq {rounds}); do [ -s claim ] && break; alive || break; sleep 0.02; done
if [ -s claim ]; then id=$(cat claim)
elif [ -e disk_full ]; then exit {disk_full}
elif ! alive; then exit {unclaimed}
else id="$pid:$start"  # slow to start: it claims later, or its claimant is followed
fi
{{ echo "$id" >jobid.tmp && mv jobid.tmp jobid; }} 2>/dev/null
echo "$id"
"""


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
    """

    ids_are_pids = True  # PID:STARTTIME
    runs_at_once = True

    def time_limit_margin(self, time_limit: int) -> int:
        return 0  # nobody else enforces the limit: run up to it

    def submit(self, req: SubmitRequest) -> str:
        q = shlex.quote
        p = req.paths
        delay = fault_submit_delay()
        command = _DIRECT_SUBMIT.format(
            dir=q(p.dir),
            script=q(p.script),
            delay=f'sleep {delay}' if delay else '',
            rounds=int(CLAIM_WAIT / 0.02),
            disk_full=_DISK_FULL,
            unclaimed=_UNCLAIMED,
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
        q = shlex.quote
        lines = [_DIRECT_POLL_FUNC]
        for job in jobs:
            pid, start = _split_direct_id(job.remote_id)
            lines.append(f'check {q(job.job_id)} {pid} {start} {q(job.paths.dir)}')
        result = self._run('\n'.join(lines))
        if result.exit_code != 0:
            raise TemporaryResourceError(
                f'status command failed (exit code {result.exit_code}): {result.stderr.strip()}'
            )
        return _parse_poll_output(result.stdout, {job.job_id for job in jobs})

    def cancel(self, remote_id: str, paths: JobPaths) -> None:
        pid, start = _split_direct_id(remote_id)
        result = self._run(
            _DIRECT_CANCEL.format(
                pid=pid, start=start, grace=CANCEL_GRACE, claim=shlex.quote(paths.claim)
            )
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


def _split_direct_id(remote_id: str):
    if not valid_direct_id(remote_id):
        raise PermanentResourceError(f'not a process id: {remote_id!r}')
    pid, _, start = remote_id.partition(':')
    return int(pid), int(start)


def _parse_poll_output(stdout: str, expected: set) -> Dict[str, RemoteStatus]:
    """Strictly parse `ID running|gone|done [CODE] [claim=ID] [disk-full]`
    lines; anything odd is an error."""
    statuses: Dict[str, RemoteStatus] = {}
    for line in stdout.splitlines():
        statuses.update([_parse_poll_line(line)])
    missing = expected - set(statuses)
    if missing:
        raise TemporaryResourceError(f'no status for jobs {sorted(missing)}')
    return statuses


def _parse_poll_line(line: str):
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
