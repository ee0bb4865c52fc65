"""Tests for the installed-step catalogue and step preparation."""

import copy
from pathlib import Path

import pytest

from cerise_actors.cwl.steps import load_step_catalogue, step_resources, substitute_project_files
from cerise_actors.errors import ApiInstallError

HOSTNAME = """\
cwlVersion: v1.0
class: CommandLineTool
baseCommand: hostname
inputs: []
stdout: output.txt
outputs:
  output:
    type: File
    outputBinding: { glob: output.txt }
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def projects(tmp_path):
    example = tmp_path / 'api' / 'example'
    _write(example / 'steps' / 'example' / 'hostname.cwl', HOSTNAME)
    _write(example / 'steps' / 'example' / 'sub' / 'deep.cwl', HOSTNAME)
    _write(example / 'steps' / 'example' / 'README.md', 'not a step')
    _write(example / 'files' / 'add_heading.sh', '#!/bin/bash\n')
    _write(example / 'install.sh', '#!/bin/bash\n')
    _write(example / 'version', '1.0\n')
    other = tmp_path / 'api' / 'other'
    _write(other / 'steps' / 'other' / 'tool.cwl', HOSTNAME)
    return {'example': example, 'other': other}


def test_catalogue_names_are_paths_relative_to_steps(projects):
    catalogue = load_step_catalogue(projects)
    assert sorted(catalogue) == ['example/hostname.cwl', 'example/sub/deep.cwl', 'other/tool.cwl']
    assert catalogue['example/hostname.cwl']['class'] == 'CommandLineTool'
    assert catalogue['example/hostname.cwl']['baseCommand'] == 'hostname'


def test_catalogue_accepts_str_paths_and_skips_projects_without_steps(projects, tmp_path):
    empty = tmp_path / 'api' / 'empty'
    empty.mkdir()
    catalogue = load_step_catalogue({'example': str(projects['example']), 'empty': empty})
    assert sorted(catalogue) == ['example/hostname.cwl', 'example/sub/deep.cwl']


def test_catalogue_of_nothing_is_empty():
    assert load_step_catalogue({}) == {}


def test_unparseable_step_names_the_file(projects):
    bad = _write(projects['example'] / 'steps' / 'example' / 'bad.cwl', 'class: [unclosed\n')
    with pytest.raises(ApiInstallError, match='bad.cwl'):
        load_step_catalogue(projects)
    assert bad.exists()


def test_step_that_is_not_a_mapping_is_refused(projects):
    _write(projects['example'] / 'steps' / 'example' / 'list.cwl', '- a\n')
    with pytest.raises(ApiInstallError, match='list.cwl'):
        load_step_catalogue(projects)


def test_step_outside_its_projects_folder_is_refused(projects):
    """Project 'other' cannot offer 'example/...' steps (nor steps/x.cwl)."""
    _write(projects['other'] / 'steps' / 'example' / 'hostname.cwl', HOSTNAME)
    with pytest.raises(ApiInstallError, match='outside steps/other/'):
        load_step_catalogue(projects)


def test_substitute_base_command_string_and_arguments():
    step = {
        'class': 'CommandLineTool',
        'baseCommand': '$CERISE_PROJECT_FILES/add_heading.sh',
        'arguments': [
            '$CERISE_PROJECT_FILES',
            '--x',
            {
                'valueFrom': '${CERISE_PROJECT_FILES}/data',
                'prefix': '$CERISE_PROJECT_FILES',
                'position': 1,
            },
        ],
        'inputs': {'x': {'type': 'string', 'default': '$CERISE_PROJECT_FILES'}},
        'doc': 'uses $CERISE_PROJECT_FILES',
    }
    original = copy.deepcopy(step)
    result = substitute_project_files(step, '/remote/api/example/files')
    assert result['baseCommand'] == '/remote/api/example/files/add_heading.sh'
    assert result['arguments'][0] == '/remote/api/example/files'
    assert result['arguments'][1] == '--x'
    assert result['arguments'][2] == {
        'valueFrom': '/remote/api/example/files/data',
        'prefix': '$CERISE_PROJECT_FILES',
        'position': 1,
    }
    # nothing else is touched, and the input is not modified
    assert result['inputs'] == original['inputs']
    assert result['doc'] == original['doc']
    assert step == original
    assert result is not step


def test_substitute_base_command_list():
    step = {
        'baseCommand': ['bash', '${CERISE_PROJECT_FILES}/run.sh', '$CERISE_PROJECT_FILES_OTHER']
    }
    result = substitute_project_files(step, '/f')
    assert result['baseCommand'] == ['bash', '/f/run.sh', '$CERISE_PROJECT_FILES_OTHER']


def test_substitute_without_command_or_arguments():
    step = {'class': 'Workflow', 'steps': []}
    assert substitute_project_files(step, '/f') == step


def test_substitute_leaves_expression_arguments_without_the_variable():
    step = {'arguments': [{'valueFrom': '$(inputs.x)'}, 3]}
    assert substitute_project_files(step, '/f') == step


def test_step_resources_none():
    assert step_resources({'class': 'CommandLineTool'}) == (0, 0)


def test_step_resources_mapping_form():
    step = {'hints': {'ResourceRequirement': {'coresMin': 4}, 'TimeLimit': 300}}
    assert step_resources(step) == (4, 300)


def test_step_resources_list_form_and_cores_max():
    step = {
        'requirements': [
            {'class': 'ResourceRequirement', 'coresMax': 8},
            {'class': 'ToolTimeLimit', 'timelimit': 60},
        ]
    }
    assert step_resources(step) == (8, 60)


def test_step_resources_requirements_override_hints():
    step = {
        'hints': {'ResourceRequirement': {'coresMin': 16}},
        'requirements': [{'class': 'ResourceRequirement', 'coresMin': 2}],
    }
    assert step_resources(step) == (2, 0)


def test_step_resources_expression_counts_as_unspecified():
    step = {
        'requirements': {
            'ResourceRequirement': {'coresMin': '$(inputs.threads)'},
            'ToolTimeLimit': {'timelimit': '$(inputs.t * 60)'},
        }
    }
    assert step_resources(step) == (0, 0)


def test_step_resources_fractional_cores_round_up():
    step = {'hints': {'ResourceRequirement': {'coresMin': 1.5}}}
    assert step_resources(step) == (2, 0)


@pytest.mark.parametrize(
    'hints',
    [
        {'ResourceRequirement': {'coresMin': -1}},
        {'ResourceRequirement': {'coresMin': 'four'}},
        {'TimeLimit': {'timeLimit': -5}},
        {'TimeLimit': {'other': 5}},
    ],
)
def test_step_resources_invalid_values(hints):
    with pytest.raises(ApiInstallError, match="installed step 'x.cwl'"):
        step_resources({'hints': hints}, 'x.cwl')
