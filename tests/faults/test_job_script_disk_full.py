"""The job script's writes on a full disk, without a scheduler around it.

The claim's and the exit code's writes run first with their errors thrown
away and, only when they fail, once more to capture the message, which
decides `disk_full` (no subshell when all goes well:
tests/unit/test_job_script_forks.py). On a small tmpfs (root only; see
conftest.py) a failed write must still say why once, mark the full disk and
leave no private file; a failed claim must not start the runner.
"""

import os
import subprocess

from cerise_actors.resource.filesystem import LocalFileSystem
from cerise_actors.resource.job_script import job_script
from cerise_actors.resource.layout import JobPaths, ResourceLayout
from cerise_actors.resource.scheduler import SubmitRequest

from .conftest import fill

# the runner: marks that it ran ($1 is the workflow, in the job's folder)
RAN = 'touch "$(dirname "$1")/ran"'


def _job(base, then: str = ':') -> JobPaths:
    paths = ResourceLayout(str(base)).job('full')
    LocalFileSystem().mkdir(paths.work)
    req = SubmitRequest('full', paths, ['bash', '-c', f'{RAN}; {then}', 'runner'])
    with open(paths.script, 'w') as f:
        f.write(job_script(req))
    return paths


def _run(paths: JobPaths):
    return subprocess.run(
        ['bash', paths.script], capture_output=True, text=True, timeout=60, cwd=paths.dir
    )


def _said(result):
    return [line for line in result.stderr.splitlines() if line.startswith('cerise:')]


def test_a_claim_on_a_full_disk_says_so_and_runs_nothing(small_tmpfs):
    base = small_tmpfs(1024)
    paths = _job(base)
    fill(base)
    result = _run(paths)
    assert result.returncode == 1
    said = _said(result)
    assert len(said) == 1 and said[0].startswith('cerise: cannot claim the job: '), said
    assert 'No space left' in said[0]
    left = os.listdir(paths.dir)
    assert 'disk_full' in left
    assert not {'ran', 'claim', 'exit_code'} & set(left), left
    assert not [n for n in left if n.startswith(('claim.', 'exit_code.'))], left


def test_an_exit_code_that_finds_no_reserve_on_a_full_disk_marks_it(small_tmpfs):
    """The runner removes the reserved exit-code file (its parent is the
    script: `exit_code.$PPID`) and fills the disk."""
    then = (
        'd=$(dirname "$1"); rm "$d/exit_code.$PPID" || exit 99; '
        'head -c 64M /dev/zero >"$d/fill"; exit 3'
    )
    paths = _job(small_tmpfs(1024), then)
    result = _run(paths)
    said = _said(result)
    assert len(said) == 1, result.stderr
    assert said[0].startswith('cerise: cannot record exit code 3: '), said
    assert 'No space left' in said[0]
    left = os.listdir(paths.dir)
    assert {'ran', 'claim', 'disk_full'} <= set(left), left
    assert 'exit_code' not in left
