"""The bash script that runs one job, the same on every scheduler.

It runs the CWL runner in the job's work directory with every path
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
"""

import shlex
from typing import Optional

from ..defaults import WATCHDOG_GRACE
from .layout import JobPaths

#: exit code of a job stopped at its time limit (as coreutils `timeout`)
TIMEOUT_EXIT_CODE = 124

#: how the direct scheduler's script names itself: PID:STARTTIME of its own
#: process (the job's process-group leader), as the submitter computes it
DIRECT_CLAIM_ID = 'read -r s </proc/$$/stat; f=(${s##*) }); me="$$:${f[19]}"'

#: below this many KiB free, a failed runner is taken to have met a full disk
DISK_FULL_KIB = 1024

_NO_SPACE = "*'No space left'*|*'quota exceeded'*|*'Disk quota'*"


def claim_lines(p: JobPaths, claim_id: str) -> list:
    """Claim the job atomically and reserve the exit-code file, or leave."""
    q = shlex.quote
    mine = f'{q(p.claim)}.$$'
    return [
        '# claim the job: a copy of this script that finds a claim leaves at once',
        claim_id,
        f'reserve={q(p.exit_code)}.$$',
        f'if ! err=$(LC_ALL=C; {{ printf \'%s\\n\' "$me" >{mine} && '
        'printf \'%3s\\n\' "" >"$reserve"; } 2>&1); then',
        f'  rm -f {mine} "$reserve"',
        f'  case "$err" in {_NO_SPACE}) : >>{q(p.disk_full)};; esac',
        '  echo "cerise: cannot claim the job: $err" >&2',
        '  exit 1',
        'fi',
        f'if ! ln {mine} {q(p.claim)} 2>/dev/null; then',
        f'  rm -f {mine} "$reserve"',
        '  echo "cerise: this job was claimed by $(cat ' + q(p.claim) + ')" >&2',
        '  exit 0',
        'fi',
        f'rm -f {mine}',
    ]


def record_exit_lines(p: JobPaths) -> list:
    """Write the exit code over the reserved bytes, then rename it into place."""
    q = shlex.quote
    return [
        # `3<>` opens without truncating (`1<>` is ignored inside $() by bash 5.2)
        f'if ! err=$(LC_ALL=C; {{ {{ printf \'%3d\\n\' "$code" >&3; }} 3<>"$reserve" && '
        f'mv "$reserve" {q(p.exit_code)}; }} 2>&1); then',
        f'  case "$err" in {_NO_SPACE}) : >>{q(p.disk_full)};; esac',
        '  echo "cerise: cannot record exit code $code: $err" >&2',
        'elif [ "$code" != 0 ]; then',
        f"  free=$(df -Pk {q(p.dir)} 2>/dev/null | awk 'NR == 2 {{print $4}}')",
        f'  [ -n "$free" ] && [ "$free" -lt {DISK_FULL_KIB} ] && : >>{q(p.disk_full)}',
        'fi',
    ]


def job_script(
    req,
    header: str = '',
    time_limit_margin: Optional[int] = None,
    claim_id: str = DIRECT_CLAIM_ID,
) -> str:
    """The bash script that runs one job; `header` holds scheduler directives.

    `claim_id` is bash that sets `me` to the id the service knows this run
    by (see the module docstring).

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
        *claim_lines(p, claim_id),
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
    lines += record_exit_lines(p)
    return '\n'.join(line for line in lines if line) + '\n'


def valid_direct_id(remote_id: str) -> bool:
    """Whether `remote_id` has the direct scheduler's form PID:STARTTIME."""
    pid, _, start = remote_id.partition(':')
    return pid.isdigit() and start.isdigit()
