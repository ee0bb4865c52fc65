"""The bash script that runs one job, the same on every scheduler.

The script is the template scripts/job.sh, filled in here (shell_template
quotes every value). It runs the CWL runner in the job's work directory with every path
shell-quoted and writes the runner's exit code to a file itself, so the
service judges completion by that file rather than by process tables (an
exited process can linger as a zombie for seconds).

Exactly once. Before it starts anything the script claims its job: it
writes its own id (the direct scheduler's `PID:STARTTIME`, or the batch
system's job id) to a private file and hard-links that to `claim`. The link
is atomic and fails if `claim` exists, and `claim` is complete the moment it
appears, so of two copies of the script (a service killed between starting
one and recording its id, then starting another after a restart) exactly
one runs the runner; the other leaves at once without an exit code. The
service treats `claim` as the truth about which copy runs the job:
submission returns the claimant, polls and cancels follow it.

Disk full. At claim time the script also reserves the exit-code file:
`exit_code.<pid>` is written with 4 bytes, and at the end the code is
written over those same bytes (`<>`, no truncation) and renamed, so
recording the exit code needs no new block when the disk has filled up
meanwhile. Whenever a write fails for lack of space (or quota), or the
runner failed while the file system is (nearly) full, the script creates an
empty `disk_full` file, which needs no data block, and the service names
the full disk in the job's log instead of guessing.

Few processes. The script runs once per job, so each process it makes is
paid per job (issue 21: a fork and exec cost about a millisecond of CPU).
When all goes well it makes only `ln` (the claim), `rm` (the claim's
private copy), the runner and `mv` (the exit code's rename): bash has no
builtin to link, unlink or rename. Both writes run first with their errors
thrown away; only if one fails is it run once more in a `$(...)`
subshell, which captures the message that decides `disk_full` and is
printed. A write that fails and then succeeds on that second try (space
freed meanwhile) counts as done.
"""

import re
from typing import Optional, Protocol, Sequence

from ..defaults import WATCHDOG_GRACE
from .layout import JobPaths
from .shell_template import Raw, TemplateError, script_template

#: exit code of a job stopped at its time limit (as coreutils `timeout`)
TIMEOUT_EXIT_CODE = 124

#: below this many KiB free, a failed runner is taken to have met a full disk
DISK_FULL_KIB = 1024

_JOB = script_template('job.sh')
_VARIABLE = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')


class ScriptRequest(Protocol):
    """What the job script needs of a submission (scheduler.SubmitRequest)."""

    @property
    def job_id(self) -> str: ...
    @property
    def paths(self) -> JobPaths: ...
    @property
    def runner(self) -> Sequence[str]: ...
    @property
    def time_limit(self) -> int: ...


def batch_id(id_variables: Sequence[str]) -> Raw:
    """bash for the first of `id_variables` that is set, else the script's PID."""
    value = '$$'
    for variable in reversed(id_variables):
        if not _VARIABLE.fullmatch(variable):
            raise TemplateError(f'not a variable name: {variable!r}')
        value = f'${{{variable}:-{value}}}'
    return Raw(value)


def job_script(
    req: ScriptRequest,
    header: Raw = Raw(''),
    time_limit_margin: Optional[int] = None,
    id_variables: Sequence[str] = (),
) -> str:
    """The bash script that runs one job (scripts/job.sh); `header` holds
    scheduler directives.

    The script claims its job with the id the service knows this run by:
    the first of `id_variables` (a batch system's job id) that is set, host
    part cut off, or without them `PID:STARTTIME`, as the direct scheduler
    computes it (see the module docstring).

    With `time_limit_margin`, a watchdog in the job's own process group stops
    the runner that many seconds before the time limit and the exit code
    becomes TIMEOUT_EXIT_CODE, so a job that ran out of time ends
    PermanentFailure on every resource. Under a batch scheduler the margin
    lets the script finish before the scheduler's own wall-time kill, which
    would leave no exit code. coreutils `timeout` is not used: it moves
    itself to a process group of its own, out of reach of a cancel.
    """
    p = req.paths
    limit = 0
    if time_limit_margin is not None and req.time_limit > 0:
        limit = max(1, int(req.time_limit) - time_limit_margin)
    return _JOB.render(
        directives=Raw(header.text.rstrip('\n')),
        job_id=req.job_id,
        work=p.work,
        batch=bool(id_variables),
        batch_id=batch_id(id_variables),
        exit_code=p.exit_code,
        claim=p.claim,
        disk_full=p.disk_full,
        runner=tuple(req.runner),
        workflow=p.workflow,
        input=p.input,
        stdout=p.stdout,
        stderr=p.stderr,
        watchdog=bool(limit),
        timed_out=p.dir + '/timed_out',
        limit=limit,
        grace=WATCHDOG_GRACE,
        timeout_code=TIMEOUT_EXIT_CODE,
        dir=p.dir,
        disk_full_kib=DISK_FULL_KIB,
    )


def valid_direct_id(remote_id: str) -> bool:
    """Whether `remote_id` has the direct scheduler's form PID:STARTTIME."""
    pid, _, start = remote_id.partition(':')
    return pid.isdigit() and start.isdigit()
