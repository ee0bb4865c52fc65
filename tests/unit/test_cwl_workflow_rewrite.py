"""Tests for rewriting accepted workflows: step references become paths into the
installed API, and the result is valid CWL for a real runner."""

import json
import subprocess
import sys
import textwrap

from cerise_actors.cwl.steps import load_step_catalogue, substitute_project_files
from cerise_actors.cwl.workflow import WorkflowPlan, plan_workflow

from .cwl_workflow_fixtures import API, WORKFLOW_YAML, plan, step, workflow

# the happy path


def test_plan_rewrites_run_and_serialises_json():
    result = plan(WORKFLOW_YAML)
    assert isinstance(result, WorkflowPlan)
    doc = json.loads(result.content.decode('utf-8'))
    assert doc['steps']['hostname']['run'] == f'file://{API}/example/steps/example/hostname.cwl'
    assert doc['outputs'] == {'output': {'type': 'File', 'outputSource': 'hostname/output'}}
    assert result.steps == ('example/hostname.cwl',)
    assert (result.cores, result.time_limit) == (0, 0)
    assert result.content == json.dumps(doc, indent=2).encode('utf-8')


def test_plan_list_form_steps_project_from_first_component():
    doc = workflow(
        steps=[
            step(id='#a', run='other/deep/tool.cwl'),
            step(id='b'),
            step(id='c', run='other/deep/tool.cwl'),
        ]
    )
    result = plan(doc)
    runs = [s['run'] for s in json.loads(result.content)['steps']]
    assert runs == [
        f'file://{API}/other/steps/other/deep/tool.cwl',
        f'file://{API}/example/steps/example/hostname.cwl',
        f'file://{API}/other/steps/other/deep/tool.cwl',
    ]
    assert result.steps == ('other/deep/tool.cwl', 'example/hostname.cwl')


def test_plan_does_not_touch_other_content():
    doc = workflow(
        inputs={
            'n': {'type': 'int', 'default': 3, 'doc': 'use ${n}'},
            'f': {
                'type': 'File',
                'default': {'class': 'File', 'basename': 'a.txt', 'contents': 'hello'},
            },
        },
        steps={
            'hostname': step(),
            'second': step(
                **{'in': {'x': {'source': 'n', 'valueFrom': '$(self + 1)'}}, 'scatter': 'x'}
            ),
        },
        requirements=[
            {'class': 'ScatterFeatureRequirement'},
            {'class': 'StepInputExpressionRequirement'},
        ],
    )
    result = json.loads(plan(doc).content)
    assert result['inputs'] == doc['inputs']
    assert result['requirements'] == doc['requirements']
    assert result['steps']['second']['in'] == doc['steps']['second']['in']


# the rewritten workflow is valid CWL for a real runner

HOSTNAME_YAML = """\
cwlVersion: v1.0
class: CommandLineTool
baseCommand: hostname
inputs: []
stdout: output.txt
outputs:
  output:
    type: File
    outputBinding: { glob: output.txt }
"""

ADD_HEADING_YAML = """\
cwlVersion: v1.0
class: CommandLineTool
baseCommand: $CERISE_PROJECT_FILES/add_heading.sh
arguments: [$CERISE_PROJECT_FILES]
hints:
  ResourceRequirement: {coresMin: 2}
inputs:
  in_text:
    type: File
    inputBinding:
      position: 1
stdout: output.txt
outputs:
  out_text:
    type: File
    outputBinding: { glob: output.txt }
"""

SUBMITTED = textwrap.dedent("""\
    cwlVersion: v1.0
    class: Workflow
    requirements:
      - class: ScatterFeatureRequirement
      - class: StepInputExpressionRequirement
    hints:
      TimeLimit: 101
      ResourceRequirement: {coresMin: 1}
    inputs:
      texts: File[]
      extra:
        type: File
        default: {class: File, basename: extra.txt, contents: "hi"}
    outputs:
      host:
        type: File
        outputSource: hostname/output
      headed:
        type: File[]
        outputSource: heading/out_text
    steps:
      - id: hostname
        run: example/hostname.cwl
        in: []
        out: [output]
      - id: heading
        run: example/add_heading.cwl
        scatter: in_text
        in:
          in_text:
            source: texts
            valueFrom: $(self)
        out: [out_text]
    """).encode()


def test_rewritten_workflow_validates_with_cwltool(tmp_path):
    project = tmp_path / 'local' / 'example'
    steps_dir = project / 'steps' / 'example'
    steps_dir.mkdir(parents=True)
    (steps_dir / 'hostname.cwl').write_text(HOSTNAME_YAML)
    (steps_dir / 'add_heading.cwl').write_text(ADD_HEADING_YAML)
    catalogue = load_step_catalogue({'example': project})

    remote_api = tmp_path / 'remote api'
    files_dir = remote_api / 'example' / 'files'
    files_dir.mkdir(parents=True)
    for name, document in catalogue.items():
        target = remote_api / 'example' / 'steps' / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(substitute_project_files(document, str(files_dir))))

    result = plan_workflow(SUBMITTED, catalogue, str(remote_api))
    assert result.steps == ('example/hostname.cwl', 'example/add_heading.cwl')
    assert (result.cores, result.time_limit) == (2, 101)
    workflow_file = tmp_path / 'job' / 'workflow.json'
    workflow_file.parent.mkdir()
    workflow_file.write_bytes(result.content)

    process = subprocess.run(
        [sys.executable, '-m', 'cwltool', '--validate', str(workflow_file)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = process.stdout + process.stderr
    assert process.returncode == 0, log
    assert 'failed validation' not in log, log
    assert 'is valid CWL' in log, log
