"""The job script's failed writes: said once, cleaned up, the runner not run.

The claim's and the exit code's writes run first with their errors thrown
away and, only when they fail, once more to capture the message (no
subshell when all goes well: test_job_script_forks.py). Here they fail for
a reason other than a full disk (tests/faults/test_job_script_disk_full.py
has that): a folder stands where the script writes a file. Real bash; a
folder named after the script's PID is made by a wrapper that then execs
the script, so the PID is the same.
"""

import os
import subprocess

import pytest

from cerise_actors.resource.filesystem import LocalFileSystem
from cerise_actors.resource.job_script import job_script
from cerise_actors.resource.layout import JobPaths, ResourceLayout
from cerise_actors.resource.scheduler import SubmitRequest

# the runner: marks that it ran ($1 is the workflow, in the job's folder)
RAN = 'touch "$(dirname "$1")/ran"'


def _job(tmp_path, then: str = ':') -> JobPaths:
    """A job whose runner marks that it ran, then runs the bash `then`."""
    paths = ResourceLayout(str(tmp_path / "base 'q'")).job('j')
    LocalFileSystem().mkdir(paths.work)
    req = SubmitRequest('j', paths, ['bash', '-c', f'{RAN}; {then}', 'runner'])
    with open(paths.script, 'w') as f:
        f.write(job_script(req))
    return paths


def _run(paths: JobPaths, folder_first: str = ''):
    """Run the script; with `folder_first` ('claim' or 'exit_code'), a
    folder `<that>.<pid>` stands in the way of its private file."""
    wrapper = 'cd "$1" && { [ -z "$2" ] || mkdir "$2.$$"; } && exec bash "$3"'
    return subprocess.run(
        ['bash', '-c', wrapper, 'wrapper', paths.dir, folder_first, paths.script],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _left(paths: JobPaths):
    return sorted(os.listdir(paths.dir))


@pytest.mark.parametrize('blocked', ['claim', 'exit_code'])
def test_a_failed_claim_write_says_why_once_and_runs_nothing(tmp_path, blocked):
    paths = _job(tmp_path)
    result = _run(paths, blocked)
    assert result.returncode == 1
    said = [line for line in result.stderr.splitlines() if line.startswith('cerise:')]
    assert len(said) == 1 and said[0].startswith('cerise: cannot claim the job: '), result.stderr
    assert 'Is a directory' in said[0]
    left = _left(paths)
    assert 'ran' not in left, 'the runner never runs after a failed claim'
    assert not {'claim', 'exit_code', 'disk_full'} & set(left), left
    # its private files are gone; only the folder in the way is left
    private = [n for n in left if n.startswith(('claim.', 'exit_code.'))]
    assert len(private) == 1 and private[0].startswith(f'{blocked}.'), left
    assert os.path.isdir(os.path.join(paths.dir, private[0]))


def test_a_failed_exit_code_write_says_why_and_marks_no_full_disk(tmp_path):
    """The runner puts a folder where the reserved exit-code file was
    (its parent is the script: `exit_code.$PPID`)."""
    then = 'd=$(dirname "$1"); rm "$d/exit_code.$PPID" && mkdir "$d/exit_code.$PPID"'
    paths = _job(tmp_path, then)
    result = _run(paths)
    said = [line for line in result.stderr.splitlines() if line.startswith('cerise:')]
    assert len(said) == 1, result.stderr
    assert said[0].startswith('cerise: cannot record exit code 0: '), said
    assert 'Is a directory' in said[0]
    left = _left(paths)
    assert 'ran' in left and 'claim' in left
    assert not {'exit_code', 'disk_full'} & set(left), left


def test_the_job_runs_when_nothing_is_in_the_way(tmp_path):
    """The stand-ins themselves: the same job, no folder in the way."""
    paths = _job(tmp_path)
    result = _run(paths)
    assert result.returncode == 0 and result.stderr == '', result.stderr
    assert open(paths.exit_code).read() == '  0\n'
    assert 'ran' in _left(paths)
