"""Tests for publishing outputs and interpreting the runner's result."""

import copy
import json

import pytest

from cerise_actors.cwl.outputs import (
    OutputFile,
    RunnerResult,
    interpret_runner_result,
    plan_outputs,
)
from cerise_actors.errors import InvalidOutput
from cerise_actors.jobs.states import JobState

WORK = '/base/jobs/ID/work'
PUBLISH = 'http://localhost:29593/files/output/ID'

CWLTOOL_OUTPUT = {
    'out': {
        'location': 'file:///base/jobs/ID/work/out.txt',
        'basename': 'out.txt',
        'class': 'File',
        'checksum': 'sha1$47a013e660d408619d894b20806b1d5086aab03b',
        'size': 29,
        'path': '/base/jobs/ID/work/out.txt',
    }
}


def file(relative, **extra):
    return dict(
        {'class': 'File', 'location': f'file://{WORK}/{relative}', 'path': f'{WORK}/{relative}'},
        **extra,
    )


def test_cwltool_output_is_published():
    original = copy.deepcopy(CWLTOOL_OUTPUT)
    result, files = plan_outputs(CWLTOOL_OUTPUT, WORK, PUBLISH)
    assert files == [OutputFile(f'{WORK}/out.txt', 'out.txt', False)]
    assert result == {
        'out': {
            'location': f'{PUBLISH}/out.txt',
            'basename': 'out.txt',
            'class': 'File',
            'checksum': original['out']['checksum'],
            'size': 29,
        }
    }
    assert CWLTOOL_OUTPUT == original


def test_subdirectories_and_quoting():
    doc = {'x': {'class': 'File', 'location': f'file://{WORK}/sub%20dir/my%20file.txt'}}
    result, files = plan_outputs(doc, WORK, PUBLISH + '/')
    assert files == [OutputFile(f'{WORK}/sub dir/my file.txt', 'sub dir/my file.txt', False)]
    assert result['x']['location'] == f'{PUBLISH}/sub%20dir/my%20file.txt'


def test_arrays_records_and_nulls():
    doc = {
        'many': [file('a.txt'), file('b.txt')],
        'rec': {'name': 'r', 'f': file('c.txt')},
        'optional': None,
        'number': 3,
        'nested': [[file('d.txt')]],
    }
    result, files = plan_outputs(doc, WORK, PUBLISH)
    assert [f.relative for f in files] == ['a.txt', 'b.txt', 'c.txt', 'd.txt']
    assert [f['location'] for f in result['many']] == [f'{PUBLISH}/a.txt', f'{PUBLISH}/b.txt']
    assert result['rec'] == {'name': 'r', 'f': {'class': 'File', 'location': f'{PUBLISH}/c.txt'}}
    assert result['optional'] is None and result['number'] == 3
    assert result['nested'][0][0]['location'] == f'{PUBLISH}/d.txt'


def test_secondary_files_are_published_too():
    doc = {
        'bam': file(
            'r.bam', secondaryFiles=[file('r.bam.bai', secondaryFiles=[file('r.bam.bai.md5')])]
        )
    }
    result, files = plan_outputs(doc, WORK, PUBLISH)
    assert [f.relative for f in files] == ['r.bam', 'r.bam.bai', 'r.bam.bai.md5']
    secondary = result['bam']['secondaryFiles'][0]
    assert secondary['location'] == f'{PUBLISH}/r.bam.bai'
    assert secondary['secondaryFiles'][0]['location'] == (f'{PUBLISH}/r.bam.bai.md5')
    assert 'path' not in secondary


def test_directories_are_published_whole():
    doc = {
        'd': {
            'class': 'Directory',
            'location': f'file://{WORK}/outdir',
            'basename': 'outdir',
            'listing': [
                file('outdir/a.txt'),
                {
                    'class': 'Directory',
                    'location': f'file://{WORK}/outdir/sub',
                    'listing': [file('outdir/sub/b.txt')],
                },
            ],
        }
    }
    result, files = plan_outputs(doc, WORK, PUBLISH)
    assert files == [OutputFile(f'{WORK}/outdir', 'outdir', True)]
    listing = result['d']['listing']
    assert listing[0] == {'class': 'File', 'location': f'{PUBLISH}/outdir/a.txt'}
    assert listing[1]['listing'][0]['location'] == (f'{PUBLISH}/outdir/sub/b.txt')


def test_path_without_location_and_duplicates():
    obj = {'class': 'File', 'path': f'{WORK}/a.txt'}
    result, files = plan_outputs({'a': obj, 'b': [obj, file('a.txt')]}, WORK, PUBLISH)
    assert files == [OutputFile(f'{WORK}/a.txt', 'a.txt', False)]
    assert result['b'][1]['location'] == f'{PUBLISH}/a.txt'


def test_work_dir_spelling_is_normalised():
    doc = {'a': {'class': 'File', 'location': f'file://{WORK}/./x/../a.txt'}}
    _, files = plan_outputs(doc, WORK + '/', PUBLISH)
    assert files == [OutputFile(f'{WORK}/a.txt', 'a.txt', False)]


@pytest.mark.parametrize(
    'location',
    [
        'file:///etc/passwd',
        f'file://{WORK}/../../other/secret',
        f'file://{WORK}',
        f'file://{WORK}/',
        'file:///base/jobs/ID/work2/x',
        'http://evil.example.com/x',
        'file://otherhost/base/jobs/ID/work/x',
        'relative/x.txt',
    ],
)
def test_files_outside_the_work_dir_are_refused(location):
    doc = {'out': [{'class': 'File', 'location': location}]}
    with pytest.raises(InvalidOutput, match="output 'out'"):
        plan_outputs(doc, WORK, PUBLISH)


def test_directory_listing_outside_work_dir_is_refused():
    doc = {
        'd': {
            'class': 'Directory',
            'location': f'file://{WORK}/d',
            'listing': [{'class': 'File', 'location': 'file:///etc/passwd'}],
        }
    }
    with pytest.raises(InvalidOutput, match='outside'):
        plan_outputs(doc, WORK, PUBLISH)


def test_file_without_location_is_refused():
    with pytest.raises(InvalidOutput, match="output 'f'.*without a location"):
        plan_outputs({'f': {'class': 'File', 'basename': 'x'}}, WORK, PUBLISH)


@pytest.mark.parametrize('doc', [None, [], 'x'])
def test_output_must_be_an_object(doc):
    with pytest.raises(InvalidOutput):
        plan_outputs(doc, WORK, PUBLISH)


def test_empty_output():
    assert plan_outputs({}, WORK, PUBLISH) == ({}, [])


# interpret_runner_result


def colour(level, message):
    """A log line as cwltool 3.x writes it to a terminal."""
    return f'\x1b[1;30m{level}\x1b[0m {message}\n'


OUT = json.dumps(CWLTOOL_OUTPUT, indent=4)


def test_success():
    stderr = (
        colour('INFO', '[workflow ] start')
        + colour('INFO', '[job hostname] completed success')
        + colour('INFO', 'Final process status is success')
    )
    result = interpret_runner_result(0, OUT, stderr)
    assert result == RunnerResult(
        JobState.SUCCESS, 'the workflow finished successfully', CWLTOOL_OUTPUT
    )


def test_status_inside_colour_codes():
    stderr = (
        '\x1b[1;30mINFO\x1b[0m \x1b[32mFinal process status is '
        '\x1b[0m\x1b[31mpermanentFail\x1b[0m\n'
    )
    result = interpret_runner_result(0, '{}', stderr)
    assert result.state is JobState.PERMANENT_FAILURE
    assert result.reason == 'the workflow runner reported permanentFail'


def test_last_status_line_decides():
    stderr = 'Final process status is success\n' + colour(
        'WARNING', 'Final process status is temporaryFail'
    )
    result = interpret_runner_result(0, OUT, stderr)
    assert result.state is JobState.TEMPORARY_FAILURE
    assert 'temporaryFail' in result.reason
    assert result.output == CWLTOOL_OUTPUT


def test_permanent_failure_keeps_partial_output():
    partial = {'out': None, 'other': CWLTOOL_OUTPUT['out']}
    stderr = (
        colour('ERROR', '[job step] Job error: exit code 1')
        + colour('WARNING', '[job step] completed permanentFail')
        + colour('WARNING', 'Final process status is permanentFail')
    )
    result = interpret_runner_result(1, json.dumps(partial), stderr)
    assert result.state is JobState.PERMANENT_FAILURE
    assert result.output == partial


def test_failure_without_output():
    result = interpret_runner_result(1, '', 'Final process status is permanentFail\n')
    assert result.state is JobState.PERMANENT_FAILURE
    assert result.output is None


@pytest.mark.parametrize(
    'marker',
    [
        'Tool definition failed validation:\nwf.json:1:59: mapSubject ...',
        'Workflow error, try again with --debug for more information:\nx',
        'Input object failed validation:\nmissing required input',
    ],
)
def test_validation_failures_are_permanent_even_with_exit_code_0(marker):
    stderr = colour('INFO', 'Resolved wf.json') + colour('ERROR', marker)
    result = interpret_runner_result(0, '', stderr)
    assert result.state is JobState.PERMANENT_FAILURE
    assert result.output is None


def test_timeout_is_a_permanent_failure():
    result = interpret_runner_result(None, '', colour('INFO', 'running'), timed_out=True)
    assert result.state is JobState.PERMANENT_FAILURE
    assert 'time limit' in result.reason


def test_timeout_overrides_failure_status():
    result = interpret_runner_result(
        137, '', 'Final process status is permanentFail\n', timed_out=True
    )
    assert result.state is JobState.PERMANENT_FAILURE
    assert 'time limit' in result.reason


def test_success_with_unreadable_output_is_a_system_error():
    result = interpret_runner_result(0, 'not json', 'Final process status is success\n')
    assert result.state is JobState.SYSTEM_ERROR
    assert result.output is None


def test_unknown_status_is_a_system_error():
    result = interpret_runner_result(0, OUT, 'Final process status is odd\n')
    assert result.state is JobState.SYSTEM_ERROR
    assert "'odd'" in result.reason


def test_exit_0_with_json_and_no_status_line_is_success():
    result = interpret_runner_result(0, OUT, '')
    assert result.state is JobState.SUCCESS
    assert result.output == CWLTOOL_OUTPUT


def test_output_after_other_text_on_stdout():
    result = interpret_runner_result(0, 'some noise\n' + OUT, 'Final process status is success\n')
    assert result.state is JobState.SUCCESS
    assert result.output == CWLTOOL_OUTPUT


@pytest.mark.parametrize(
    'exit_code, stdout, code',
    [
        (1, '', '1'),
        (0, '', '0'),
        (0, '[1, 2]', '0'),
        (None, '', 'none'),
        (2, OUT, '2'),
    ],
)
def test_no_usable_result_is_a_system_error(exit_code, stdout, code):
    result = interpret_runner_result(exit_code, stdout, 'Traceback (most recent call last):\n')
    assert result.state is JobState.SYSTEM_ERROR
    assert result.reason == (f'the workflow runner produced no usable result (exit code {code})')


def test_none_streams_are_tolerated():
    result = interpret_runner_result(None, None, None)
    assert result.state is JobState.SYSTEM_ERROR


# an output object larger than stage-out reads


def test_success_with_an_output_object_too_large_is_a_permanent_failure():
    result = interpret_runner_result(
        0, '', 'Final process status is success\n', stdout_size=178 << 20, max_stdout=16 << 20
    )
    assert result.state is JobState.PERMANENT_FAILURE
    assert result.reason.startswith(
        "the workflow's output object is 178.0 MiB, more than the service reads (16.0 MiB)"
    )
    assert result.output is None
    assert result.detail == (
        f"the runner's stdout is {178 << 20} bytes, more than MAX_OUTPUT_JSON ({16 << 20}); "
        'not read'
    )


def test_exit_0_with_an_output_object_too_large_is_a_permanent_failure():
    result = interpret_runner_result(0, '', '', stdout_size=2049, max_stdout=2048)
    assert result.state is JobState.PERMANENT_FAILURE
    assert 'output object is 2.0 KiB, more than the service reads (2.0 KiB)' in result.reason


def test_a_truncated_output_object_is_never_parsed():
    """What the limit cut is not read, even if the part read parses."""
    result = interpret_runner_result(
        0, '{}', 'Final process status is success\n', stdout_size=5000, max_stdout=100
    )
    assert result.state is JobState.PERMANENT_FAILURE


def test_a_failure_with_an_output_object_too_large_stays_what_the_runner_said():
    result = interpret_runner_result(
        1, '', 'Final process status is permanentFail\n', stdout_size=5000, max_stdout=100
    )
    assert result == RunnerResult(
        JobState.PERMANENT_FAILURE, 'the workflow runner reported permanentFail', None
    )


def test_an_output_object_within_the_limit_is_read():
    result = interpret_runner_result(
        0, OUT, 'Final process status is success\n', stdout_size=len(OUT), max_stdout=len(OUT)
    )
    assert result.state is JobState.SUCCESS


def test_unreadable_output_says_why_in_the_detail():
    result = interpret_runner_result(0, '{"a": ', 'Final process status is success\n')
    assert result.state is JobState.SYSTEM_ERROR
    assert result.detail.startswith('stdout (5 characters) is not a JSON object: JSONDecodeError')
