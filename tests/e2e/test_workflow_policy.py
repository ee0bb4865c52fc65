"""End to end through HTTP: what a submitted workflow may contain (docs/specialisation.md,
"The policy: what a workflow may contain").

Allowed constructs run (hints the service does not honour are dropped with a line in the
job log; workflows without steps; File defaults, `$import` and `$include` of files next to
the workflow in the exchange area; secondaryFiles found by pattern; ToolTimeLimit per tool;
scatter side by side within the job's cores). What could run a command or read a file
elsewhere ends the job in PermanentFailure before it starts, with a job log that says why.
"""

import json
import urllib.request
from pathlib import Path

import pytest

from .. import workflows as wf

REFUSED = 'Cannot run this job: '
STARTED = 'Started on the compute resource'
DATA = 'one two\nthree\n'


def _run(client, workflow, inputs=None, name='policy', state='Success', timeout=120.0):
    done = client.wait_final(client.submit(workflow, inputs, name=name)['id'], timeout)
    log = client.log(done['id'])
    assert done['state'] == state, log
    return done, log


def _refused_before_start(client, workflow, inputs=None, name='policy'):
    """The job fails in staging: PermanentFailure, one ERROR line, nothing ran."""
    done, log = _run(client, workflow, inputs, name, state='PermanentFailure')
    assert REFUSED in log, log
    assert STARTED not in log, log
    assert done['output'] == {}
    return log


def _path(location):
    assert location.startswith('file://'), location
    return Path(urllib.request.url2pathname(location[len('file://') :]))


def _times(file_object):
    """(start, end) that timed_sleep.cwl wrote, in seconds since the epoch."""
    start, end = (float(word) for word in _path(file_object['location']).read_text().split())
    return start, end


# -- hints and requirements ------------------------------------------------------------


def test_hints_the_service_does_not_honour_are_ignored_with_a_note(client):
    done, log = _run(client, wf.IGNORED_HINTS)
    assert "the workflow: ignored the hint 'DockerRequirement'" in log, log
    assert "the workflow: ignored the hint 'EnvVarRequirement'" in log, log
    assert "step 's': ignored the hint 'SoftwareRequirement'" in log, log
    assert client.output_text(done, 'output') == 'unset\n'  # the hint's variable was not set


@pytest.mark.parametrize(
    'cls, body, reason',
    [
        ('EnvVarRequirement', '{envDef: {PATH: /tmp/evil}}', 'setting environment variables'),
        ('ShellCommandRequirement', '{}', 'it would let the workflow run shell commands'),
        (
            'InitialWorkDirRequirement',
            '{listing: [{entryname: x, entry: y}]}',
            "it could place arbitrary files in a step's working directory",
        ),
        (
            'DockerRequirement',
            '{dockerPull: evil}',
            'steps run with the software the service installed, not in a container of your choice',
        ),
        (
            'SoftwareRequirement',
            '{packages: [{package: evil}]}',
            'steps run with the software the service installed',
        ),
        ('cwltool:Secrets', '{secrets: []}', 'extensions could change how the installed steps'),
    ],
    ids=['EnvVar', 'ShellCommand', 'InitialWorkDir', 'Docker', 'Software', 'extension'],
)
def test_requirements_that_change_what_steps_run_are_refused(client, cls, body, reason):
    log = _refused_before_start(client, wf.with_requirement(f'{json.dumps(cls)}: {body}'))
    assert f"{REFUSED}the workflow: requirement '{cls}' is not allowed: {reason}" in log, log


# -- workflows without steps -----------------------------------------------------------


@pytest.mark.parametrize('steps', ['[]', '{}'], ids=['list', 'mapping'])
def test_workflow_without_steps_passes_inputs_to_outputs(client, steps):
    url = client.put_input('nosteps', 'data.txt', DATA)
    inputs = {'text': 'as given', 'file': {'class': 'File', 'location': url}}
    done, log = _run(client, wf.passing_through(steps), inputs, name='nosteps')
    assert 'Staged in: workflow with no steps; 1 input file(s)' in log, log
    assert done['output']['same_text'] == 'as given'
    assert client.output_text(done, 'same_file') == DATA
    assert f'/output/{done["id"]}/' in done['output']['same_file']['location']


# -- File defaults -----------------------------------------------------------------------


@pytest.mark.parametrize('location', ['data.txt', 'sub/data.txt', './data.txt'])
def test_file_default_next_to_the_workflow_is_staged(client, location):
    client.put_input('defaults', location, DATA)
    done, log = _run(client, wf.wc_of_default(location), name='defaults')
    assert 'Staged in: workflow with steps test/wc.cwl; 1 input file(s), 14 bytes sent.' in log
    assert client.output_text(done, 'output').split()[:3] == ['2', '3', str(len(DATA))]


@pytest.mark.parametrize(
    'location, words',
    [
        ('../' * 15 + 'etc/passwd', ['file:///etc/passwd: outside the file exchange area']),
        ('/etc/passwd', ['file:///etc/passwd: outside the file exchange area']),
        ('file:///etc/passwd', ['file:///etc/passwd: outside the file exchange area']),
        (
            'http://example.org/data.txt',
            ['http://example.org/data.txt is not in the file exchange area', 'next to it there'],
        ),
    ],
    ids=['dotdot', 'absolute', 'file-url', 'http'],
)
def test_file_default_elsewhere_is_refused(client, location, words):
    log = _refused_before_start(client, wf.wc_of_default(location), name='defaults')
    assert REFUSED + 'the default at inputs.file.default: ' in log, log
    for word in words:
        assert word in log, log


def test_file_default_through_a_symlink_out_of_the_exchange_is_refused(client, service):
    link = service.root / 'files' / 'input' / 'defaults' / 'link.txt'
    link.parent.mkdir(parents=True)
    link.symlink_to('/etc/passwd')
    log = _refused_before_start(client, wf.wc_of_default('link.txt'), name='defaults')
    assert 'the default at inputs.file.default: ' in log, log
    assert f'{link.as_uri()}: outside the file exchange area' in log, log


# -- $import and $include ---------------------------------------------------------------


def test_import_and_include_next_to_the_workflow(client):
    client.put_input('imports', 'types.yml', wf.IMPORTED_TYPES)
    client.put_input('imports', 'lib.js', wf.INCLUDED_LIBRARY)
    done, _ = _run(client, wf.importing(), {'colour': 'green'}, name='imports')
    assert client.output_text(done, 'output') == 'GREEN!\n'
    # the imported enum is enforced: a value outside it is refused by the runner
    _, log = _run(
        client, wf.importing(), {'colour': 'purple'}, name='imports', state='PermanentFailure'
    )
    assert "the value 'purple' is not a valid Colour" in log, log


@pytest.mark.parametrize(
    'include, types, words',
    [
        ('lib.js', '../' * 15 + 'etc/passwd', ['file:///etc/passwd: outside the file exchange']),
        ('/etc/passwd', 'types.yml', ['file:///etc/passwd: outside the file exchange area']),
        ('lib.js', 'file:///etc/hostname', ['file:///etc/hostname: outside the file exchange']),
        (
            'lib.js',
            'http://example.org/types.yml',
            ['$import or $include of http://example.org/types.yml: a workflow may import only'],
        ),
        ('https://example.org/lib.js', 'types.yml', ['https://example.org/lib.js: a workflow may']),
        ('link.js', 'types.yml', ['link.js: outside the file exchange area']),
    ],
    ids=[
        'import-dotdot',
        'include-absolute',
        'import-file-url',
        'import-http',
        'include-https',
        'include-symlink',
    ],
)
def test_import_or_include_of_anything_else_is_refused(client, service, include, types, words):
    client.put_input('imports', 'types.yml', wf.IMPORTED_TYPES)
    client.put_input('imports', 'lib.js', wf.INCLUDED_LIBRARY)
    (service.root / 'files' / 'input' / 'imports' / 'link.js').symlink_to('/etc/passwd')
    log = _refused_before_start(
        client, wf.importing(include, types), {'colour': 'green'}, name='imports'
    )
    for word in words:
        assert word in log, log
    assert 'root:' not in log, 'the log shows what the refused file holds'


# -- secondaryFiles ------------------------------------------------------------------------


def test_secondary_file_found_by_the_pattern_reaches_the_step(client):
    primary = client.put_input('indexed', 'data.txt', 'abc')
    client.put_input('indexed', 'data.txt.idx', 'index!')
    done, log = _run(
        client, wf.INDEXED, {'file': {'class': 'File', 'location': primary}}, name='indexed'
    )
    assert '2 input file(s), 9 bytes sent.' in log, log
    assert client.output_text(done, 'output').split('\n')[:2] == ['3 data.txt', '6 data.txt.idx']


def test_missing_secondary_file_fails_the_job(client):
    primary = client.put_input('indexed', 'data.txt', 'abc')
    done, log = _run(
        client,
        wf.INDEXED,
        {'file': {'class': 'File', 'location': primary}},
        name='indexed',
        state='PermanentFailure',
    )
    assert "Missing required secondary file 'data.txt.idx'" in log, log


# -- ToolTimeLimit ---------------------------------------------------------------------------


def test_tool_time_limit_is_per_tool_not_per_job(client):
    done, log = _run(client, wf.TOOL_TIME_LIMIT_TWO_STEPS, timeout=120)
    first, second = _times(done['output']['first']), _times(done['output']['second'])
    assert first[1] <= second[0], 'the second step started before the first ended'
    assert second[1] - first[0] > 5, 'together the steps took longer than the limit of 5 s'
    assert 'Success: 2 output file(s) published.' in log, log


def test_tool_over_its_time_limit_fails_the_job(client):
    done, log = _run(client, wf.TOOL_TIME_LIMIT_EXCEEDED, state='PermanentFailure')
    assert 'exceeded time limit of 3 seconds' in log, log
    assert 'The workflow failed: the workflow runner reported permanentFail.' in log, log
    # timed_sleep.cwl wrote when it started, and was stopped before writing when it ended
    lines = _path(done['output']['output']['location']).read_text().split()
    assert len(lines) == 1, lines


# -- scatter on the job's cores ---------------------------------------------------------


def _most_at_once(intervals):
    """The largest number of (start, end) intervals that overlap at one moment."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


def test_scatter_runs_side_by_side_on_the_jobs_cores(client):
    # the job reserves 2 cores (the workflow's coresMin); each scattered tool needs 1
    done, log = _run(client, wf.scattered_sleep(2, step_cores=1), {'seconds': [1, 1, 1, 1]})
    times = [_times(item) for item in done['output']['times']]
    assert len(times) == 4
    assert _most_at_once(times) == 2, times
    assert 'Success: 4 output file(s) published.' in log, log


def test_scatter_steps_inherit_the_workflows_cores(client):
    # CWL: the workflow's ResourceRequirement applies to every step, so each scattered
    # tool needs both of the job's 2 cores and they run one after the other
    done, _ = _run(client, wf.scattered_sleep(2), {'seconds': [1, 1, 1]})
    times = [_times(item) for item in done['output']['times']]
    assert len(times) == 3
    assert _most_at_once(times) == 1, times
