"""The CLI's check of an inputs file against the workflow's declared types."""

from cerise_actors.client.input_types import type_problems


def test_plain_mismatches_are_named_with_their_line(tmp_path):
    inputs = tmp_path / 'in.yml'
    inputs.write_text('text: 42\ncount: "3"\nflag: true\nratio: 2\nnames: [a, 1]\nmaybe: null\n')
    declared = {
        'text': 'string',
        'count': 'int',
        'flag': 'boolean',
        'ratio': 'double',
        'names': 'string[]',
        'maybe': 'int?',
    }
    values = {'text': 42, 'count': '3', 'flag': True, 'ratio': 2, 'names': ['a', 1], 'maybe': None}
    assert type_problems(values, declared, inputs) == [
        "in.yml:1: input 'text' is the number 42, but the workflow declares it string",
        "in.yml:2: input 'count' is the text '3', but the workflow declares it int",
        "in.yml:5: input 'names' is a list, but the workflow declares it string[]",
    ]


def test_what_cannot_be_judged_for_sure_is_left_to_the_service(tmp_path):
    declared = {
        'record': {'type': 'record', 'fields': []},
        'anything': 'Any',
        'named': 'types.yml#Colour',
        'either': ['int', 'types.yml#Colour'],
    }
    values = {'record': 5, 'anything': [1], 'named': 'red', 'either': 'x'}
    assert type_problems(values, declared, None) == []
    assert type_problems({'whatever': 1}, {}, None) == []  # declarations unknown
    assert type_problems({'flag': 1}, {'flag': 'boolean'}, None) == [
        "input 'flag' is the number 1, but the workflow declares it boolean"
    ]
    assert type_problems({'n': True}, {'n': 'int'}, None) == [
        "input 'n' is the boolean true, but the workflow declares it int"
    ]


def test_files_unions_and_undeclared_names_are_named_with_their_line(tmp_path):
    inputs = tmp_path / 'in.yml'
    inputs.write_text('file: x.txt\neither: 1.5\nfiel:\n  class: File\nok: {class: File}\n')
    declared = {'file': 'File', 'either': ['int', 'string'], 'ok': 'File?'}
    values = {'file': 'x.txt', 'either': 1.5, 'fiel': {'class': 'File'}, 'ok': {'class': 'File'}}
    assert type_problems(values, declared, inputs) == [
        "in.yml:1: input 'file' is the text 'x.txt', but the workflow declares it File; "
        'write {class: File, location: x.txt}',
        "in.yml:2: input 'either' is the number 1.5, but the workflow declares it "
        '["int", "string"]',
        "in.yml:3: input 'fiel' is not an input of the workflow (its inputs: 'either', "
        "'file', 'ok'); did you mean 'file'?",
    ]
