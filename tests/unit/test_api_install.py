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


def _project(root, steps, files=None):
    """A project `p` with `steps` and `files` (relative path -> text) and a version."""
    project = root / 'p'
    for base, entries in (('steps', steps), ('files', files or {})):
        for rel, text in entries.items():
            (project / base / rel).parent.mkdir(parents=True, exist_ok=True)
            (project / base / rel).write_text(text)
    (project / 'version').write_text('1.0.0\n')
    return project


def test_nested_files_and_other_files_among_the_steps_are_copied_as_they_are(tmp_path):
    project = _project(
        tmp_path,
        {'p/tool.cwl': 'class: CommandLineTool\n', 'p/notes/README': 'not a step\n'},
        {'lib/deep/data.txt': 'data\n'},
    )
    layout = ResourceLayout(str(tmp_path / 'base'))
    assert ai.install_project(LocalFileSystem(), LocalShell(), layout, 'p', project) == ''
    installed = tmp_path / 'base' / 'api' / 'p'
    assert (installed / 'files' / 'lib' / 'deep' / 'data.txt').read_text() == 'data\n'
    assert (installed / 'steps' / 'p' / 'notes' / 'README').read_text() == 'not a step\n'
    assert json.loads((installed / 'steps' / 'p' / 'tool.cwl').read_text()) == {
        'class': 'CommandLineTool'
    }
    assert ai.remote_version(LocalFileSystem(), layout, 'p') == '1.0.0'


@pytest.mark.parametrize(
    'text,problem', [('class: [unclosed\n', 'is not valid YAML'), ('- a list\n', 'is not a CWL')]
)
def test_a_step_that_is_not_a_cwl_document_stops_the_install(tmp_path, text, problem):
    project = _project(tmp_path, {'p/bad.cwl': text})
    layout = ResourceLayout(str(tmp_path / 'base'))
    with pytest.raises(ai.ApiInstallError, match=f'step .*bad.cwl {problem}'):
        ai.install_project(LocalFileSystem(), LocalShell(), layout, 'p', project)
    assert ai.remote_version(LocalFileSystem(), layout, 'p') is None
