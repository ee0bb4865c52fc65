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
        'file': 'File',
        'record': {'type': 'record', 'fields': []},
        'either': ['int', 'string'],
    }
    values = {'file': 'x.txt', 'record': 5, 'either': 1.5, 'undeclared': 1}
    assert type_problems(values, declared, None) == []
    assert type_problems({'flag': 1}, {'flag': 'boolean'}, None) == [
        "input 'flag' is the number 1, but the workflow declares it boolean"
    ]
    assert type_problems({'n': True}, {'n': 'int'}, None) == [
        "input 'n' is the boolean true, but the workflow declares it int"
    ]
