"""Deploying the service's CWL runner (RunnerInstaller) and building its wheelhouse,
as plain classes: the real local file system under tmp_path, a scripted shell."""

import subprocess
from pathlib import Path

import pytest

from cerise_actors.errors import ApiInstallError
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.shell import ShellResult
from cerise_actors.staging import runner_install as ri
from cerise_actors.staging import wheelhouse

from ..fakes import FakeShell, FaultyFileSystem

PY311 = ShellResult(0, '3 11 4 x86_64\n', '')


class World:
    def __init__(self, root: Path):
        self.layout = ResourceLayout(str(root / 'resource'))
        self.wheels = root / 'wheelhouse' / 'cp311'  # the older layout: read as x86_64
        self.wheels.mkdir(parents=True)
        for name in ('pip-24.0-py3-none-any.whl', 'cwltool-3.3-py3-none-any.whl'):
            (self.wheels / name).write_bytes(name.encode())
        self.fs = FaultyFileSystem()
        self.shell = FakeShell()
        self.installer = ri.RunnerInstaller(self.fs, self.shell, self.layout, root / 'wheelhouse')
        self.dir = Path(ri.runner_dir(self.layout))

    def answers(self, *results):
        """What the resource's shell says next: python3's version first, each time."""
        self.shell.script.extend(results)

    def venv_commands(self):
        return [c for c in self.shell.commands if 'venv --without-pip' in c]


@pytest.fixture
def w(tmp_path):
    return World(tmp_path)


@pytest.mark.parametrize(
    'result,problem',
    [
        (
            ShellResult(0, '3 9 18 x86_64\n', ''),
            'has Python 3.9.18 as python3; .* needs Python 3.10',
        ),
        (ShellResult(0, 'garbage\n', ''), "python3 said 'garbage'"),
        (
            ShellResult(127, '', 'bash: python3: command not found\n'),
            r'finding python3 on the compute resource failed \(exit code 127\): bash: python3',
        ),
    ],
)
def test_a_resource_without_a_usable_python3_is_refused(w, result, problem):
    w.answers(result)
    with pytest.raises(ApiInstallError, match=problem):
        w.installer.needs_install()


def test_a_python_without_wheels_is_refused_with_what_to_do(w):
    w.answers(ShellResult(0, '3 12 1 x86_64\n', ''))
    with pytest.raises(
        ApiInstallError, match=r'no wheels for Python 3\.12 on x86_64 in .*cp312-x86_64: build'
    ):
        w.installer.install()
    assert not w.dir.exists()


def test_a_first_install_makes_the_environment_copies_the_code_and_marks_it_done(w):
    w.answers(PY311)
    assert w.installer.needs_install() and w.installer.installed() is None
    w.answers(PY311)
    assert (
        w.installer.install()
        == 'installed the CWL runner: its Python 3.11 environment and its code'
    )
    for wheel in w.wheels.iterdir():
        assert (w.dir / 'wheels' / wheel.name).read_bytes() == wheel.read_bytes()
    for name, source in ri._runner_files():
        assert (w.dir / 'cerise_runner' / name).read_bytes() == source.read_bytes()
    # the runner confines itself with the boundary's parser and policy, shipped beside it
    assert (w.dir / 'cerise_runner' / '_locations.py').is_file()
    assert (w.dir / 'cerise_runner' / '_workflow_policy.py').is_file()
    [command] = w.venv_commands()
    assert f'{w.dir}/wheels/pip-24.0-py3-none-any.whl/pip install' in command
    assert ' '.join(ri.REQUIREMENTS) in command and f'mv {w.dir}/venv.new {w.dir}/venv' in command
    venv_line, code_line = w.installer.installed().splitlines()
    assert venv_line.startswith('python 3.11 wheels ') and code_line.startswith('runner ')

    w.answers(PY311, PY311)
    assert not w.installer.needs_install()
    assert w.installer.install() == 'CWL runner up to date (Python 3.11)'
    assert len(w.venv_commands()) == 1


def test_new_runner_code_is_copied_without_remaking_the_environment(w):
    w.answers(PY311)
    w.installer.install()
    marker = w.dir / 'installed'
    marker.write_text(marker.read_text().splitlines()[0] + '\nrunner 0ld\n')
    w.answers(PY311, PY311)
    assert w.installer.needs_install()
    assert w.installer.install() == 'installed the CWL runner: its code'
    assert len(w.venv_commands()) == 1
    assert marker.read_text().splitlines()[1] != 'runner 0ld'


def test_new_wheels_remake_the_environment_sending_only_what_changed(w):
    w.answers(PY311)
    w.installer.install()
    (w.wheels / 'mini_racer-0.14-py3-none-any.whl').write_bytes(b'v8')
    w.fs.calls.clear()
    w.answers(PY311, PY311)
    assert w.installer.needs_install()
    w.installer.install()
    sent = [Path(path).name for method, path in w.fs.calls if method == 'put_stream']
    assert sent[0] == 'mini_racer-0.14-py3-none-any.whl'
    assert not any(name.startswith(('pip-', 'cwltool-')) for name in sent)
    assert len(w.venv_commands()) == 2


def test_a_failed_environment_leaves_no_mark_so_it_is_done_again(w):
    w.answers(PY311, ShellResult(1, '', 'ERROR: No matching distribution found for cwltool\n'))
    with pytest.raises(
        ApiInstallError, match=r'making its Python environment failed \(exit code 1\)'
    ):
        w.installer.install()
    assert w.installer.installed() is None


def test_where_the_runner_and_the_wheelhouse_live(tmp_path, monkeypatch):
    layout = ResourceLayout('/home/u/.cerise')
    assert ri.runner_dir(layout) == '/home/u/.cerise/api/.cerise-runner'
    assert ri.runner_python(layout) == '/home/u/.cerise/api/.cerise-runner/venv/bin/python'
    assert ri.wheelhouse_dir({ri.WHEELHOUSE_ENV: str(tmp_path)}) == tmp_path.resolve()
    monkeypatch.chdir(tmp_path)
    assert ri.wheelhouse_dir({}) == tmp_path.resolve() / 'wheelhouse'


def test_the_wheelhouse_holds_the_versions_this_service_runs(tmp_path, monkeypatch):
    pinned = wheelhouse.pinned_requirements()
    assert pinned[-1] == 'pip'
    assert [p.split('==')[0] for p in pinned[:-1]] == list(ri.REQUIREMENTS)
    command = wheelhouse.pip_download_command('3.11', tmp_path, 'aarch64')
    assert command[1:4] == ['-m', 'pip', 'download']
    for option, value in (
        ('--python-version', '3.11'),
        ('--abi', 'cp311'),
        ('--dest', str(tmp_path)),
    ):
        assert command[command.index(option) + 1] == value
    platforms = [command[i + 1] for i, word in enumerate(command) if word == '--platform']
    assert 'manylinux_2_28_aarch64' in platforms and 'manylinux2014_aarch64' in platforms
    assert not [p for p in platforms if 'x86_64' in p]
    assert command[-len(pinned) :] == pinned

    ran = []
    monkeypatch.setattr(subprocess, 'run', lambda command, check: ran.append(command))
    folders = wheelhouse.build_wheelhouse(tmp_path / 'wh', pythons=['3.9', '3.12.1'])
    assert folders == [tmp_path / 'wh' / 'cp39-x86_64', tmp_path / 'wh' / 'cp312-x86_64']
    assert all(folder.is_dir() for folder in folders)
    assert [c[c.index('--abi') + 1] for c in ran] == ['cp39', 'cp312']
