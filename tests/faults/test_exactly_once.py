"""A job runs exactly once, even when the service is killed while starting it.

The real `cerise-actors serve` runs in a subprocess (real SQLite file, real
HTTP, real job processes). The test-only CERISE_FAULT_SUBMIT_DELAY widens the
window between starting a job script and recording its id, and the service
is killed with SIGKILL inside it. After a restart the job must run once:
the configured CWL runner is a small script that appends a line to a file
each time it starts, so the file's lines count the runs.
"""

import shutil
import signal

import yaml

from .. import workflows as wf
from ..e2e.test_restart import ServeProcess, serve  # noqa: F401 (a fixture)
from ..helpers import TEST_API_DIR, wait_for

_COUNTING_RUNNER = """#!/bin/bash
# counts its runs, then behaves as a runner whose workflow has no outputs
echo "$$" >>{runs}
sleep 1
echo '{{}}'
"""


def _counting_api(tmp_path):
    """The test specialisation, run by a runner that counts its starts."""
    runs = tmp_path / 'runs.txt'
    runner = tmp_path / 'counting-runner'
    runner.write_text(_COUNTING_RUNNER.format(runs=runs))
    runner.chmod(0o755)
    api = tmp_path / 'api'
    shutil.copytree(TEST_API_DIR, api)
    config = yaml.safe_load((api / 'config.yml').read_text())
    config['compute-resource']['jobs']['cwl-runner'] = str(runner)
    (api / 'config.yml').write_text(yaml.safe_dump(config))
    return api, runs


def _runs(runs_file):
    return len(runs_file.read_text().splitlines()) if runs_file.exists() else 0


def test_kill_9_between_start_and_recording_the_id_runs_the_job_once(
    tmp_path,
    serve,
    monkeypatch,  # noqa: F811
):
    api, runs = _counting_api(tmp_path)
    serve.api_dir = api
    monkeypatch.setenv('CERISE_FAULT_SUBMIT_DELAY', '60')
    client = serve.start()
    job_id = client.submit(wf.SLEEP, {'seconds': 1})['id']
    # the runner has started; the service sleeps before recording the id
    wait_for(lambda: _runs(runs) == 1, timeout=60, message='the job to start')
    assert 'Started on the compute resource' not in client.log(job_id)
    serve.stop(signal.SIGKILL)

    monkeypatch.delenv('CERISE_FAULT_SUBMIT_DELAY')
    client = serve.start()
    done = client.wait_final(job_id)
    assert _runs(runs) == 1, f'the job ran {_runs(runs)} times: {client.log(job_id)}'
    assert done['state'] == 'Success', client.log(job_id)
    assert serve.stop() == 0
