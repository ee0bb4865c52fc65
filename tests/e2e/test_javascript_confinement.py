"""An expression may not name files outside the job: the runner refuses what it returns.

The sandbox keeps JavaScript itself away from files, but an expression can
return a File with any location, a secondaryFiles pattern that climbs with
`..`, or a glob naming an absolute path, and cwltool would read (and copy
back) what it names. Each such job must end PermanentFailure, with nothing
read back and nothing written outside the job.
"""

import pytest

SECRET_FILE = "{class: 'File', location: 'file:///etc/hostname', basename: 'h'}"

NO_STEPS = """cwlVersion: v1.2
class: Workflow
requirements: [{class: InlineJavascriptRequirement}]
inputs:
  x:
    type: File
    default: {class: File, basename: a.txt, contents: hi}
    secondaryFiles: ["${%s}"]
outputs: {o: {type: File, outputSource: x}}
steps: []
"""

TO_A_STEP = """cwlVersion: v1.2
class: Workflow
requirements:
  InlineJavascriptRequirement: {}
  StepInputExpressionRequirement: {}
inputs: []
outputs: {o: {type: File, outputSource: count/output}}
steps:
  count:
    run: test/wc.cwl
    in:
      file: {valueFrom: "${return %s;}"}
    out: [output]
"""


@pytest.mark.parametrize(
    'workflow',
    [
        pytest.param(NO_STEPS % f'return {SECRET_FILE};', id='secondary-file-object'),
        pytest.param(TO_A_STEP % SECRET_FILE, id='file-to-a-step'),
        pytest.param(
            TO_A_STEP % "{class: 'Directory', location: '/etc'}", id='directory-to-a-step'
        ),
    ],
)
def test_a_file_named_by_an_expression_outside_the_job_is_refused(client, workflow):
    job_id = client.submit(workflow)['id']
    result = client.wait_final(job_id)
    log = client.log(job_id)
    assert result['state'] == 'PermanentFailure', log
    assert 'expressions may only name files of the job and of the installed steps' in log
    assert not any(result['output'].values()), result['output']


def test_a_pattern_that_climbs_out_of_the_job_is_refused(client, service):
    job_id = client.submit(NO_STEPS % "return '../../../../../../cerise-secret';")['id']
    result = client.wait_final(job_id)
    log = client.log(job_id)
    assert result['state'] == 'PermanentFailure', log
    assert "named '../../../../../../cerise-secret'" in log
    written = [p for p in service.root.parent.rglob('cerise-secret')]
    assert written == [], 'nothing was written outside the job'
