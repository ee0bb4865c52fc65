"""Schedulers: build a job script, submit it, poll all jobs at once, cancel.

The base class writes the job script shared by every scheduler: it runs the
CWL runner in the job's work directory with every path shell-quoted and
writes the runner's exit code to a file itself, so the service judges
completion by that file rather than by process tables (an exited process can
linger as a zombie for seconds). Subclasses only say how to submit, how to
ask about many jobs in one command, and how to cancel.
"""

import abc
import dataclasses
import enum
import shlex
from typing import Dict, List, Optional, Sequence

from ..defaults import CANCEL_GRACE, SHELL_TIMEOUT, WATCHDOG_GRACE
from ..errors import PermanentResourceError, TemporaryResourceError
from .layout import JobPaths
from .shell import Shell

#: exit code of a job stopped at its time limit (as coreutils `timeout`)
TIMEOUT_EXIT_CODE = 124


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
    """A job's RemoteState, and its exit code once DONE."""

    state: RemoteState
    exit_code: Optional[int] = None


def job_script(
    req: SubmitRequest, header: str = '', time_limit_margin: Optional[int] = None
) -> str:
    """The bash script that runs one job; `header` holds scheduler directives.

    With `time_limit_margin`, a watchdog in the job's own process group stops
    the runner that many seconds before the time limit and the exit code
    becomes TIMEOUT_EXIT_CODE, so a job that ran out of time ends
    PermanentFailure on every resource. Under a batch scheduler the margin
    lets the script finish before the scheduler's own wall-time kill, which
    would leave no exit code. coreutils `timeout` is not used: it moves
    itself to a process group of its own, out of reach of a cancel.
    """
    q = shlex.quote
    p = req.paths
    runner = ' '.join(q(arg) for arg in req.runner)
    timed_out = q(p.dir + '/timed_out')
    lines = [
        '#!/bin/bash',
        header.rstrip('\n'),
        f'# cerise-actors job {req.job_id}',
        f'cd {q(p.work)} || exit 1',
        f'{runner} {q(p.workflow)} {q(p.input)} >{q(p.stdout)} 2>{q(p.stderr)} </dev/null &',
        'runner=$!',
    ]
    limit = 0
    if time_limit_margin is not None and req.time_limit > 0:
        limit = max(1, int(req.time_limit) - time_limit_margin)
    if limit:
        lines += [
            f'rm -f {timed_out}',
            f'( sleep {limit}; : >{timed_out}; kill -TERM "$runner"; sleep {WATCHDOG_GRACE}; '
            'kill -KILL "$runner" ) </dev/null >/dev/null 2>&1 &',
            'watchdog=$!',
        ]
    lines += ['wait "$runner"', 'code=$?']
    if limit:
        lines += [
            'kill -KILL "$watchdog" 2>/dev/null',
            f'[ -e {timed_out} ] && code={TIMEOUT_EXIT_CODE}',
            "# stop what the runner or the watchdog left in this job's process group",
            "for p in $(ps -e -o pid=,pgid= | awk -v g=$$ '$2 == g {print $1}'); do",
            '  [ "$p" != $$ ] && kill -KILL "$p" 2>/dev/null',
            'done',
        ]
    lines.append(
        f'echo "$code" >{q(p.exit_code + ".tmp")} && mv {q(p.exit_code + ".tmp")} {q(p.exit_code)}'
    )
    return '\n'.join(line for line in lines if line) + '\n'


class Scheduler(abc.ABC):
    """Starts, follows and stops jobs on a resource through a Shell."""

    #: whether a remote id names a process of this machine that can be waited on
    ids_are_pids = False

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

    def script(self, req: SubmitRequest) -> str:
        return job_script(
            req, self.script_header(req), time_limit_margin=self.time_limit_margin(req.time_limit)
        )


_PROC_START = "sed 's/.*) //' /proc/{pid}/stat 2>/dev/null"
# Job ids are PID:STARTTIME of the process-group leader. A job runs while
# its leader (if the PID was not reused) or any other member of its process
# group is alive and not a zombie; the kernel never reuses a PID that is still
# a group id, so members outliving the leader are ours.
# Only bash builtins run per job (read, parameter expansion), so a poll of a
# thousand jobs costs one `ps`, not thousands of processes.
_DIRECT_POLL_FUNC = r"""
live=" $(ps -e -o pgid=,stat= | awk '$2 !~ /^Z/ {print $1}' | sort -u | tr '\n' ' ') "
done_line() { local code; read -r code <"$2/exit_code"; echo "$1 done $code"; }
check() {
  local id=$1 pid=$2 want=$3 dir=$4 stat fields
  if [ -f "$dir/exit_code" ]; then done_line "$id" "$dir"; return; fi
  if read -r stat <"/proc/$pid/stat" 2>/dev/null; then
    read -r -a fields <<<"${stat##*) }"
    if [ "${fields[19]}" != "$want" ]; then echo "$id gone"; return; fi
  fi
  case "$live" in *" $pid "*) echo "$id running"; return;; esac
  if [ -f "$dir/exit_code" ]; then done_line "$id" "$dir"; return; fi
  echo "$id gone"
}
"""

_DIRECT_CANCEL = r"""
pid={pid}; want={start}; grace={grace}
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


class DirectScheduler(Scheduler):
    """No batch system: the job script runs as a detached process group.

    The remote id is `PID:STARTTIME` (start time from /proc, in clock ticks)
    so a reused PID is never mistaken for our job. Submission is guarded by
    the `jobid` file: submitting a job that was already started returns the
    existing id instead of starting a second copy.
    """

    ids_are_pids = True  # PID:STARTTIME

    def time_limit_margin(self, time_limit: int) -> int:
        return 0  # nobody else enforces the limit: run up to it

    def submit(self, req: SubmitRequest) -> str:
        q = shlex.quote
        p = req.paths
        command = (
            f'cd {q(p.dir)} || exit 3\n'
            f'if [ -s {q(p.jobid)} ]; then cat {q(p.jobid)}; exit 0; fi\n'
            f'setsid nohup bash {q(p.script)} </dev/null >/dev/null 2>&1 &\n'
            'pid=$!\n'
            f's=$({_PROC_START.format(pid="$pid")})\n'
            'start=$(echo "$s" | cut -d" " -f20)\n'
            f'echo "$pid:$start" >{q(p.jobid + ".tmp")} && mv {q(p.jobid + ".tmp")} {q(p.jobid)}\n'
            f'cat {q(p.jobid)}\n'
        )
        result = self._run(command)
        remote_id = result.stdout.strip()
        if result.exit_code != 0 or not _valid_direct_id(remote_id):
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
        result = self._run(_DIRECT_CANCEL.format(pid=pid, start=start, grace=CANCEL_GRACE))
        if result.exit_code != 0:
            raise TemporaryResourceError(
                f'could not stop process group {pid}: {result.stdout.strip()} '
                f'{result.stderr.strip()}'.strip()
            )


def _valid_direct_id(remote_id: str) -> bool:
    pid, _, start = remote_id.partition(':')
    return pid.isdigit() and start.isdigit()


def _split_direct_id(remote_id: str):
    if not _valid_direct_id(remote_id):
        raise PermanentResourceError(f'not a process id: {remote_id!r}')
    pid, _, start = remote_id.partition(':')
    return int(pid), int(start)


def _parse_poll_output(stdout: str, expected: set) -> Dict[str, RemoteStatus]:
    """Strictly parse `ID running|gone|done CODE` lines; anything odd is an error."""
    statuses: Dict[str, RemoteStatus] = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] in ('running', 'gone', 'waiting'):
            statuses[parts[0]] = RemoteStatus(RemoteState(parts[1]))
        elif len(parts) == 3 and parts[1] == 'done' and parts[2].lstrip('-').isdigit():
            statuses[parts[0]] = RemoteStatus(RemoteState.DONE, int(parts[2]))
        elif len(parts) == 2 and parts[1] == 'done':  # exit_code file still empty
            statuses[parts[0]] = RemoteStatus(RemoteState.RUNNING)
        else:
            raise TemporaryResourceError(f'unexpected status line {line!r}')
    missing = expected - set(statuses)
    if missing:
        raise TemporaryResourceError(f'no status for jobs {sorted(missing)}')
    return statuses
