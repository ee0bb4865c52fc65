"""Where the runner's Python comes from on the resource (issue 22, item 1).

`compute-resource.jobs.prelude` and `.python` as the API config reads them,
the one rendering of "prelude, then Python" (run here with the real bash, so
the quoting is checked by the shell that will read it), the job script's
argv, and the installer's use of both and its error for a Python too old.
"""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from cerise_actors.config import ConfigError, api_config_from_dict
from cerise_actors.errors import ApiInstallError
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.shell import ShellResult
from cerise_actors.staging import runner_install as ri
from cerise_actors.staging.runner_command import choose_runner

from ..fakes import FakeShell, FaultyFileSystem


def jobs(**settings):
    return api_config_from_dict({'compute-resource': {'jobs': settings}}, env={}).jobs


def bash(text: str) -> subprocess.CompletedProcess:
    return subprocess.run(['bash', '-c', text], capture_output=True, text=True, timeout=30)


# -- the settings ------------------------------------------------------------


def test_by_default_there_is_no_prelude_and_the_python_is_python3():
    assert jobs().prelude == () and jobs().python == 'python3'
    assert jobs(prelude=None, python='').python == 'python3'  # unset, as everywhere


@pytest.mark.parametrize(
    'value,lines',
    [
        ('module load python/3.11', ('module load python/3.11',)),
        ('module purge\nmodule load python/3.11\n', ('module purge', 'module load python/3.11')),
        (['source /etc/profile.d/modules.sh', 'module load python'], None),
        ([], ()),
    ],
)
def test_the_prelude_is_a_string_or_a_list_of_strings(value, lines):
    expected = tuple(value) if lines is None else lines
    assert jobs(prelude=value).prelude == expected


@pytest.mark.parametrize(
    'value,problem',
    [
        (3, 'expected shell lines: a string or a list of strings'),
        (['module load python', 3], 'expected shell lines'),
        ({'module': 'load'}, 'expected shell lines'),
        ('module load python\0', 'contains a NUL character'),
    ],
)
def test_a_prelude_that_no_shell_can_run_is_refused_with_its_key(value, problem):
    with pytest.raises(ConfigError, match=f'compute-resource.jobs.prelude: {problem}'):
        jobs(prelude=value)


def test_python_is_a_name_or_a_full_path():
    assert jobs(python='python3.11').python == 'python3.11'
    assert jobs(python=' /opt/python/3.11/bin/python3.11 ').python == (
        '/opt/python/3.11/bin/python3.11'
    )
    for bad in ('python3\nrm -rf ~', 'py\0', 3):
        with pytest.raises(ConfigError, match='compute-resource.jobs.python: '):
            jobs(python=bad)


def test_unknown_keys_beside_them_are_still_refused():
    with pytest.raises(ConfigError, match='pyhton'):
        jobs(pyhton='python3.11')


# -- the one rendering: run by bash here ----------------------------------------


def test_without_a_prelude_the_command_is_the_quoted_python_and_arguments():
    assert ri.resource_python_command((), 'python3', ['-c', 'print(1)']) == "python3 -c 'print(1)'"


def test_what_the_prelude_exports_holds_for_the_python_after_it(tmp_path):
    prelude = ["export GREETING='hello, world'", 'echo noise from the prelude']
    code = 'import os; print(os.environ["GREETING"])'
    result = bash(ri.resource_python_command(prelude, sys.executable, ['-c', code]))
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'hello, world\n'  # the prelude's own output went to stderr
    assert 'noise from the prelude' in result.stderr


def test_the_python_and_its_arguments_are_quoted(tmp_path):
    odd = tmp_path / "it's a $HOME; `here`"
    odd.mkdir()
    python = odd / 'python3'
    python.symlink_to(sys.executable)
    args = ['-c', 'import sys; print(sys.argv[1:])', "a 'b'", '$PATH', '"; exit 3']
    result = bash(ri.resource_python_command(['true'], str(python), args))
    assert result.returncode == 0, result.stderr
    assert result.stdout == str(["a 'b'", '$PATH', '"; exit 3']) + '\n'


def test_a_failing_prelude_stops_the_command_and_says_so():
    result = bash(ri.resource_python_command(['module load python/3.99'], 'python3', ['-V']))
    assert result.returncode == ri.PRELUDE_FAILED
    assert 'module: command not found' in result.stderr
    assert 'cerise: compute-resource.jobs.prelude failed (exit code 127)' in result.stderr
    assert result.stdout == ''


def test_the_job_script_argv_runs_the_prelude_then_becomes_the_runner(tmp_path):
    prelude = ['export PRELUDE_RAN=yes', 'echo to stderr, not into the output object']
    argv = [sys.executable, '-c', 'import os; print(os.getpid(), os.environ["PRELUDE_RAN"])']
    wrapped = ri.argv_after_prelude(prelude, argv + ['two words'])
    assert wrapped[:2] == ['bash', '-c'] and wrapped[-len(argv) - 1 :] == argv + ['two words']
    # as the job script runs it: every word quoted, in the background, then waited for
    line = ' '.join(shlex.quote(word) for word in wrapped)
    result = bash(f'{line} >{tmp_path}/out 2>{tmp_path}/err & pid=$!; wait $pid; echo $pid')
    pid, ran = (tmp_path / 'out').read_text().split()
    assert ran == 'yes' and pid == result.stdout.strip()  # exec: the runner kept the pid
    assert 'not into the output object' in (tmp_path / 'err').read_text()
    assert ri.argv_after_prelude((), argv) == argv


def test_the_prelude_comes_before_the_runner_on_the_resource_only():
    layout = ResourceLayout('/home/u/.cerise')
    paths = layout.job('j1')
    prelude = ('module load python/3.11',)
    deployed = choose_runner(None, local=False, prelude=prelude).argv(layout, paths)
    assert deployed[:4] == ['bash', '-c', deployed[2], 'cerise-prelude']
    assert 'module load python/3.11' in deployed[2]
    assert deployed[4] == ri.runner_python(layout)
    configured = choose_runner('cwltool --debug', local=False, prelude=prelude).argv(layout, paths)
    assert configured[:2] == ['bash', '-c'] and configured[4:] == ['cwltool', '--debug']
    own_local = choose_runner(None, local=True, prelude=prelude).argv(layout, paths)
    assert own_local[0] == sys.executable  # the service's own Python needs no prelude
    assert choose_runner(None, local=False).argv(layout, paths)[0] == ri.runner_python(layout)


# -- the installer ------------------------------------------------------------


def installer(tmp_path: Path, *answers, **settings):
    wheels = tmp_path / 'wheelhouse' / 'cp311-x86_64'
    wheels.mkdir(parents=True, exist_ok=True)
    for name in ('pip-24.0-py3-none-any.whl', 'cwltool-3.3-py3-none-any.whl'):
        (wheels / name).write_bytes(name.encode())
    shell = FakeShell(*answers)
    layout = ResourceLayout(str(tmp_path / 'resource'))
    made = ri.RunnerInstaller(FaultyFileSystem(), shell, layout, wheels.parent, **settings)
    return made, shell


def test_a_python_too_old_is_refused_naming_both_settings_with_an_example(tmp_path):
    runner, _ = installer(tmp_path, ShellResult(0, '3 9 18 x86_64\n', ''))
    with pytest.raises(ApiInstallError) as raised:
        runner.install()
    assert str(raised.value) == (
        'the compute resource has Python 3.9.18 as python3; the CWL runner needs Python '
        '3.10 or newer there: name one with compute-resource.jobs.prelude (e.g. '
        '`prelude: module load python/3.11`) or compute-resource.jobs.python (e.g. '
        '`python: /opt/python/3.11/bin/python3.11`)'
    )
    runner, _ = installer(
        tmp_path, ShellResult(0, '3 9 18 x86_64\n', ''), prelude=['module load python/3.9']
    )
    with pytest.raises(ApiInstallError, match='as python3 after compute-resource.jobs.prelude;'):
        runner.install()


def test_the_version_check_and_the_venv_run_the_prelude_and_the_python(tmp_path):
    answer = ShellResult(0, 'Loading python/3.11\n3 11 7 x86_64\n', '')  # the prelude printed
    python = '/sw/python 3.11/bin/python3.11'
    prelude = ['module load python/3.11']
    runner, shell = installer(tmp_path, answer, prelude=prelude, python=python)
    assert runner.install().startswith('installed the CWL runner: its Python 3.11 environment')
    probe, venv = shell.commands
    assert probe == ri.resource_python_command(prelude, python, ['-c', ri._PROBE])
    new = ri.runner_dir(runner._layout) + '/venv.new'
    assert ri.resource_python_command(prelude, python, ['-m', 'venv', '--without-pip', new]) in venv
    assert venv.index('module load python/3.11') < venv.index('venv/bin/python -c "import cwltool')


def test_another_python_remakes_the_venv_and_the_default_keeps_older_installs(tmp_path):
    runner, _ = installer(tmp_path, ShellResult(0, '3 11 7 x86_64\n', ''))
    runner.install()
    marker = runner.installed().splitlines()[0]
    assert marker.startswith('python 3.11 wheels ') and 'interpreter' not in marker
    answers = [ShellResult(0, '3 11 7 x86_64\n', '')] * 2
    again, _ = installer(tmp_path, *answers, python='/opt/python/3.11/bin/python3.11')
    again._fs = runner._fs  # the same resource
    assert again.needs_install()
    assert again.install() == 'installed the CWL runner: its Python 3.11 environment and its code'
    assert ' interpreter ' in again.installed().splitlines()[0]


def test_a_python_that_does_not_answer_is_named(tmp_path):
    failed = ShellResult(127, '', 'bash: /opt/py/bin/python3.11: No such file or directory\n')
    runner, _ = installer(tmp_path, failed, python='/opt/py/bin/python3.11')
    with pytest.raises(ApiInstallError, match='finding /opt/py/bin/python3.11 on the compute'):
        runner.install()


def test_the_probe_prints_version_and_machine_on_one_line():
    out = bash(ri.resource_python_command((), sys.executable, ['-c', ri._PROBE])).stdout
    assert out.split() == [*map(str, sys.version_info[:3]), os.uname().machine]
