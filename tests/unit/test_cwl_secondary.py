"""secondaryFiles patterns of the workflow and its steps, applied while staging."""

import json

import pytest

from cerise_actors.cwl.secondary import add_secondary_files, apply_pattern, secondary_patterns

from .cwl_workflow_fixtures import HOSTNAME, plan, step, workflow


@pytest.mark.parametrize(
    'pattern, expected',
    [
        ('.s2', 'http://x/in/A.txt.s2'),
        ('^.s2', 'http://x/in/A.s2'),
        ('^^.s2', 'http://x/in/A.s2'),
        ('.idx', 'http://x/in/A.txt.idx'),
    ],
)
def test_apply_pattern(pattern, expected):
    assert apply_pattern('http://x/in/A.txt', pattern) == expected


def test_patterns_of_parameters_in_every_form_once_each():
    workflow_doc = {
        'inputs': [
            {'id': '#main/a', 'type': 'File', 'secondaryFiles': ['.s2', {'pattern': '^.b'}]},
            {'id': 'b', 'type': 'File', 'secondaryFiles': '.c?'},
            {
                'id': 'js',
                'type': 'File',
                'secondaryFiles': ['$(self.basename).x', '${ return [] }'],
            },
            {'id': 'none', 'type': 'File'},
        ]
    }
    tool = {
        'inputs': {
            'x': {'type': 'File', 'secondaryFiles': [{'pattern': '.d', 'required': False}, '.s2']}
        }
    }
    assert sorted(secondary_patterns([workflow_doc, tool])) == ['.c', '.d', '.s2', '^.b']


def test_adds_what_exists_anywhere_in_the_value_and_keeps_what_is_listed():
    present = {'http://x/A.txt.s2', 'http://x/B.txt.s2', 'http://x/B.txt.s3', 'http://x/d/C.s3'}
    doc = {
        'one': {'class': 'File', 'location': 'http://x/A.txt'},
        'many': [
            {
                'class': 'File',
                'location': 'http://x/B.txt',
                'secondaryFiles': [{'class': 'File', 'location': 'http://x/B.txt.s2'}],
            }
        ],
        'record': {'deep': {'class': 'File', 'location': 'd/C'}},
        'other': 3,
    }
    result = add_secondary_files(doc, ['.s2', '.s3'], present.__contains__, 'http://x/wf.cwl')
    assert result['one']['secondaryFiles'] == [{'class': 'File', 'location': 'http://x/A.txt.s2'}]
    assert [f['location'] for f in result['many'][0]['secondaryFiles']] == [
        'http://x/B.txt.s2',
        'http://x/B.txt.s3',
    ]
    assert result['record']['deep']['secondaryFiles'] == [
        {'class': 'File', 'location': 'http://x/d/C.s3'}
    ]
    assert result['other'] == 3 and 'secondaryFiles' not in doc['one'], 'input left as it was'


def test_a_missing_file_is_left_for_the_runner_to_report():
    doc = {'a': {'class': 'File', 'location': 'http://x/A'}}
    assert add_secondary_files(doc, ['.s2'], lambda url: False) == doc


def test_file_defaults_get_the_secondary_files_beside_them_staged():
    tool = dict(HOSTNAME, inputs={'f': {'type': 'File', 'secondaryFiles': ['.idx']}})
    catalogue = {'example/hostname.cwl': tool}
    default = {'class': 'File', 'location': 'data.txt'}
    doc = workflow(inputs={'f': {'type': 'File', 'default': default}}, steps={'hostname': step()})
    present = {'file:///ex/data.txt.idx'}.__contains__
    result = plan(doc, catalogue, url='file:///ex/wf.cwl', work_dir='/w', exists=present)
    assert sorted(f.source for f in result.files) == [
        'file:///ex/data.txt',
        'file:///ex/data.txt.idx',
    ]
    staged = json.loads(result.content)['inputs']['f']['default']
    assert staged['location'] == 'file:///w/defaults/1/data.txt'
    assert staged['secondaryFiles'][0]['location'] == 'file:///w/defaults/1/data.txt.idx'
    assert result.secondary_files == ('.idx',)
