"""End to end through HTTP: jobs that must fail, with a log that says why,
and without running anything the specialisation does not offer."""

import pytest

from .. import workflows as wf


def _fails(client, workflow, inputs=None, *words):
    done = client.wait_final(client.submit(workflow, inputs)['id'])
    log = client.log(done['id'])
    assert done['state'] == 'PermanentFailure', log
    for word in words:
        assert word in log, log
    return done, log


def test_missing_input_file(client):
    url = client.put_input('test', 'present.txt', 'x').replace('present.txt', 'absent.txt')
    _fails(
        client, wf.WC, {'file': {'class': 'File', 'location': url}}, 'absent.txt', 'does not exist'
    )


def test_non_workflow_document(client):
    _fails(client, wf.COMMAND_LINE_TOOL, None, 'Workflow')


def test_unknown_step(client):
    _fails(client, wf.UNKNOWN_STEP, None, 'test/no_such_step.cwl')


def test_inline_tool_is_refused_and_never_runs(client, tmp_path):
    _fails(client, wf.INLINE_TOOL, None, 'inline')
    import os

    assert not os.path.exists('/tmp/cerise-inline-tool-ran')


@pytest.mark.parametrize(
    'workflow', [wf.ESCAPING_STEP, wf.ABSOLUTE_STEP], ids=['dotdot', 'absolute']
)
def test_step_path_escaping_the_api(client, workflow):
    done, log = _fails(client, workflow, None)
    assert 'step' in log.lower()


def test_requirement_that_changes_how_steps_run(client):
    _fails(client, wf.ENV_VAR_TRICK, None, 'EnvVarRequirement')


def test_input_outside_the_exchange_area(client):
    _fails(
        client,
        wf.WC,
        {'file': {'class': 'File', 'location': 'file:///etc/passwd'}},
        'outside the file exchange area',
    )


def test_input_through_a_symlink_out_of_the_exchange(client, service):
    link = service.root / 'files' / 'input' / 'test' / 'sneaky.txt'
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to('/etc/passwd')
    _fails(
        client,
        wf.WC,
        {'file': {'class': 'File', 'location': link.as_uri()}},
        'outside the file exchange area',
    )


def test_workflow_outside_the_exchange_area(client):
    from ..helpers import http

    status, job, _ = http(
        'POST', f'{client.base}/jobs', {'workflow': 'file:///etc/passwd', 'name': 'x'}
    )
    assert status == 201
    done = client.wait_final(job['id'])
    assert done['state'] == 'PermanentFailure'
    assert 'outside the file exchange area' in client.log(job['id'])


def test_failing_step(client):
    done, log = _fails(client, wf.FAIL, None, 'permanentFail', 'this step always fails')
    assert done['output'] == {}


def test_workflow_that_is_not_yaml(client):
    _fails(client, 'class: Workflow\n  steps: [: bad', None, 'not valid')
