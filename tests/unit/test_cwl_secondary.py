"""secondaryFiles patterns of the workflow's inputs, applied while staging."""

import pytest

from cerise_actors.cwl.secondary import add_secondary_files, apply_pattern, secondary_patterns


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


def test_patterns_of_inputs_in_every_form():
    doc = {
        'inputs': [
            {'id': '#main/a', 'type': 'File', 'secondaryFiles': ['.s2', {'pattern': '^.b'}]},
            {'id': 'b', 'type': 'File', 'secondaryFiles': '.c?'},
            {'id': 'c', 'type': 'File', 'secondaryFiles': [{'pattern': '.d', 'required': False}]},
            {
                'id': 'js',
                'type': 'File',
                'secondaryFiles': ['$(self.basename).x', '${ return [] }'],
            },
            {'id': 'none', 'type': 'File'},
        ]
    }
    assert secondary_patterns(doc) == {
        'a': [('.s2', True), ('^.b', True)],
        'b': [('.c', False)],
        'c': [('.d', False)],
    }
    assert secondary_patterns({'inputs': {'x': {'type': 'File', 'secondaryFiles': '.i'}}}) == {
        'x': [('.i', True)]
    }


def test_adds_what_exists_and_keeps_what_the_user_listed():
    present = {'http://x/A.txt.s2', 'http://x/B.txt.s2', 'http://x/B.txt.s3'}
    doc = {
        'one': {'class': 'File', 'location': 'http://x/A.txt'},
        'many': [
            {
                'class': 'File',
                'location': 'http://x/B.txt',
                'secondaryFiles': [{'class': 'File', 'location': 'http://x/B.txt.s2'}],
            }
        ],
        'other': 3,
    }
    patterns = {'one': [('.s2', True), ('.s3', False)], 'many': [('.s2', True), ('.s3', True)]}
    result = add_secondary_files(doc, patterns, present.__contains__)
    assert result['one']['secondaryFiles'] == [{'class': 'File', 'location': 'http://x/A.txt.s2'}]
    assert [f['location'] for f in result['many'][0]['secondaryFiles']] == [
        'http://x/B.txt.s2',
        'http://x/B.txt.s3',
    ]
    assert result['other'] == 3 and 'secondaryFiles' not in doc['one'], 'input left as it was'


def test_a_missing_required_file_is_left_for_the_runner_to_report():
    doc = {'a': {'class': 'File', 'location': 'http://x/A'}}
    assert add_secondary_files(doc, {'a': [('.s2', True)]}, lambda url: False) == doc
