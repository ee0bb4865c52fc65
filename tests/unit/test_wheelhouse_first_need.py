"""The wheelhouse on first need (issue 20, item 3), with pip and the index stubbed.

A resource whose Python has no folder in the wheelhouse gets one built by
the service when a package index answers: in the wheelhouse if the service
may write there, otherwise in its run folder. Offline, the installer's
error names the command to run, as before.
"""

import logging
import subprocess
from pathlib import Path

import pytest

from cerise_actors.errors import ApiInstallError
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.shell import ShellResult
from cerise_actors.staging import runner_install as ri
from cerise_actors.staging import wheelhouse as wh

from ..fakes import FakeShell, FaultyFileSystem

PY311 = ShellResult(0, '3 11 4 x86_64\n', '')
WHEELS = ('pip-24.0-py3-none-any.whl', 'cwltool-3.3-py3-none-any.whl')


class Builder:
    """Stands in for build_python_folder: records where it was asked to build."""

    def __init__(self, fail=None):
        self.calls = []
        self.fail = fail

    def __call__(self, root: Path, python: str, machine: str) -> Path:
        self.calls.append((Path(root), python, machine))
        if self.fail:
            raise self.fail
        folder = Path(root) / wh.folder_name(python, machine)
        folder.mkdir(parents=True)
        for name in WHEELS:
            (folder / name).write_bytes(name.encode())
        return folder


@pytest.fixture
def builder(monkeypatch):
    """The builder and an index that answers, for RunnerInstaller's own calls."""
    stub = Builder()
    monkeypatch.setattr(wh, 'build_python_folder', stub)
    monkeypatch.setattr(
        wh, 'first_need_folder', _with_defaults(wh.first_need_folder, stub, lambda url: None)
    )
    monkeypatch.setattr(ri, 'first_need_folder', wh.first_need_folder)
    return stub


def _with_defaults(function, build, probe):
    def call(wheelhouse, spare, python, machine='x86_64'):
        return function(wheelhouse, spare, python, machine, build=build, probe=probe, environ={})

    return call


def installer(tmp_path, spare=True):
    return ri.RunnerInstaller(
        FaultyFileSystem(),
        FakeShell(PY311, PY311),
        ResourceLayout(str(tmp_path / 'resource')),
        tmp_path / 'wheelhouse',
        tmp_path / 'run' / 'wheelhouse' if spare else None,
    )


def test_a_missing_folder_is_built_when_the_index_answers(tmp_path, caplog):
    build = Builder()
    with caplog.at_level(logging.INFO, logger=wh.__name__):
        folder = wh.first_need_folder(
            tmp_path / 'wheelhouse', tmp_path / 'spare', '3.11', build=build, probe=lambda u: None
        )
    assert build.calls == [(tmp_path / 'wheelhouse', '3.11', 'x86_64')]
    assert folder == tmp_path / 'wheelhouse' / 'cp311-x86_64' and wh.is_complete(folder)
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith('built the CWL runner wheels for Python 3.11 on first need in ')
    assert f' s: 2 wheels from https://pypi.org/simple/ in {folder}' in line


def test_an_unwritable_wheelhouse_builds_in_the_spare_folder(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(wh, '_writable', lambda root: root != tmp_path / 'opt')
    build = Builder()
    with caplog.at_level(logging.INFO, logger=wh.__name__):
        folder = wh.first_need_folder(
            tmp_path / 'opt',
            tmp_path / 'data' / 'wheelhouse',
            '3.12',
            build=build,
            probe=lambda u: None,
        )
    assert folder == tmp_path / 'data' / 'wheelhouse' / 'cp312-x86_64'
    assert f'({tmp_path / "opt"} is not writable)' in caplog.records[0].getMessage()
    # a later start finds it there without asking the index again
    again = wh.first_need_folder(
        tmp_path / 'opt',
        tmp_path / 'data' / 'wheelhouse',
        '3.12',
        build=build,
        probe=lambda u: pytest.fail('asked the index again'),
    )
    assert again == folder and len(build.calls) == 1


def test_no_index_means_no_build_and_says_which_index(tmp_path):
    build = Builder()
    with pytest.raises(
        wh.WheelsUnavailable,
        match=r'no package index answered at '
        r'http://mirror\.example/simple/ \(Connection refused\)',
    ):
        wh.first_need_folder(
            tmp_path / 'wheelhouse',
            tmp_path / 'spare',
            '3.11',
            build=build,
            probe=lambda url: 'Connection refused',
            environ={'PIP_INDEX_URL': 'http://mirror.example/simple'},
        )
    assert build.calls == [] and not (tmp_path / 'wheelhouse' / 'cp311-x86_64').exists()


def test_a_failing_pip_is_reported(tmp_path):
    build = Builder(fail=subprocess.CalledProcessError(1, ['pip', 'download']))
    with pytest.raises(wh.WheelsUnavailable, match=r'building them from https://pypi\.org'):
        wh.first_need_folder(
            tmp_path / 'wheelhouse', tmp_path / 'spare', '3.11', build=build, probe=lambda u: None
        )


def test_the_installer_builds_a_missing_folder_and_installs_from_it(tmp_path, builder):
    runner = installer(tmp_path)
    assert runner.install() == 'installed the CWL runner: its Python 3.11 environment and its code'
    assert builder.calls == [(tmp_path / 'wheelhouse', '3.11', 'x86_64')]
    sent = sorted(p.name for p in (Path(ri.runner_dir(runner._layout)) / 'wheels').iterdir())
    assert sent == sorted(WHEELS)


def test_the_installer_offline_keeps_the_clear_error(tmp_path, monkeypatch):
    stub = Builder()
    monkeypatch.setattr(
        ri,
        'first_need_folder',
        _with_defaults(wh.first_need_folder, stub, lambda url: '[Errno -3] name resolution'),
    )
    with pytest.raises(ApiInstallError) as raised:
        installer(tmp_path).install()
    message = str(raised.value)
    assert message.startswith(
        f'no wheels for Python 3.11 on x86_64 in {tmp_path}/wheelhouse/cp311-x86_64, '
    )
    assert 'no package index answered at https://pypi.org/simple/ ([Errno -3]' in message
    assert 'build them with `cerise-actors wheelhouse --python 3.11 --platform x86_64`' in message
    assert stub.calls == []


def test_without_a_spare_folder_nothing_is_built(tmp_path, builder):
    with pytest.raises(ApiInstallError, match=r'in .*cp311-x86_64: build them with `cerise-actors'):
        installer(tmp_path, spare=False).install()
    assert builder.calls == []


def test_the_cli_and_the_service_build_with_the_same_function(tmp_path, monkeypatch):
    ran = []
    monkeypatch.setattr(
        subprocess, 'run', lambda command, check: ran.append(command) or _fill(command)
    )
    assert wh.build_wheelhouse(tmp_path, ['3.11']) == [tmp_path / 'cp311-x86_64']
    assert wh.is_complete(tmp_path / 'cp311-x86_64')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['cp311-x86_64']  # no partial folder left
    monkeypatch.setattr(subprocess, 'run', _fail)
    with pytest.raises(subprocess.CalledProcessError):
        wh.build_python_folder(tmp_path, '3.11')
    assert wh.is_complete(tmp_path / 'cp311-x86_64'), 'a failed rebuild kept the folder it had'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['cp311-x86_64']


def _fill(command):
    dest = Path(command[command.index('--dest') + 1])
    (dest / 'pip-24.0-py3-none-any.whl').write_bytes(b'pip')


def _fail(command, check):
    raise subprocess.CalledProcessError(1, command)
