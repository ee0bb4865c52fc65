"""Input mistakes explained in the user's terms (staging/input_mistakes.py), and
cwltool's warnings about the input object kept per check (staging/validate.py)."""

import logging
import threading

import pytest

from cerise_actors.errors import InvalidInput
from cerise_actors.staging import input_mistakes as im
from cerise_actors.staging.api_install import local_projects
from cerise_actors.staging.validate import WorkflowValidator

from ..helpers import TEST_API_DIR
from ..workflows import ECHO, FILE_ARRAY, WC

URL = 'http://127.0.0.1:1/files/input/job-1/mine.cwl'
DECLARED = [
    {'id': f'{URL}#file', 'type': 'File'},
    {'id': f'{URL}#files', 'type': {'type': 'array', 'items': 'File'}},
    {'id': f'{URL}#n', 'type': ['null', 'int']},
    {'id': f'{URL}#colour', 'type': {'type': 'enum', 'symbols': [f'{URL}#colour/red']}},
    {'id': f'{URL}#any', 'type': 'Any'},
]


def refuse(url):
    raise AssertionError(f'read {url}')


@pytest.fixture(scope='module')
def validator():
    return WorkflowValidator(local_projects(TEST_API_DIR))


def test_a_string_for_a_file_names_input_value_type_and_shape():
    (line,) = im.explain(DECLARED, {'file': 'text.txt'}, URL)
    assert line == (
        "input 'file': got the string 'text.txt', but it is declared File; write "
        '{"class": "File", "location": "http://127.0.0.1:1/files/input/job-1/text.txt"}'
    )


def test_without_an_upload_folder_the_shape_has_a_placeholder():
    (line,) = im.explain(DECLARED, {'file': 42}, 'file:///srv/files/x.cwl')
    assert 'got the number 42' in line
    assert '{"class": "File", "location": "<URL under /files/input/...>"}' in line


def test_a_bad_array_item_is_named_by_its_index():
    good = {'class': 'File', 'location': 'http://x/a'}
    (line,) = im.explain(DECLARED, {'files': [good, 'b.txt']}, URL)
    assert "got a list of 2 items whose item [1] is the string 'b.txt'" in line
    assert 'declared File[]' in line and 'job-1/b.txt' in line


def test_a_file_without_location_says_what_it_needs():
    (line,) = im.explain(DECLARED, {'file': {'class': 'File', 'basename': 'a'}}, URL)
    assert 'needs a "location"' in line and 'contents and basename' in line


def test_values_that_fit_or_cannot_be_judged_give_no_line():
    job = {
        'file': {'class': 'File', 'location': 'http://x/a'},
        'files': [],
        'n': None,
        'colour': 'red',
        'any': {'whatever': 1},
        'cwl:tool': 'mine.cwl',
    }
    assert im.explain(DECLARED, job, URL) == []


def test_wrong_scalars_enums_and_booleans():
    lines = im.explain(DECLARED, {'n': True, 'colour': 'blue'}, URL)
    assert lines == [
        "input 'n': got the boolean true, but it is declared int?",
        "input 'colour': got the string 'blue', but it is declared enum (red)",
    ]


def test_an_undeclared_name_lists_the_inputs_and_the_closest():
    (line,) = im.explain(DECLARED, {'fiel': 'x'}, URL)
    assert "input 'fiel' is not declared by the workflow" in line
    assert "'file', 'files'" in line and "did you mean 'file'?" in line


def test_values_are_shown_shortened_and_without_control_characters():
    (line,) = im.explain(DECLARED, {'n': 'a\nERROR forged line' + 'x' * 200}, URL)
    assert '\n' not in line and '\\n' in line and '...' in line
    assert len(line) < 200


def test_the_validator_explains_a_string_given_for_a_file(validator):
    with pytest.raises(InvalidInput) as caught:
        validator.check(URL, WC.encode(), {'file': 'text.txt'}, refuse)
    message = str(caught.value)
    assert "input 'file': got the string 'text.txt', but it is declared File" in message
    assert '"location": "http://127.0.0.1:1/files/input/job-1/text.txt"' in message
    assert "cwltool's explanation: the 'file' field is not valid" in message


def test_the_validator_suggests_the_name_of_a_missing_required_input(validator):
    with pytest.raises(InvalidInput, match="did you mean 'file'") as caught:
        validator.check(URL, WC.encode(), {'fiel': {'class': 'File', 'location': 'x'}}, refuse)
    assert "Missing required input parameter 'file'" in str(caught.value)


def test_cwltool_warnings_are_returned_not_logged(validator, caplog):
    caplog.set_level(logging.DEBUG)
    warnings = validator.check(URL, ECHO.encode(), {'text': 'x', 'txet': 1}, refuse)
    assert warnings == (
        "Warning about the input object: invalid field 'txet', expected one of: 'text' "
        "(did you mean 'text'?)",
    )
    assert not [r for r in caplog.records if 'txet' in r.getMessage()]
    assert validator.check(URL, ECHO.encode(), {'text': 'x'}, refuse) == ()


def test_warnings_of_checks_at_the_same_time_stay_with_their_job(validator):
    results = {}

    def check(name):
        for _ in range(5):
            results.setdefault(name, set()).update(
                validator.check(URL, FILE_ARRAY.encode(), {'files': [], name: 1}, refuse)
            )

    threads = [threading.Thread(target=check, args=(f'extra{i}',)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, lines in results.items():
        assert len(lines) == 1 and f"invalid field '{name}'" in next(iter(lines)), lines
