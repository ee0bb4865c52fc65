"""`python -m cerise_actors.runner`: cwltool with the JavaScript sandbox, run end to end
with no node on PATH, from the repository and from a copy of runner/ alone."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from cwl_utils.sandboxjs import get_js_engine, set_js_engine

from cerise_actors.runner import main as runner_main
from cerise_actors.runner.sandbox import SandboxedJSEngine

from ..helpers import REPO_DIR

WORKFLOW = """\
cwlVersion: v1.2
class: Workflow
requirements:
  InlineJavascriptRequirement:
    expressionLib:
      - "function double(x) { return 2 * x; }"
  StepInputExpressionRequirement: {}
inputs:
  n: int
  name: string
outputs:
  doubled:
    type: int
    outputSource: calc/doubled
  greeting:
    type: string
    outputSource: calc/greeting
steps:
  calc:
    in:
      n: n
      name:
        source: name
        valueFrom: $(self.toUpperCase())
    out: [doubled, greeting]
    run:
      class: ExpressionTool
      inputs:
        n: int
        name: string
      outputs:
        doubled: int
        greeting: string
      expression: |
        ${ return {"doubled": double(inputs.n), "greeting": "Hello, " + inputs.name + "!"}; }
"""

TOOL = """\
cwlVersion: v1.2
class: ExpressionTool
requirements:
  InlineJavascriptRequirement:
    expressionLib:
      - {lib}
inputs: {{}}
outputs:
  out: int
expression: "${{ {body} }}"
"""


def run_runner(tmp_path, document, job, module='cerise_actors.runner', env=None, cwd=None):
    """Run the runner on `document` and `job` with a PATH on which there is nothing."""
    (tmp_path / 'wf.cwl').write_text(document)
    (tmp_path / 'job.json').write_text(json.dumps(job))
    empty = tmp_path / 'empty-bin'
    empty.mkdir(exist_ok=True)
    full_env = dict(os.environ, PATH=str(empty), PYTHONPATH=str(REPO_DIR))
    full_env.update(env or {})
    args = ['--outdir', str(tmp_path / 'out'), str(tmp_path / 'wf.cwl'), str(tmp_path / 'job.json')]
    return subprocess.run(
        [sys.executable, '-m', module, *args],
        cwd=cwd or tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_workflow_with_javascript_runs_without_node(tmp_path):
    result = run_runner(tmp_path, WORKFLOW, {'n': 21, 'name': 'world'})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {'doubled': 42, 'greeting': 'Hello, WORLD!'}
    first = result.stderr.splitlines()[0]
    assert first.startswith('cerise-runner: cwltool 3.')
    assert 'JavaScript in a V8 sandbox (mini-racer ' in first


def test_an_escaping_expression_fails_and_touches_nothing(tmp_path):
    """This expressionLib writes the marker file when cwltool runs it in node."""
    marker = tmp_path / 'escaped'
    lib = json.dumps(
        "var p = this.constructor.constructor('return process')(); "
        f"p.getBuiltinModule('fs').writeFileSync('{marker}', 'x');"
    )
    result = run_runner(tmp_path, TOOL.format(lib=lib, body='return {out: 1};'), {})
    assert result.returncode != 0
    assert 'ReferenceError: process is not defined' in result.stderr
    assert not marker.exists()


def test_an_endless_expression_is_stopped(tmp_path):
    result = run_runner(
        tmp_path,
        TOOL.format(lib='"var x = 1;"', body='while (true) {}'),
        {},
        env={'CERISE_JS_TIMEOUT': '1'},
    )
    assert result.returncode != 0
    assert 'at most 1 s and 256 MiB per expression' in result.stderr.splitlines()[0]
    assert 'JavaScript expression took longer than 1 s and was stopped' in result.stderr


def test_a_malformed_limit_ends_the_runner_with_code_2(tmp_path):
    result = run_runner(tmp_path, WORKFLOW, {}, env={'CERISE_JS_MAX_MEMORY': 'lots'})
    assert result.returncode == 2
    assert result.stderr.startswith("cerise-runner: CERISE_JS_MAX_MEMORY='lots'")


def test_a_copy_of_the_runner_alone_works(tmp_path):
    """runner/ is copied alone to the compute resources: it must import nothing else of
    cerise_actors (the copy runs with cerise_actors made unimportable)."""
    from cerise_actors.staging.runner_install import BOUNDARY_COPIES

    copy = tmp_path / 'site' / 'cerunner'
    shutil.copytree(
        REPO_DIR / 'cerise_actors' / 'runner', copy, ignore=shutil.ignore_patterns('__pycache__')
    )
    for name, source in BOUNDARY_COPIES.items():  # as the deployment ships them
        shutil.copy(REPO_DIR / 'cerise_actors' / 'boundary' / source, copy / name)
    (tmp_path / 'site' / 'sitecustomize.py').write_text(
        "import sys\nsys.modules['cerise_actors'] = None\n"
    )
    result = run_runner(
        tmp_path,
        WORKFLOW,
        {'n': 1, 'name': 'copy'},
        module='cerunner',
        env={'PYTHONPATH': str(tmp_path / 'site')},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {'doubled': 2, 'greeting': 'Hello, COPY!'}


@pytest.fixture
def keep_engine():
    previous = get_js_engine()
    yield
    set_js_engine(previous)


def test_main_installs_the_sandbox_and_returns_cwltools_code(keep_engine, capsys):
    assert runner_main.main(['--version']) == 0
    assert isinstance(get_js_engine(), SandboxedJSEngine)
    captured = capsys.readouterr()
    assert captured.err.startswith('cerise-runner: cwltool ')
    assert '3.' in captured.out
