"""A reinstalled step reaches the next warm job, and the warm runner validates it again.

Real runner (cwltool) in the warm server, real client; the installed
"specialisation" is one project with one step, changed the way a `.dev`
reinstall changes it (steps first, the version file written last).
"""

import json
import subprocess
import sys

import pytest

from cerise_actors.resource.warm import CLIENT_SCRIPT, WarmRunner

from ..helpers import wait_for

STEP = """cwlVersion: v1.2
class: CommandLineTool
baseCommand: [echo, {word}]
inputs: []
stdout: said.txt
outputs:
  said: stdout
"""


@pytest.fixture
def installed(tmp_path):
    api = tmp_path / 'api'
    steps = api / 'p' / 'steps' / 'p'
    steps.mkdir(parents=True)

    def install(word, version):
        (steps / 'say.cwl').write_text(STEP.format(word=word))
        (api / 'p' / 'version').write_text(version + '\n')

    install('one', '1.0.0.dev')
    return api, steps / 'say.cwl', install


def run_job(warm, tmp_path, tool, name):
    """A job as the service runs it: its rewritten workflow, one installed step."""
    job = tmp_path / name
    (job / 'work').mkdir(parents=True)
    (job / 'input.json').write_text('{}')
    (job / 'tmp').mkdir()
    workflow = {
        'cwlVersion': 'v1.2',
        'class': 'Workflow',
        'inputs': [],
        'outputs': [{'id': 'said', 'type': 'File', 'outputSource': 's/said'}],
        'steps': [{'id': 's', 'run': tool.as_uri(), 'in': [], 'out': ['said']}],
    }
    (job / 'workflow.cwl').write_text(json.dumps(workflow))
    args = ['--root', str(job), '--steps', str(tmp_path / 'api'), '--disable-color']
    args += ['--no-container', '--tmpdir-prefix', f'{job}/tmp/', '--tmp-outdir-prefix']
    args += [f'{job}/tmp/', '--outdir', str(job / 'work')]
    args += [str(job / 'workflow.cwl'), str(job / 'input.json')]
    proc = subprocess.run(
        [sys.executable, '-I', '-S', CLIENT_SCRIPT, '--socket', warm.socket_path]
        + ['--python', sys.executable, '--', *args],
        cwd=job / 'work',
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert 'the warm runner is not available' not in proc.stderr
    output = json.loads(proc.stdout)['said']['path']
    with open(output) as f:
        return f.read().strip()


def test_a_reinstalled_step_is_validated_again_and_used_at_once(tmp_path, installed):
    api, tool, install = installed
    warm = WarmRunner(str(tmp_path), [str(api)]).start()
    try:
        assert warm.wait_ready(120)
        log = warm.log_path
        assert run_job(warm, tmp_path, tool, 'first') == 'one'
        install('two', '1.0.0.dev')  # a .dev reinstall: same version, files written again
        assert run_job(warm, tmp_path, tool, 'second') == 'two'
        wait_for(
            lambda: open(log).read().count('validated 1 installed step(s)') == 2,
            30,
            message='the steps to be validated again',
        )
        assert warm.starts == 1
    finally:
        warm.close()
