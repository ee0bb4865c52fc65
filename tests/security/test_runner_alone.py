"""Issue 18, "What to build" item 4: the runner alone holds the line.

The runner is handed malicious "rewritten" workflows directly, as if every
check of the service had been removed: `python -m cerise_actors.runner`
with the job's folder (`--root`) and the installed steps (`--steps`), as
job scripts start it. It must fetch nothing (the attacker's server is
asked for nothing), run nothing but installed steps (the attacker's tool
leaves no mark), and fail.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..helpers import TEST_API_DIR
from .attacker import EVIL_TOOL, attacker_server

REPO_DIR = Path(__file__).resolve().parents[2]
#: what cwl/outputs.py reads as a PermanentFailure, not a SystemError
USERS_FAILURE = (
    'Tool definition failed validation',
    'Workflow error',
    'Final process status is permanentFail',
)
STEP = 'test/steps/test/hostname.cwl'


@pytest.fixture
def attacker(tmp_path):
    with attacker_server(tmp_path) as server:
        yield server


def _job(tmp_path: Path) -> Path:
    job = tmp_path / 'jobs' / 'j1'
    for sub in ('work', 'tmp'):
        (job / sub).mkdir(parents=True)
    (job / 'input.json').write_text('{}')
    return job


def _run(tmp_path: Path, workflow, job: Path, steps=TEST_API_DIR) -> subprocess.CompletedProcess:
    text = workflow if isinstance(workflow, str) else json.dumps(workflow)
    (job / 'workflow.cwl').write_text(text)
    args = ['--root', str(job), '--steps', str(steps), '--disable-color']
    args += ['--no-container', '--outdir', str(job / 'work'), '--tmpdir-prefix', f'{job}/tmp/']
    args += ['--tmp-outdir-prefix', f'{job}/tmp/', str(job / 'workflow.cwl')]
    args += [str(job / 'input.json')]
    env = dict(os.environ, PYTHONPATH=str(REPO_DIR))
    env.pop('CWLTOOL_OPTIONS', None)
    return subprocess.run(
        [sys.executable, '-m', 'cerise_actors.runner', *args],
        cwd=job / 'work',
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _workflow(steps, **top):
    doc = {
        'cwlVersion': 'v1.0',
        'class': 'Workflow',
        'inputs': [],
        'outputs': [{'id': 'out', 'type': 'File', 'outputSource': 's/output'}],
        'steps': steps,
    }
    doc.update(top)
    return doc


def _step(run, **more):
    return dict({'id': 's', 'run': run, 'in': [], 'out': ['output']}, **more)


def test_an_installed_step_runs(tmp_path):
    """The control: the same runner runs a workflow of installed steps."""
    job = _job(tmp_path)
    step = (TEST_API_DIR / STEP).as_uri()
    result = _run(tmp_path, _workflow([_step(step)]), job)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)['out']['class'] == 'File'


def _cases(url: str, job: Path) -> dict:
    step_path = str(TEST_API_DIR / STEP)
    evil_local = job / 'work' / 'input' / '1' / 'evil.cwl'
    return {
        # the issue's probe: a bare path resolved against an http id
        'http-id': _workflow([_step(step_path)], id=f'{url}/evil/wf.cwl'),
        'step-id': _workflow([_step(step_path, id=f'{url}/evil/s')]),
        'run-url': _workflow([_step(f'{url}/evil/tool.cwl')]),
        'base': _workflow([_step('example/hostname.cwl')], **{'$base': f'{url}/evil/'}),
        'import': _workflow([_step({'$import': f'{url}/evil/tool.cwl'})]),
        'schemas': _workflow([_step(step_path)], **{'$schemas': [f'{url}/evil/s.rdf']}),
        'inline-tool': _workflow([_step(dict(EVIL_DOC, id='evil'))]),
        'job-file-tool': _workflow([_step(evil_local.as_uri())]),
        'env-var': _workflow(
            [_step((TEST_API_DIR / STEP).as_uri())],
            requirements=[{'class': 'EnvVarRequirement', 'envDef': {'LD_PRELOAD': '/x.so'}}],
        ),
        'a-tool-itself': EVIL_DOC,
        'yaml-not-json': f'cwlVersion: v1.0\nclass: Workflow\nid: {url}/wf\n',
    }


EVIL_DOC = {
    'cwlVersion': 'v1.0',
    'class': 'CommandLineTool',
    'baseCommand': ['touch', 'MARK'],
    'inputs': [],
    'outputs': {'output': {'type': 'stdout'}},
}


@pytest.mark.parametrize(
    'case',
    [
        'http-id',
        'step-id',
        'run-url',
        'base',
        'import',
        'schemas',
        'inline-tool',
        'job-file-tool',
        'env-var',
        'a-tool-itself',
        'yaml-not-json',
    ],
)
def test_the_runner_alone_fetches_nothing_and_runs_no_other_tool(tmp_path, attacker, case):
    job = _job(tmp_path)
    evil_local = job / 'work' / 'input' / '1' / 'evil.cwl'
    evil_local.parent.mkdir(parents=True)
    evil_local.write_text(EVIL_TOOL.format(mark=attacker.mark))
    workflow = _cases(attacker.url, job)[case]
    text = json.dumps(workflow) if isinstance(workflow, dict) else workflow
    result = _run(tmp_path, text.replace('MARK', str(attacker.mark)), job)
    assert result.returncode != 0, result.stdout + result.stderr
    attacker.assert_untouched()
    # in words the service reports as the user's PermanentFailure (cwl/outputs.py)
    assert any(words in result.stderr for words in USERS_FAILURE), result.stderr


def _wc(file_input: dict, **top) -> dict:
    """A workflow of the installed step test/wc.cwl, its `file` input as given."""
    run = (TEST_API_DIR / 'test/steps/test/wc.cwl').as_uri()
    return _workflow([_step(run, **{'in': [dict(file_input, id='file')]})], **top)


def test_an_expression_returning_a_url_is_refused_by_the_runner_alone(tmp_path, attacker):
    job = _job(tmp_path)
    expression = f'$({{"class": "File", "location": "{attacker.url}/latest/meta-data"}})'
    workflow = _wc(
        {'valueFrom': expression},
        requirements=[
            {'class': 'InlineJavascriptRequirement'},
            {'class': 'StepInputExpressionRequirement'},
        ],
        cwlVersion='v1.2',
    )
    result = _run(tmp_path, workflow, job)
    assert result.returncode != 0, result.stdout
    assert 'expressions may only name files of the job' in result.stderr, result.stderr
    attacker.assert_untouched()


def test_an_input_object_naming_a_url_is_not_downloaded(tmp_path, attacker):
    job = _job(tmp_path)
    workflow = _wc({'source': 'file'}, inputs=[{'id': 'file', 'type': 'File'}])
    (job / 'input.json').write_text(
        json.dumps({'file': {'class': 'File', 'location': f'{attacker.url}/data'}})
    )
    result = _run(tmp_path, workflow, job)
    assert result.returncode != 0, result.stdout
    attacker.assert_untouched()


def test_an_installed_workflow_may_embed_its_own_tools(tmp_path):
    """What an installed step embeds is the specialisation's own (conformance's
    embedded subworkflows): only the user's workflow may embed nothing."""
    api = tmp_path / 'api'
    steps = api / 'p' / 'steps' / 'p'
    steps.mkdir(parents=True)
    embedded = {
        'cwlVersion': 'v1.0',
        'class': 'Workflow',
        'inputs': [],
        'outputs': [{'id': 'output', 'type': 'File', 'outputSource': 'inner/output'}],
        'steps': [
            {
                'id': 'inner',
                'in': [],
                'out': ['output'],
                'run': {
                    'class': 'CommandLineTool',
                    'baseCommand': ['echo', 'embedded'],
                    'inputs': [],
                    'stdout': 'out.txt',
                    'outputs': {'output': {'type': 'stdout'}},
                },
            }
        ],
    }
    (steps / 'sub.cwl').write_text(json.dumps(embedded))
    job = _job(tmp_path)
    workflow = _workflow(
        [_step((steps / 'sub.cwl').as_uri())],
        requirements=[{'class': 'SubworkflowFeatureRequirement'}],
    )
    result = _run(tmp_path, workflow, job, steps=api)
    assert result.returncode == 0, result.stderr
    assert Path(json.loads(result.stdout)['out']['path']).read_text() == 'embedded\n'


@pytest.mark.parametrize(
    'basename',
    ['/tmp/PWNED', '../../PWNED', 'a/../../../PWNED', '..', 'sub/PWNED'],
)
def test_a_literal_file_cannot_be_written_outside_the_job(tmp_path, basename):
    """A red-team probe: cwltool writes a File given as `contents` under its
    `basename`; an absolute one overwrote an installed step, whose command then
    ran. The runner alone refuses such an input object and such a default."""
    job = _job(tmp_path)
    target = tmp_path / 'PWNED'
    name = basename.replace('/tmp/PWNED', str(target))
    literal = {'class': 'File', 'basename': name, 'contents': 'pwned'}
    workflow = _wc({'source': 'file'}, inputs=[{'id': 'file', 'type': 'File'}])
    (job / 'input.json').write_text(json.dumps({'file': literal}))
    result = _run(tmp_path, workflow, job)
    assert result.returncode != 0 and 'outside the job' in result.stderr, result.stderr
    job2 = tmp_path / 'jobs' / 'j2'
    for sub in ('work', 'tmp'):
        (job2 / sub).mkdir(parents=True)
    (job2 / 'input.json').write_text('{}')
    with_default = _wc({'default': literal})
    result = _run(tmp_path, with_default, job2)
    assert result.returncode != 0 and 'outside the job' in result.stderr, result.stderr
    assert not target.exists() and not list(tmp_path.rglob('PWNED'))


@pytest.mark.parametrize('key', ['cwltool:overrides', 'cwl:requirements', '$import'])
def test_an_input_object_adds_no_requirement_and_loads_nothing(tmp_path, key):
    """A second red-team probe: cwltool:overrides in the input object gave an
    installed step an EnvVarRequirement (BASH_ENV), which ran a file of the
    attacker's. The runner alone refuses directives and extensions there."""
    job = _job(tmp_path)
    mark = tmp_path / 'MARK'
    evil = job / 'evil.sh'
    evil.write_text(f'touch {mark}\n')
    step = (TEST_API_DIR / 'test/steps/test/show_env.cwl').as_uri()
    env = {'class': 'EnvVarRequirement', 'envDef': {'BASH_ENV': str(evil)}}
    value = {step: {'requirements': [env]}} if key != '$import' else str(evil)
    workflow = _workflow([_step(step)])
    workflow['outputs'] = [{'id': 'out', 'type': 'File', 'outputSource': 's/output'}]
    (job / 'input.json').write_text(json.dumps({key: value}))
    result = _run(tmp_path, workflow, job)
    assert result.returncode != 0 and 'directive or extension' in result.stderr, result.stderr
    assert not mark.exists()


def test_a_workflow_asking_for_more_cores_than_there_are_still_runs(tmp_path):
    """A second red-team probe: --cores 100000 made cwltool start 100,000
    threads and die (SystemError); the runner uses at most the machine's."""
    job = _job(tmp_path)
    (job / 'workflow.cwl').write_text(
        json.dumps(_workflow([_step((TEST_API_DIR / STEP).as_uri())]))
    )
    args = ['--cores', '100000', '--root', str(job), '--steps', str(TEST_API_DIR)]
    args += ['--no-container', '--outdir', str(job / 'work'), '--tmpdir-prefix', f'{job}/tmp/']
    args += [str(job / 'workflow.cwl'), str(job / 'input.json')]
    result = subprocess.run(
        [sys.executable, '-m', 'cerise_actors.runner', *args],
        cwd=job / 'work',
        env=dict(os.environ, PYTHONPATH=str(REPO_DIR)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_the_workflow_file_cannot_carry_a_job_order_with_overrides(tmp_path):
    """A review: cwl:tool in the workflow made cwltool read it as a job order and
    apply its cwltool:overrides (an EnvVarRequirement for an installed step)."""
    job = _job(tmp_path)
    step = (TEST_API_DIR / 'test/steps/test/show_env.cwl').as_uri()
    env = {'EnvVarRequirement': {'envDef': {'GREETING': 'pwned'}}}
    workflow = _workflow([], outputs=[])
    workflow['outputs'] = []
    workflow.update({'cwl:tool': step, 'cwltool:overrides': {step: {'requirements': env}}})
    result = _run(tmp_path, workflow, job)
    assert result.returncode != 0 and 'namespaced keys are not allowed' in result.stderr, (
        result.stdout + result.stderr
    )
    assert 'pwned' not in result.stdout
