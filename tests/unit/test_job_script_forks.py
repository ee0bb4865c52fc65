"""The job script makes few processes when all goes well (issue 21).

The script runs once per job, so every process it makes is paid per job:
a fork and an exec cost about a millisecond of CPU. When the job succeeds
it makes only `ln` (the claim), `rm` (the claim's private copy), the runner
and `mv` (the exit code), each a program: no `$(...)` subshell, which
before captured the message of writes that did not fail.

strace counts the processes. Without it the test is skipped with how to
install it, except under CI=true, where it fails (as
tests/unit/test_shell_templates.py does for shellcheck); where the machine
allows no ptrace (some containers), it is skipped, saying so.
"""

import os
import re
import shutil
import subprocess

import pytest

from cerise_actors.resource.filesystem import LocalFileSystem
from cerise_actors.resource.job_script import job_script
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.scheduler import SubmitRequest

INSTALL = 'install strace with `apt-get install -y strace` (as root)'
#: ln, rm, the runner, mv
MOST_PROCESSES = 4
_EXEC = re.compile(r'^execve\("([^"]*)".* = 0$')


def _unavailable(message: str):
    if os.environ.get('CI', '').lower() == 'true':
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope='module')
def strace():
    found = shutil.which('strace')
    if not found:
        _unavailable(f"counting the job script's processes needs strace: {INSTALL}")
    probe = subprocess.run([found, '-o', '/dev/null', 'true'], capture_output=True, text=True)
    if probe.returncode != 0:  # a container without ptrace: the machine's limit, not ours
        pytest.skip(f'strace cannot trace here: {probe.stderr.strip()}')
    return found


def _processes(strace, script, log_prefix, env):
    """{pid: the program it exec'd, or None for a copy of bash} of one run of
    `script`, the script's own bash left out."""
    result = subprocess.run(
        [strace, '-f', '-ff', '-qq', '-e', 'trace=execve', '-o', log_prefix, 'bash', script],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    folder, prefix = os.path.split(log_prefix)
    processes = {}
    for name in os.listdir(folder):
        if not name.startswith(prefix + '.'):
            continue
        with open(os.path.join(folder, name)) as log:
            programs = [m.group(1) for line in log if (m := _EXEC.match(line.strip()))]
        processes[int(name.rsplit('.', 1)[1])] = programs[-1] if programs else None
    (bash,) = [pid for pid, program in processes.items() if (program or '').endswith('/bash')]
    del processes[bash]  # the traced command
    return processes


@pytest.mark.parametrize('batch', [False, True], ids=['direct', 'batch'])
def test_a_successful_job_makes_no_subshell(strace, tmp_path, batch):
    true = shutil.which('true')
    assert true
    paths = ResourceLayout(str(tmp_path / 'base')).job('j')
    LocalFileSystem().mkdir(paths.work)
    req = SubmitRequest('j', paths, [true])
    script = job_script(req, id_variables=('SLURM_JOB_ID',) if batch else ())
    with open(paths.script, 'w') as f:
        f.write(script)
    logs = tmp_path / 'logs'
    logs.mkdir()

    env = {**os.environ, 'SLURM_JOB_ID': '77.server'} if batch else None
    processes = _processes(strace, paths.script, str(logs / 'trace'), env)

    assert open(paths.exit_code).read() == '  0\n'
    if batch:
        assert open(paths.claim).read() == '77\n'
    assert sorted(os.listdir(paths.dir)) == sorted(
        os.path.basename(p)
        for p in (
            paths.work,
            paths.script,
            paths.claim,
            paths.exit_code,
            paths.stdout,
            paths.stderr,
        )
    ), 'no private copies or reserves left'
    programs = sorted(os.path.basename(p or '(bash subshell)') for p in processes.values())
    assert None not in processes.values(), f'a subshell among {programs}'
    assert len(processes) <= MOST_PROCESSES, programs
