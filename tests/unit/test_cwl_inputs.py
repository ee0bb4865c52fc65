"""Tests for planning the staging of a job's input files."""

import copy

import pytest

from cerise_actors.cwl.inputs import InputFile, plan_inputs
from cerise_actors.errors import InvalidInput

WORK = '/home/user/.cerise/jobs/abc/work'


def url(target):
    return f'file://{WORK}/{target}'


def test_single_file():
    doc = {
        'text': {
            'class': 'File',
            'location': 'http://host/files/input/hello.txt',
            'path': '/somewhere/hello.txt',
            'format': 'edam:1',
            'checksum': 'sha1$abc',
            'size': 5,
        }
    }
    result, files = plan_inputs(doc, WORK)
    assert files == [
        InputFile('http://host/files/input/hello.txt', 'input/1/hello.txt', False, 'text')
    ]
    assert result == {
        'text': {
            'class': 'File',
            'location': url('input/1/hello.txt'),
            'format': 'edam:1',
            'checksum': 'sha1$abc',
            'size': 5,
        }
    }


def test_input_is_not_modified():
    doc = {
        'a': [
            {
                'class': 'File',
                'location': 'file:///data/a.txt',
                'secondaryFiles': [{'class': 'File', 'location': 'file:///data/a.idx'}],
            }
        ]
    }
    original = copy.deepcopy(doc)
    plan_inputs(doc, WORK)
    assert doc == original


def test_plain_values_pass_through():
    doc = {'n': 3, 's': 'text', 'none': None, 'flag': True, 'rec': {'a': [1, 2], 'b': {'c': 'd'}}}
    result, files = plan_inputs(doc, WORK)
    assert result == doc and files == []


def test_empty_input():
    assert plan_inputs({}, WORK) == ({}, [])


def test_path_only_becomes_file_url():
    doc = {'f': {'class': 'File', 'path': '/data/my file.txt'}}
    result, files = plan_inputs(doc, WORK)
    assert files == [InputFile('file:///data/my%20file.txt', 'input/1/my file.txt', False, 'f')]
    assert result['f'] == {'class': 'File', 'location': url('input/1/my%20file.txt')}


def test_absolute_path_as_location_becomes_file_url():
    _, files = plan_inputs({'f': {'class': 'File', 'location': '/data/x'}}, WORK)
    assert files[0].source == 'file:///data/x'


def test_location_wins_over_path():
    doc = {'f': {'class': 'File', 'location': 'https://h/a.txt', 'path': '/elsewhere/b.txt'}}
    result, files = plan_inputs(doc, WORK)
    assert files[0].source == 'https://h/a.txt'
    assert files[0].target == 'input/1/a.txt'
    assert 'path' not in result['f']


def test_basename_is_url_decoded_and_location_quoted():
    doc = {'f': {'class': 'File', 'location': 'http://h/my%20file%231.txt'}}
    result, files = plan_inputs(doc, WORK)
    assert files[0].target == 'input/1/my file#1.txt'
    assert result['f']['location'] == url('input/1/my%20file%231.txt')


def test_basename_field_wins():
    doc = {'f': {'class': 'File', 'location': 'http://h/get?id=3', 'basename': 'data.csv'}}
    result, files = plan_inputs(doc, WORK)
    assert files[0].target == 'input/1/data.csv'
    assert result['f']['basename'] == 'data.csv'
    assert result['f']['location'] == url('input/1/data.csv')


def test_arrays_of_files_get_their_own_folders():
    doc = {
        'files': [
            {'class': 'File', 'location': 'http://h/a/data.txt'},
            {'class': 'File', 'location': 'http://h/b/data.txt'},
        ],
        'other': {'class': 'File', 'location': 'http://h/c/data.txt'},
    }
    result, files = plan_inputs(doc, WORK)
    assert [(f.target, f.name) for f in files] == [
        ('input/1/data.txt', 'files'),
        ('input/2/data.txt', 'files'),
        ('input/3/data.txt', 'other'),
    ]
    assert [f['location'] for f in result['files']] == [
        url('input/1/data.txt'),
        url('input/2/data.txt'),
    ]


def test_files_in_records_and_nested_arrays():
    doc = {
        'rec': {
            'name': 'x',
            'files': [[{'class': 'File', 'location': 'http://h/1.txt'}]],
            'inner': {'f': {'class': 'File', 'location': 'http://h/2.txt'}},
        }
    }
    result, files = plan_inputs(doc, WORK)
    assert [f.target for f in files] == ['input/1/1.txt', 'input/2/2.txt']
    assert result['rec']['name'] == 'x'
    assert result['rec']['files'][0][0]['location'] == url('input/1/1.txt')
    assert result['rec']['inner']['f']['location'] == url('input/2/2.txt')


def test_secondary_files_of_secondary_files_share_the_folder():
    doc = {
        'bam': {
            'class': 'File',
            'location': 'http://h/r.bam',
            'secondaryFiles': [
                {
                    'class': 'File',
                    'location': 'http://h/r.bam.bai',
                    'secondaryFiles': [{'class': 'File', 'location': 'http://h/r.bam.bai.md5'}],
                },
                {
                    'class': 'Directory',
                    'location': 'http://h/r_index',
                    'listing': [{'class': 'File', 'location': 'http://h/r_index/a'}],
                },
            ],
        },
        'next': {'class': 'File', 'location': 'http://h/n.txt'},
    }
    result, files = plan_inputs(doc, WORK)
    assert files == [
        InputFile('http://h/r.bam', 'input/1/r.bam', False, 'bam'),
        InputFile('http://h/r.bam.bai', 'input/1/r.bam.bai', False, 'bam'),
        InputFile('http://h/r.bam.bai.md5', 'input/1/r.bam.bai.md5', False, 'bam'),
        InputFile('http://h/r_index', 'input/1/r_index', True, 'bam'),
        InputFile('http://h/n.txt', 'input/2/n.txt', False, 'next'),
    ]
    secondary = result['bam']['secondaryFiles']
    assert secondary[0]['location'] == url('input/1/r.bam.bai')
    assert secondary[0]['secondaryFiles'][0]['location'] == url('input/1/r.bam.bai.md5')
    assert secondary[1] == {'class': 'Directory', 'location': url('input/1/r_index')}


def test_secondary_with_same_name_as_primary_collides():
    doc = {
        'f': {
            'class': 'File',
            'location': 'http://h/a/x.txt',
            'secondaryFiles': [{'class': 'File', 'location': 'http://h/b/x.txt'}],
        }
    }
    with pytest.raises(InvalidInput, match="input 'f': two files .* 'input/1/x.txt'"):
        plan_inputs(doc, WORK)


def test_two_secondaries_with_same_name_collide():
    doc = {
        'f': {
            'class': 'File',
            'location': 'http://h/x.txt',
            'secondaryFiles': [
                {'class': 'File', 'location': 'http://h/a/y'},
                {'class': 'File', 'location': 'http://h/b/z', 'basename': 'y'},
            ],
        }
    }
    with pytest.raises(InvalidInput, match="'input/1/y'"):
        plan_inputs(doc, WORK)


def test_directory_is_copied_whole():
    doc = {
        'd': {
            'class': 'Directory',
            'location': 'file:///data/dir',
            'basename': 'dir',
            'listing': [
                {'class': 'File', 'location': 'file:///data/dir/a'},
                {'class': 'Directory', 'location': 'file:///data/dir/sub'},
            ],
        }
    }
    result, files = plan_inputs(doc, WORK)
    assert files == [InputFile('file:///data/dir', 'input/1/dir', True, 'd')]
    assert result['d'] == {'class': 'Directory', 'basename': 'dir', 'location': url('input/1/dir')}


def test_literal_directory_stages_its_entries():
    doc = {
        'd': {
            'class': 'Directory',
            'basename': 'made',
            'listing': [
                {'class': 'File', 'location': 'http://h/a.txt'},
                {'class': 'File', 'basename': 'b.txt', 'contents': 'b'},
            ],
        }
    }
    result, files = plan_inputs(doc, WORK)
    assert files == [InputFile('http://h/a.txt', 'input/1/a.txt', False, 'd')]
    assert result['d']['basename'] == 'made'
    assert result['d']['listing'] == [
        {'class': 'File', 'location': url('input/1/a.txt')},
        {'class': 'File', 'basename': 'b.txt', 'contents': 'b'},
    ]


def test_file_literals_are_left_alone():
    literal = {'class': 'File', 'basename': 'a.txt', 'contents': 'hello'}
    blank = {'class': 'File', 'location': '_:abc', 'contents': 'x'}
    result, files = plan_inputs({'a': literal, 'b': blank}, WORK)
    assert result == {'a': literal, 'b': blank} and files == []


def test_secondary_files_of_a_literal_get_a_folder():
    doc = {
        'a': {
            'class': 'File',
            'basename': 'a.txt',
            'contents': 'x',
            'secondaryFiles': [{'class': 'File', 'location': 'http://h/a.txt.idx'}],
        },
        'b': {'class': 'File', 'location': 'http://h/b'},
    }
    result, files = plan_inputs(doc, WORK)
    assert [f.target for f in files] == ['input/1/a.txt.idx', 'input/2/b']
    assert result['a']['contents'] == 'x'


@pytest.mark.parametrize(
    'obj',
    [
        {'class': 'File'},
        {'class': 'File', 'basename': 'x.txt'},
        {'class': 'Directory', 'basename': 'd'},
        {'class': 'File', 'location': None},
    ],
)
def test_file_without_source_is_refused(obj):
    with pytest.raises(InvalidInput, match="input 'thing': a (File|Dir)"):
        plan_inputs({'thing': [obj]}, WORK)


def test_relative_location_is_refused():
    with pytest.raises(InvalidInput, match="input 'x': location 'foo.txt' is not an absolute URL"):
        plan_inputs({'x': {'class': 'File', 'location': 'foo.txt'}}, WORK)


@pytest.mark.parametrize(
    'obj, match',
    [
        ({'class': 'File', 'location': '../etc/passwd'}, 'not an absolute URL'),
        ({'class': 'File', 'location': '_:abc'}, 'not an absolute URL'),
        ({'class': 'File', 'location': 42}, 'is not a URL'),
        ({'class': 'File', 'path': 'rel/x.txt'}, 'not an absolute path'),
        ({'class': 'Directory', 'path': 'dir'}, 'not an absolute path'),
    ],
)
def test_bad_sources_are_refused(obj, match):
    with pytest.raises(InvalidInput, match=match):
        plan_inputs({'x': obj}, WORK)


@pytest.mark.parametrize('key', ['cwltool:overrides', '$schemas', '$namespaces', 'http://x/y'])
def test_directive_and_extension_keys_are_refused(key):
    with pytest.raises(InvalidInput, match='not allowed'):
        plan_inputs({key: {}, 'x': 1}, WORK)


@pytest.mark.parametrize('doc', [[], 'x', None, 3])
def test_input_must_be_an_object(doc):
    with pytest.raises(InvalidInput, match='JSON object'):
        plan_inputs(doc, WORK)


@pytest.mark.parametrize(
    'secondary',
    [
        'http://h/x.idx',
        {'class': 'File', 'location': 'http://h/x'},
        [{'location': 'http://h/x.idx'}],
        ['http://h/x.idx'],
    ],
)
def test_malformed_secondary_files(secondary):
    doc = {'f': {'class': 'File', 'location': 'http://h/x', 'secondaryFiles': secondary}}
    with pytest.raises(InvalidInput, match="input 'f': secondaryFiles"):
        plan_inputs(doc, WORK)


def test_malformed_listing_of_literal_directory():
    doc = {'d': {'class': 'Directory', 'basename': 'd', 'listing': ['http://h/x']}}
    with pytest.raises(InvalidInput, match='listing'):
        plan_inputs(doc, WORK)


def test_work_dir_trailing_slash():
    result, _ = plan_inputs({'f': {'class': 'File', 'location': 'http://h/a'}}, WORK + '/')
    assert result['f']['location'] == url('input/1/a')


def test_deep_nesting_is_refused():
    value = {'class': 'File', 'location': 'http://h/a'}
    for _ in range(5000):
        value = [value]
    with pytest.raises(InvalidInput, match="input 'x' is nested too deeply"):
        plan_inputs({'x': value}, WORK)


@pytest.mark.parametrize(
    'value',
    [
        {'$import': 'file:///etc/passwd'},
        [{'a': {'$include': '/etc/passwd'}}],
        {'class': 'File', 'location': 'http://h/a', '$mixin': {}},
        {
            'class': 'File',
            'location': 'http://h/a',
            'secondaryFiles': [
                {
                    'class': 'File',
                    'location': 'http://h/b',
                    'https://w3id.org/cwl/cwl#location': '/etc/x',
                }
            ],
        },
        {'rec': {'cwl:location': '/etc/passwd'}},
    ],
)
def test_nested_directives_and_extension_keys_are_refused(value):
    with pytest.raises(InvalidInput, match="input 'x': the key .* is not allowed"):
        plan_inputs({'x': value}, WORK)


@pytest.mark.parametrize('cls', ['cwl:File', 'https://w3id.org/cwl/cwl#File', 'file'])
def test_other_spellings_of_file_with_a_location_are_refused(cls):
    with pytest.raises(InvalidInput, match="input 'x': an object with class"):
        plan_inputs({'x': [{'class': cls, 'path': '/etc/passwd'}]}, WORK)
