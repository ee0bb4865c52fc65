"""plan_inputs refuses File and Directory objects that could name files
outside the job: names that are not plain (the runner writes literals under
them), and Files hidden under keys that are not staged (issue 18)."""

import pytest

from cerise_actors.cwl.inputs import plan_inputs
from cerise_actors.errors import InvalidInput

from .test_cwl_inputs import WORK


@pytest.mark.parametrize(
    'obj',
    [
        {'class': 'File', 'location': 'http://h/dir/'},
        {'class': 'File', 'location': 'http://h/'},
        {'class': 'File', 'location': 'http://h/x', 'basename': '..'},
        {'class': 'File', 'location': 'http://h/x', 'basename': '.'},
        {'class': 'File', 'location': 'http://h/x', 'basename': ''},
        {'class': 'File', 'location': 'http://h/x', 'basename': 'a/b'},
        {'class': 'File', 'location': 'http://h/x', 'basename': '../../x'},
        {'class': 'File', 'location': 'http://h/%2E%2E'},
        {'class': 'File', 'location': 'http://h/a%2Fb'},
        {'class': 'File', 'location': 'http://h/x', 'basename': 3},
        # literals too: the runner writes them under their basename (issue 18)
        {'class': 'File', 'contents': 'x', 'basename': '/etc/cron.d/x'},
        {'class': 'File', 'contents': 'x', 'basename': '../../x'},
        {'class': 'Directory', 'basename': '..', 'listing': []},
        {'class': 'Directory', 'listing': [{'class': 'File', 'contents': 'x', 'basename': '/x'}]},
    ],
)
def test_bad_basenames(obj):
    with pytest.raises(
        InvalidInput, match="input 'f': (cannot use|the basename .* is not a plain)"
    ):
        plan_inputs({'f': obj}, WORK)


@pytest.mark.parametrize(
    'obj',
    [
        {
            'class': 'File',
            'location': 'file:///ex/input/a.txt',
            'extra': {'class': 'File', 'location': 'file:///etc/passwd'},
        },
        {'class': 'Directory', 'location': 'file:///ex/input/d', 'x': [{'class': 'Directory'}]},
    ],
)
def test_files_hidden_under_other_keys_are_refused(obj):
    """A review: only secondaryFiles and listing were staged; a File under any
    other key reached the runner as given."""
    with pytest.raises(InvalidInput, match="only in 'secondaryFiles' and 'listing'"):
        plan_inputs({'f': obj}, WORK)


def test_a_literal_directorys_secondary_files_are_staged():
    secondary = {'class': 'File', 'location': 'file:///ex/input/d.idx'}
    doc = {
        'd': {'class': 'Directory', 'basename': 'd', 'listing': [], 'secondaryFiles': [secondary]}
    }
    result, files = plan_inputs(doc, WORK)
    assert [f.source for f in files] == ['file:///ex/input/d.idx']
    assert result['d']['secondaryFiles'][0]['location'].startswith('file://' + WORK)
