"""runner/confine.py: what expressions name, and what cwltool reads, stays inside the job."""

import pytest
from cwl_utils.errors import JavascriptException
from cwltool.errors import WorkflowException
from cwltool.stdfsaccess import StdFsAccess

from cerise_actors.runner import confine


@pytest.fixture
def roots(tmp_path):
    job, api = tmp_path / 'jobs' / 'j1', tmp_path / 'api'
    (job / 'work').mkdir(parents=True)
    api.mkdir()
    (job / 'work' / 'in.txt').write_text('x')
    return (str(job), str(api))


@pytest.mark.parametrize(
    'value',
    [
        3,
        'plain text / with a slash',
        {'class': 'File', 'location': 'out.txt'},
        ['a', {'class': 'File', 'path': 'sub/dir/x'}],
    ],
)
def test_values_that_name_nothing_outside_pass(roots, value):
    confine.check_value(value, roots)


def test_files_inside_the_roots_pass(roots):
    inside = f'file://{roots[0]}/work/in.txt'
    confine.check_value({'class': 'File', 'location': inside, 'path': f'{roots[1]}/t.yml'}, roots)


@pytest.mark.parametrize(
    'value',
    [
        {'class': 'File', 'location': 'file:///etc/hostname'},
        {'class': 'Directory', 'path': '/etc'},
        {'class': 'File', 'location': 'x', 'secondaryFiles': [{'location': '/etc/passwd'}]},
        '../../secret',
        'a/../../b',
        ['/etc/*'],
    ],
)
def test_values_that_name_something_outside_are_refused(roots, value):
    with pytest.raises(JavascriptException, match='expressions may only name files of the job'):
        confine.check_value(value, roots)


def test_a_symlink_out_of_the_roots_counts_as_outside(roots, tmp_path):
    link = tmp_path / 'jobs' / 'j1' / 'work' / 'out'
    link.symlink_to('/etc')
    with pytest.raises(JavascriptException):
        confine.check_value({'class': 'Directory', 'location': f'file://{link}'}, roots)


def test_cwltools_file_access_is_confined(roots, monkeypatch):
    monkeypatch.setattr(StdFsAccess, '_abs', StdFsAccess._abs)  # undone after the test
    confine.confine_file_access(roots)
    fs = StdFsAccess(roots[0])
    assert fs.exists(f'{roots[0]}/work/in.txt')
    with pytest.raises(WorkflowException, match='outside the job and the installed steps'):
        fs.exists('/etc/hostname')
    with pytest.raises(WorkflowException):
        fs.glob('/etc/*')
    with pytest.raises(WorkflowException):
        fs.open(f'{roots[0]}/../../../../etc/hostname', 'r')
