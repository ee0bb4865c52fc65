"""The resource's machine decides the wheels (issue 22, item 2).

The installer reads `uname -m` with the Python version and takes the folder
`cpXY-<machine>` of the wheelhouse; x86_64 also takes the older `cpXY/`.
aarch64 wheels are not run here: what is checked is the folder chosen, the
first-need build's machine, the errors, and the command's `--platform`.
"""

from pathlib import Path

import pytest

from cerise_actors import cli
from cerise_actors.errors import ApiInstallError
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.shell import ShellResult
from cerise_actors.staging import runner_install as ri
from cerise_actors.staging import wheelhouse as wh

from ..fakes import FakeShell, FaultyFileSystem


def fill(folder: Path, tag: str) -> Path:
    folder.mkdir(parents=True)
    for name in ('pip-24.0-py3-none-any.whl', f'mini_racer-0.14-py3-none-{tag}.whl'):
        (folder / name).write_bytes(name.encode())
    return folder


def install(tmp_path: Path, uname: str, spare=None):
    """Install for a resource whose Python 3.11 says it runs on `uname`; the
    names of the wheels sent."""
    fs = FaultyFileSystem()
    layout = ResourceLayout(str(tmp_path / 'resource'))
    shell = FakeShell(ShellResult(0, f'3 11 7 {uname}\n', ''))
    ri.RunnerInstaller(fs, shell, layout, tmp_path / 'wheelhouse', spare).install()
    return sorted(p.name for p in (Path(ri.runner_dir(layout)) / 'wheels').iterdir())


@pytest.mark.parametrize(
    'uname,machine',
    [('x86_64', 'x86_64'), ('amd64', 'x86_64'), ('aarch64', 'aarch64'), ('arm64', 'aarch64')],
)
def test_machines_by_their_names(uname, machine):
    assert wh.machine_name(uname) == machine
    assert wh.machine_name(uname.upper() + '\n') == machine


def test_other_machines_have_no_wheels():
    assert wh.machine_name('ppc64le') is None and wh.machine_name('') is None


@pytest.mark.parametrize('uname', ['x86_64', 'aarch64'])
def test_each_machine_gets_its_own_folder(tmp_path, uname):
    fill(tmp_path / 'wheelhouse' / 'cp311-x86_64', 'manylinux_2_27_x86_64')
    fill(tmp_path / 'wheelhouse' / 'cp311-aarch64', 'manylinux_2_27_aarch64')
    sent = install(tmp_path, uname)
    assert sent == [
        'mini_racer-0.14-py3-none-manylinux_2_27_' + uname + '.whl',
        'pip-24.0-py3-none-any.whl',
    ]


def test_the_older_layout_is_read_as_x86_64_only(tmp_path):
    legacy = fill(tmp_path / 'wheelhouse' / 'cp311', 'manylinux_2_27_x86_64')
    assert wh.find_folder(tmp_path / 'wheelhouse', '3.11', 'x86_64') == legacy
    assert wh.find_folder(tmp_path / 'wheelhouse', '3.11', 'aarch64') is None
    assert 'manylinux_2_27_x86_64' in install(tmp_path, 'x86_64')[0]
    new = fill(tmp_path / 'wheelhouse' / 'cp311-x86_64', 'manylinux_2_28_x86_64')
    assert wh.find_folder(tmp_path / 'wheelhouse', '3.11', 'x86_64') == new  # the new one wins


def test_a_missing_machine_names_the_command_that_builds_it(tmp_path):
    fill(tmp_path / 'wheelhouse' / 'cp311-x86_64', 'manylinux_2_27_x86_64')
    with pytest.raises(ApiInstallError) as raised:
        install(tmp_path, 'aarch64')
    assert str(raised.value) == (
        f'no wheels for Python 3.11 on aarch64 in {tmp_path}/wheelhouse/cp311-aarch64: build '
        'them with `cerise-actors wheelhouse --python 3.11 --platform aarch64` (or set '
        'CERISE_WHEELHOUSE), or configure cwl-runner'
    )


def test_a_machine_without_wheels_says_which_there_are(tmp_path):
    with pytest.raises(ApiInstallError, match=r'is a ppc64le machine; .* for x86_64 and aarch64'):
        install(tmp_path, 'ppc64le')


def test_the_first_need_build_is_for_the_resource_machine(tmp_path, monkeypatch):
    calls = []

    def build(root, python, machine):
        calls.append((python, machine))
        return fill(Path(root) / wh.folder_name(python, machine), f'manylinux_2_27_{machine}')

    def first_need(wheelhouse, spare, python, machine):
        return wh.first_need_folder(
            wheelhouse, spare, python, machine, build=build, probe=lambda url: None, environ={}
        )

    monkeypatch.setattr(ri, 'first_need_folder', first_need)
    sent = install(tmp_path, 'aarch64', spare=tmp_path / 'spare')
    assert calls == [('3.11', 'aarch64')]
    assert sent[0] == 'mini_racer-0.14-py3-none-manylinux_2_27_aarch64.whl'
    assert wh.is_complete(tmp_path / 'wheelhouse' / 'cp311-aarch64')


def test_pip_downloads_the_manylinux_tags_of_one_machine(tmp_path):
    for machine in wh.MACHINES:
        command = wh.pip_download_command('3.12', tmp_path, machine)
        tags = [command[i + 1] for i, word in enumerate(command) if word == '--platform']
        assert tags == [f'{tag}_{machine}' for tag in wh.MANYLINUX]


@pytest.mark.parametrize(
    'options,machines',
    [
        ([], ['x86_64']),
        (['--platform', 'aarch64'], ['aarch64']),
        (['--platform', 'x86_64', 'aarch64'], ['x86_64', 'aarch64']),
    ],
)
def test_the_command_takes_the_platforms(tmp_path, monkeypatch, options, machines):
    asked = []

    def build(root, pythons, platforms):
        asked.append((list(pythons), list(platforms)))
        return []

    monkeypatch.setattr(wh, 'build_wheelhouse', build)
    assert cli.main(['wheelhouse', '--python', '3.11', '--dest', str(tmp_path), *options]) == 0
    assert asked == [(['3.11'], machines)]


def test_the_command_refuses_other_platforms(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(['wheelhouse', '--platform', 'ppc64le', '--dest', str(tmp_path)])
    assert "invalid choice: 'ppc64le'" in capsys.readouterr().err
