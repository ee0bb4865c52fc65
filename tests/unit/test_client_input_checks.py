"""The client's checks of input names and types (input_checks.py, Job.add_input)
and the CLI's look at the workflow file (workflow_check.py), before submitting."""

import pytest

from cerise_actors.client import InputError
from cerise_actors.client.errors import ServiceError
from cerise_actors.client.input_checks import fits, problem, undeclared
from cerise_actors.client.input_files import UsageError
from cerise_actors.client.job import Job
from cerise_actors.client.workflow_check import check_workflow, parse, step_runs, unknown_steps

TYPES = {'file': 'File', 'files': 'File[]', 'n': 'int?', 'mode': {'type': 'enum', 'symbols': ['a']}}
A_FILE = {'class': 'File'}


@pytest.mark.parametrize(
    'value, cwl_type, expected',
    [
        (A_FILE, 'File', True),
        ('x.txt', 'File', False),
        (42, 'File', False),
        ([A_FILE], 'File[]', True),
        ([A_FILE, 3], {'type': 'array', 'items': 'File'}, False),
        (None, 'int?', True),
        (True, 'int', False),
        (2, 'double', True),
        ('a', {'type': 'enum', 'symbols': ['file:///w.cwl#mode/a']}, True),
        ('b', {'type': 'enum', 'symbols': ['a']}, False),
        ({'x': 1}, {'type': 'record', 'fields': []}, None),
        (1, 'Any', None),
        (1.5, ['int', 'string'], False),
        ('x', ['int', 'types.yml#T'], None),
    ],
)
def test_fits(value, cwl_type, expected):
    assert fits(value, cwl_type) is expected


def test_an_undeclared_name_names_the_inputs_and_the_closest():
    assert undeclared('fiel', TYPES) == (
        "'fiel' is not an input of the workflow (its inputs: 'file', 'files', 'mode', 'n'); "
        "did you mean 'file'?"
    )
    assert undeclared('file', TYPES) is None and undeclared('cwl:tool', TYPES) is None


def test_a_problem_names_the_type_and_the_value():
    assert problem('file', 42, TYPES) == (
        "input 'file' is declared File, but got the number 42; give a local path "
        "(add_input uploads it) or {'class': 'File', 'location': '...'}"
    )
    assert problem('n', 'x' * 100, TYPES).endswith("got the text '" + 'x' * 56 + '...')
    assert problem('anything', 1, {}) is None  # declarations unknown


class NoService:
    """Any use is a failure: the checks come before every upload."""

    def __getattr__(self, name):
        raise AssertionError(f'the service was used ({name})')


@pytest.fixture
def job():
    job = Job(NoService(), 'j')
    job.input_types = dict(TYPES)
    return job


def test_add_input_refuses_an_undeclared_name_before_looking_at_files(job, tmp_path):
    with pytest.raises(InputError, match=r"'fiel' is not an input.*did you mean 'file'\?"):
        job.add_input('fiel', tmp_path / 'missing.txt')


def test_add_input_and_set_input_refuse_a_wrong_type(job, tmp_path):
    with pytest.raises(InputError, match="input 'file' is declared File, but got the number 42"):
        job.add_input('file', 42)
    folder = tmp_path / 'folder'
    folder.mkdir()
    with pytest.raises(InputError, match='declared File, but got a Directory'):
        job.add_input('file', folder)
    with pytest.raises(InputError, match="input 'n' is declared int\\?, but got the text"):
        job.set_input('n', 'three')
    with pytest.raises(InputError, match="'mode' is declared"):
        job.set_input('mode', 'b')
    assert job.input == {}


def test_without_declarations_nothing_is_refused_here(tmp_path):
    job = Job(NoService(), 'j')
    job.set_input('anything', 42)
    assert job.input == {'anything': 42}


# --- the workflow file -------------------------------------------------------------

WORKFLOW = """cwlVersion: v1.0
class: Workflow
inputs: {}
outputs: {}
steps:
  a: {run: test/echo.cwl, in: {}, out: []}
  b:
    run: ./test/ecko.cwl
  c:
    run: {class: CommandLineTool}
"""


def test_a_yaml_error_names_file_line_and_column():
    with pytest.raises(UsageError, match=r'^w\.cwl:3:5: the workflow is not valid YAML'):
        parse('a: 1\nb: [\nc: d: e\n', 'w.cwl')


def test_step_runs_and_their_lines():
    assert list(step_runs(parse(WORKFLOW, 'w.cwl'))) == [
        ('test/echo.cwl', 6),
        ('./test/ecko.cwl', 8),
    ]
    graph = '{"$graph": [{"class": "Workflow", "steps": [{"run": "#tool"}, {"run": "x/y.cwl"}]}]}'
    assert list(step_runs(parse(graph, 'p.cwl'))) == [('x/y.cwl', 1)]


def test_unknown_steps_are_named_with_close_matches():
    runs = [('test/echo.cwl', 6), ('./test/ecko.cwl', 8)]
    (line,) = unknown_steps(runs, ['test/echo.cwl', 'test/wc.cwl'], 'w.cwl')
    assert line.startswith("w.cwl:8: step './test/ecko.cwl' is not offered by the service")
    assert 'closest it offers: test/echo.cwl' in line and 'nothing was uploaded' in line


def test_check_workflow_asks_for_steps_only_when_needed(tmp_path):
    path = tmp_path / 'w.cwl'
    path.write_text('cwlVersion: v1.0\nclass: Workflow\ninputs: {}\noutputs: {}\nsteps: {}\n')
    check_workflow(path, lambda: pytest.fail('asked for the steps'))
    path.write_text(WORKFLOW)

    def older_service():
        raise ServiceError('no /steps', status=404)

    check_workflow(path, older_service)  # an older Cerise: the service checks
    with pytest.raises(UsageError, match='ecko'):
        check_workflow(path, lambda: [{'name': 'test/echo.cwl'}])
