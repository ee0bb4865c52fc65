"""shellcheck reads every script the schedulers render (resource/scripts/).

The bash the service runs on a resource is rendered from templates by
resource/shell_template.py; here every variant is rendered as the service
renders it (the job script of each scheduler with and without a time limit
and with scheduler options; each submit, poll of several jobs and cancel)
under a plain and an awkward base path, and shellcheck must find nothing.
One test renders a broken snippet to prove the check can fail.

Without shellcheck these tests are skipped with how to install it, except
under CI=true, where they fail (as tests/remote and the browser test do).
"""

import os
import shutil
import subprocess

import pytest

from cerise_actors.resource.gridengine import GridEngineScheduler
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.scheduler import (
    FAULT_SUBMIT_DELAY,
    DirectScheduler,
    PollRequest,
    SubmitRequest,
)
from cerise_actors.resource.shell import LocalShell, Shell
from cerise_actors.resource.shell_template import Raw, line_template
from cerise_actors.resource.slurm import SlurmScheduler
from cerise_actors.resource.torque import TorqueScheduler

INSTALL = 'install shellcheck with `apt-get install -y shellcheck` (as root)'
SCHEDULERS = {
    'direct': DirectScheduler,
    'slurm': SlurmScheduler,
    'torque': TorqueScheduler,
    'gridengine': GridEngineScheduler,
}
#: what the service's own values look like, and what hostile ones could
#: (base path, job id, runner argv)
PLAIN = ('/home/u/.cerise', '0f8fad5b-d9cb-469f-a165-70867728950e', ['cwltool', '--quiet'])
AWKWARD = ('/home/u/base dir \'q\' "dq" $HOME `id` ;&|* x', 'j 1\'$x"`y`', ['run ner', '--x=$y'])
# SC2016 says `$` in single quotes does not expand: that is what a quoted value
# holding `$` is for, so it is left out for the awkward values only
AWKWARD_EXCLUDE = 'SC2016'


@pytest.fixture(scope='module')
def shellcheck():
    found = shutil.which('shellcheck')
    if not found:
        message = f'the shell template check needs shellcheck: {INSTALL}'
        if os.environ.get('CI', '').lower() == 'true':
            pytest.fail(message)
        pytest.skip(message)
    return found


def findings(shellcheck: str, script: str, exclude: str = '') -> str:
    """shellcheck's complaints about `script` (bash), '' if none."""
    command = [shellcheck, '--norc', '--shell=bash', '--format=gcc', '--severity=style']
    if exclude:
        command.append(f'--exclude={exclude}')
    result = subprocess.run(
        [*command, '-'], input=script, capture_output=True, text=True, timeout=60
    )
    assert result.returncode in (0, 1), result.stderr  # 1: findings; else it did not run
    return result.stdout


class _Captured(Exception):
    """Stops an operation once its command was rendered."""


class CapturingShell(Shell):
    def __init__(self):
        self.commands = []

    def run(self, command, timeout=60.0, env=None, retry_safe=True):
        self.commands.append(command)
        raise _Captured()


def _rendered(kind, options, values, delay):
    """(name, script) of every command and job script of one scheduler."""
    base, job_id, runner = values
    layout = ResourceLayout(base)
    shell = CapturingShell()
    scheduler = SCHEDULERS[kind](shell, **options)
    for limit in (0, 3600):
        req = SubmitRequest(job_id, layout.job(job_id), runner, 20, limit)
        yield f'job script, time limit {limit}', scheduler.script(req)
    remote = '123:456' if kind == 'direct' else '77.server'
    jobs = [PollRequest(f'{job_id}{n}', remote, layout.job(f'{job_id}{n}')) for n in range(3)]
    operations = {
        'submit': lambda: scheduler.submit(SubmitRequest(job_id, layout.job(job_id), ['r'])),
        'poll': lambda: scheduler.poll(jobs),
        'cancel': lambda: scheduler.cancel(remote, layout.job(job_id)),
    }
    for name, operation in operations.items():
        if delay and name != 'submit':
            continue
        with pytest.raises(_Captured):
            operation()
        yield name, shell.commands[-1]


VARIANTS = [
    pytest.param(kind, options, values, delay, id=f'{kind}-{label}-{name}{"-delay" * delay}')
    for kind in SCHEDULERS
    for label, options in (
        ('bare', {}),
        ('options', {'queue_name': 'gpu q', 'slots_per_node': 4, 'scheduler_options': '-C Titan'}),
    )
    if not (kind == 'direct' and options)
    for name, values in (('plain', PLAIN), ('awkward', AWKWARD))
    for delay in (False, True)
]


@pytest.mark.parametrize('kind,options,values,delay', VARIANTS)
def test_shellcheck_finds_nothing_in_rendered_scripts(
    shellcheck, monkeypatch, kind, options, values, delay
):
    if delay:  # the test-only pause of the exactly-once tests changes the submit command
        monkeypatch.setenv(FAULT_SUBMIT_DELAY, '0.5')
    else:
        monkeypatch.delenv(FAULT_SUBMIT_DELAY, raising=False)
    exclude = AWKWARD_EXCLUDE if values is AWKWARD else ''
    rendered = list(_rendered(kind, options, values, delay))
    assert len(rendered) == (3 if delay else 5)
    complaints = {
        name: found for name, script in rendered if (found := findings(shellcheck, script, exclude))
    }
    assert not complaints, '\n'.join(f'{name}:\n{found}' for name, found in complaints.items())


def test_the_check_can_fail(shellcheck):
    """Snippets rendered with a bash fragment that is not quoted, and with an
    `if` left open: shellcheck must say so, through the same function."""
    unquoted = line_template('rm -- {{path}} {{files}}').render(path='/tmp/a b', files=Raw('$f'))
    assert 'SC2086' in findings(shellcheck, f'read -r f\n{unquoted}\n')
    left_open = line_template('if [ -f {{path}} ]; then rm -- {{path}}').render(path='/tmp/a b')
    assert 'error' in findings(shellcheck, left_open + '\n')
    # the awkward values' exclusion hides only SC2016
    assert 'SC2016' in findings(shellcheck, "echo '$HOME'\n")
    assert findings(shellcheck, "echo '$HOME'\n", AWKWARD_EXCLUDE) == ''


def test_the_cancel_passes_the_claim_as_one_word(tmp_path, monkeypatch):
    """shellcheck's finding in the batch cancel (SC2086): the claim's id was
    passed unquoted, so a claim holding a space or a `*` became several ids
    or a glob of the current folder. Real bash, a stand-in scancel."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'scancel').write_text(
        '#!/bin/bash\nprintf "%s\\n" "$#:$*" >>"$(dirname "$0")/args"\n'
    )
    (bin_dir / 'scancel').chmod(0o755)
    monkeypatch.setenv('PATH', f'{bin_dir}:{os.environ["PATH"]}')
    paths = ResourceLayout(str(tmp_path / 'base')).job('j')
    os.makedirs(paths.dir)
    with open(paths.claim, 'w') as claim:
        claim.write('102 *\n')
    SlurmScheduler(LocalShell()).cancel('101', paths)
    assert (bin_dir / 'args').read_text().splitlines() == ['1:101', '1:102 *']
