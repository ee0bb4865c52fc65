"""The client commands (`cerise-actors submit/list/status/log/cancel/delete`) end to end.

They run as a user runs them: `python -m cerise_actors ...` in a subprocess.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from cerise_actors.client import Service
from cerise_actors.client.local import free_port

from .. import workflows as wf
from ..helpers import REPO_DIR, TEST_API_DIR
from .test_client import (  # noqa: F401
    CUSTOM_PROGRAM_WORKFLOW,
    EXAMPLE_API,
    EXAMPLE_WORKFLOW,
    HEADING,
    start_service,
)


def cli(*argv, env=None, cwd=None):
    """(exit code, stdout, stderr) of `cerise-actors ARGV`, run as a user runs it."""
    env = {**os.environ, **(env or {})}
    result = subprocess.run(
        [sys.executable, '-m', 'cerise_actors', *map(str, argv)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )
    return result.returncode, result.stdout, result.stderr


def test_submit_wait_runs_the_example_workflow(start_service, tmp_path):
    running = start_service()
    code, out, err = cli(
        'submit', EXAMPLE_WORKFLOW, '--wait', '--output-dir', tmp_path / 'out', *running.cli_args()
    )
    assert code == 0, err
    outputs = json.loads(out)
    saved = Path(outputs['output']['path'])
    assert saved == tmp_path / 'out' / 'output.txt'
    assert saved.read_text().strip() == socket.gethostname()
    assert 'Success' in err and 'submitted job' in err
    job = running.client().list_jobs()[0]
    assert job.name == 'test_workflow' and job.data['state'] == 'Success'


def test_submit_with_inputs_relative_to_the_inputs_file(start_service, tmp_path):
    running = start_service()
    data = tmp_path / 'data'
    data.mkdir()
    (data / 'hello.txt').write_text('Hello, world!\n')
    (data / 'wf.cwl').write_text(CUSTOM_PROGRAM_WORKFLOW)
    (data / 'inputs.yml').write_text('in_text: {class: File, location: hello.txt}\n')
    code, out, err = cli(
        'submit',
        data / 'wf.cwl',
        data / 'inputs.yml',
        '--name',
        'heading',
        '--wait',
        *running.cli_args(),
        cwd=tmp_path,
    )
    assert code == 0, err
    saved = tmp_path / 'heading-outputs' / 'output.txt'  # the default folder
    assert saved.read_text() == HEADING + 'Hello, world!\n'
    assert json.loads(out)['out_text']['path'] == str(saved)


def test_missing_input_file_fails_before_submitting(start_service, tmp_path):
    running = start_service()
    (tmp_path / 'wf.cwl').write_text(CUSTOM_PROGRAM_WORKFLOW)
    (tmp_path / 'inputs.json').write_text(
        json.dumps({'in_text': {'class': 'File', 'path': 'sub/missing.txt'}})
    )
    code, out, err = cli(
        'submit', tmp_path / 'wf.cwl', tmp_path / 'inputs.json', '--wait', *running.cli_args()
    )
    assert code == 2
    assert f'input file not found: {tmp_path / "sub" / "missing.txt"}' in err
    assert "input 'in_text'" in err and out == ''
    assert running.client().list_jobs() == []
    assert list((running.exchange / 'input').iterdir()) == [], 'nothing uploaded'


def test_missing_workflow_and_bad_inputs_file(start_service, tmp_path):
    running = start_service(TEST_API_DIR)
    code, _, err = cli('submit', tmp_path / 'nope.cwl', *running.cli_args())
    assert code == 2 and f'workflow file not found: {tmp_path / "nope.cwl"}' in err
    (tmp_path / 'wf.cwl').write_text(wf.ECHO)
    (tmp_path / 'inputs.yml').write_text('- not a mapping\n')
    code, _, err = cli('submit', tmp_path / 'wf.cwl', tmp_path / 'inputs.yml', *running.cli_args())
    assert code == 2 and 'mapping' in err
    assert running.client().list_jobs() == []


def test_list_status_log_cancel_delete(start_service, tmp_path):
    running = start_service(TEST_API_DIR)
    (tmp_path / 'sleep.cwl').write_text(wf.SLEEP)
    (tmp_path / 'inputs.yml').write_text('seconds: 60\n')
    env = {'CERISE_SERVICE_URL': running.url}  # instead of --service
    code, out, err = cli('submit', tmp_path / 'sleep.cwl', tmp_path / 'inputs.yml', env=env)
    assert code == 0, err
    job_id = out.strip()

    code, out, _ = cli('list', env=env)
    assert code == 0 and job_id in out and 'sleep' in out
    code, out, _ = cli('status', job_id, '--json', env=env)
    assert code == 0 and json.loads(out)['input'] == {'seconds': 60}
    code, out, _ = cli('log', job_id, env=env)
    assert code == 0 and 'Job submitted' in out
    code, out, err = cli('cancel', job_id, '--wait', env=env)
    assert code == 3 and out.strip() == 'Cancelled', err

    job = Service(running.url).get_job(job_id)
    assert (running.exchange / 'input' / job.upload_folder).is_dir()
    code, _, err = cli('delete', job_id, env=env)
    assert code == 0 and 'uploaded inputs' in err
    assert not (running.exchange / 'input' / job.upload_folder).exists()
    code, _, err = cli('status', job_id, env=env)
    assert code == 4 and f'job {job_id} not found' in err


def test_a_failed_job_exits_1_and_shows_its_log(start_service, tmp_path):
    running = start_service(TEST_API_DIR)
    (tmp_path / 'fail.cwl').write_text(wf.FAIL)  # (an unknown step is refused before upload)
    code, out, err = cli(
        'submit', tmp_path / 'fail.cwl', '--wait', *running.cli_args(), cwd=tmp_path
    )
    assert code == 1
    assert json.loads(out) == {}
    assert 'PermanentFailure' in err and 'The workflow failed' in err, err


def test_service_unreachable_and_job_not_found(start_service):
    url = f'http://127.0.0.1:{free_port()}'
    code, _, err = cli('list', '--service', url)
    assert code == 4 and url in err and 'connection refused' in err
    assert 'CERISE_SERVICE_URL' in err
    running = start_service(TEST_API_DIR)
    code, _, err = cli('log', 'no-such-job', *running.cli_args())
    assert code == 4 and 'job no-such-job not found' in err


def test_the_command_lists_the_client_commands():
    result = subprocess.run(
        [sys.executable, '-m', 'cerise_actors', '--help'],
        capture_output=True,
        text=True,
        cwd=REPO_DIR,
        timeout=60,
    )
    for command in ('serve', 'submit', 'list', 'status', 'log', 'cancel', 'delete'):
        assert command in result.stdout
