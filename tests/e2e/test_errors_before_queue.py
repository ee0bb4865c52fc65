"""CWL mistakes are reported while staging, before a job waits for a slot.

The workflow and the input object are checked with cwltool's loader on the
service. A wrong type, a missing input or a step input the step does not
have ends the job in PermanentFailure with cwltool's explanation and a line
number in the user's own file, and the job never starts on the resource,
even while every slot is taken by another job.
"""

import subprocess
import sys
import time

from .. import workflows as wf

WRONG_STEP_INPUT = """cwlVersion: v1.0
class: Workflow
inputs:
  text: string
outputs:
  output: {type: File, outputSource: s/output}
steps:
  s:
    run: test/echo.cwl
    in: {txt: text}
    out: [output]
"""


def refused_at_once(service, workflow, inputs, workflow_name):
    """Submit while the only slot is taken; the job's final state and log."""
    client = service.client
    busy = client.submit(wf.SLEEP, {'seconds': 60})
    client.wait_state(busy['id'], 'Running', timeout=60)
    submitted = time.monotonic()
    job = client.submit(workflow, inputs, workflow_name=workflow_name)
    done = client.wait_final(job['id'], timeout=60)
    took = time.monotonic() - submitted
    client.cancel(busy['id'])
    log = client.log(job['id'])
    assert 'Started on the compute resource' not in log, log
    assert 'Waiting for a free slot' not in log, log
    assert took < 10, f'reported after {took:.1f} s'
    return done['state'], log


def test_a_step_input_the_step_lacks_is_reported_with_the_users_line(make_service):
    service = make_service(max_running=1)
    state, log = refused_at_once(service, WRONG_STEP_INPUT, {'text': 'x'}, 'mine.cwl')
    assert state == 'PermanentFailure'
    assert "mine.cwl:10:5: Step is missing required parameter 'text'" in log, log


def test_a_wrong_input_type_is_reported_before_the_queue(make_service):
    service = make_service(max_running=1)
    state, log = refused_at_once(service, wf.ECHO, {'text': 42}, 'echo.cwl')
    assert state == 'PermanentFailure'
    assert 'the input object does not fit the workflow' in log
    assert "the 'text' field is not valid because" in log and 'not string' in log, log


def test_a_missing_input_is_reported_with_the_line_of_its_declaration(make_service):
    service = make_service(max_running=1)
    state, log = refused_at_once(service, wf.ECHO, {}, 'echo.cwl')
    assert state == 'PermanentFailure'
    assert "echo.cwl:3:10: Missing required input parameter 'text'" in log, log


def test_a_correct_job_still_runs(service):
    job = service.client.wait_final(service.client.submit(wf.ECHO, {'text': 'fine'})['id'])
    assert job['state'] == 'Success'


def test_the_cli_names_the_line_of_the_inputs_file_before_submitting(service, tmp_path):
    workflow = tmp_path / 'echo.cwl'
    workflow.write_text(wf.ECHO)
    inputs = tmp_path / 'inputs.yml'
    inputs.write_text('# a comment\ntext: 42\n')
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, '-m', 'cerise_actors', 'submit', workflow, inputs]
        + ['--service', service.base_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert time.monotonic() - started < 30
    assert result.returncode == 2, result.stderr
    assert (
        "inputs.yml:2: input 'text' is the number 42, but the workflow declares it string"
        in result.stderr
    )
    assert 'nothing was submitted' in result.stderr
    assert _jobs(service) == []


def _jobs(service):
    from ..helpers import http

    return http('GET', f'{service.base_url}/jobs')[1]
