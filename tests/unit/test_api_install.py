"""Installing a specialisation's projects onto a (local) resource."""

import json
import os
import stat

import pytest

from cerise_actors.resource.filesystem import LocalFileSystem
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.shell import LocalShell
from cerise_actors.staging import api_install as ai

from ..helpers import TEST_API_DIR


@pytest.mark.parametrize(
    'local,remote,expected',
    [
        ('1.0.0', None, True),
        ('1.0.0', '1.0.0', False),
        ('1.0.1', '1.0.0', True),
        ('1.10.0', '1.9.0', True),
        ('1.0.0', '1.0.1', False),
        ('1.0.0.dev', '1.0.0.dev', True),
        ('1.0.0', '1.0.0.dev', True),
        ('1.0.0', 'garbage', True),
    ],
)
def test_needs_install(local, remote, expected):
    assert ai.needs_install(local, remote) is expected


@pytest.mark.parametrize('text', ['', 'one', '1.x', '1..2'])
def test_bad_versions_are_refused(text):
    with pytest.raises(ai.ApiInstallError):
        ai.parse_version(text)


def test_specialisation_projects_come_before_builtins(tmp_path):
    (tmp_path / 'cerise' / 'steps').mkdir(parents=True)
    (tmp_path / 'notaproject').mkdir()
    projects = ai.local_projects(tmp_path)
    assert projects['cerise'] == tmp_path / 'cerise'
    assert 'notaproject' not in projects
    assert ai.local_projects(None)['cerise'] == ai.BUILTIN_API_DIR / 'cerise'


def test_install_copies_substitutes_keeps_modes_and_runs_install_sh(tmp_path):
    layout = ResourceLayout(str(tmp_path / 'base'))
    fs, shell = LocalFileSystem(), LocalShell()
    ai.install_project(fs, shell, layout, 'test', TEST_API_DIR / 'test')
    project = tmp_path / 'base' / 'api' / 'test'
    files = project / 'files'
    script = files / 'add_heading.sh'
    assert os.stat(script).st_mode & stat.S_IXUSR
    assert (files / 'heading.txt').read_text() == '=== Test heading ===\n'
    step = json.loads((project / 'steps' / 'test' / 'heading.cwl').read_text())
    assert step['baseCommand'] == f'{files}/add_heading.sh'
    assert step['arguments'] == [str(files)]
    assert (project / 'version').read_text().strip() == '1.0.0.dev'
    assert ai.remote_version(fs, layout, 'test') == '1.0.0.dev'


def test_failing_install_script_leaves_no_version(tmp_path):
    project = tmp_path / 'api' / 'broken'
    (project / 'steps' / 'broken').mkdir(parents=True)
    (project / 'version').write_text('1.0.0\n')
    (project / 'install.sh').write_text('echo "compiler missing" >&2\nexit 7\n')
    layout = ResourceLayout(str(tmp_path / 'base'))
    with pytest.raises(ai.ApiInstallError, match='exit code 7.*compiler missing'):
        ai.install_project(LocalFileSystem(), LocalShell(), layout, 'broken', project)
    assert ai.remote_version(LocalFileSystem(), layout, 'broken') is None


def test_project_without_version_is_refused(tmp_path):
    (tmp_path / 'p' / 'steps').mkdir(parents=True)
    with pytest.raises(ai.ApiInstallError, match='no version file'):
        ai.read_version(tmp_path / 'p')
