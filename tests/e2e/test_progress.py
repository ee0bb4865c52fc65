"""Live progress: Running as soon as a local job starts, a job-log line as each
step starts and ends, and the runner's whole log for every job."""

import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .. import workflows as wf
from ..helpers import wait_for


def test_a_local_job_is_running_as_soon_as_it_starts(make_service):
    service = make_service(refresh=10)  # a poll only every 10 s
    job = service.client.submit(wf.SLEEP, {'seconds': 8})
    submitted = time.monotonic()
    service.client.wait_state(job['id'], 'Running', timeout=60)
    assert time.monotonic() - submitted < 6, 'Running came with a poll, not at the start'
    service.client.cancel(job['id'])


def test_each_step_start_and_end_is_in_the_job_log(service):
    client = service.client
    job = client.submit(wf.SLEEP_AND_ECHO, {'seconds': 2, 'text': 'hi'})
    client.wait_state(job['id'], 'Running', timeout=60)
    # while the sleep step runs, the echo step has already finished
    first = _wait_log(client, job['id'], "Step 'e' finished; 1 of 2 steps done.")
    assert "Step 's' started." in first
    assert client.state(job['id']) == 'Running'
    done = client.wait_final(job['id'])
    assert done['state'] == 'Success'
    log = client.log(job['id'])
    assert "Step 's' finished; 2 of 2 steps done." in log
    assert log.index('2 of 2 steps done') < log.index('Success')


def test_the_runners_whole_log_is_published_for_a_successful_job(service):
    client = service.client
    job = client.wait_final(client.submit(wf.ECHO, {'text': 'fine'})['id'])
    assert job['state'] == 'Success'
    line = next(line for line in client.log(job['id']).splitlines() if "runner's whole log" in line)
    url = line.rsplit(' ', 1)[1]
    assert url.endswith(f'/output/{job["id"]}/cerise-runner.log')
    text = urllib.request.urlopen(url).read().decode()
    assert '[step s] completed success' in text
    assert Path(client.exchange / 'output' / job['id'] / 'cerise-runner.log').exists()


def _wait_log(client, job_id, text, timeout=60.0):
    return wait_for(
        lambda: (log := client.log(job_id)) and text in log and log,
        timeout,
        message=f'{text!r} in the log of {job_id}',
    )


def test_submit_wait_shows_steps_done_out_of_total(service, tmp_path):
    workflow = tmp_path / 'two_steps.cwl'
    workflow.write_text(wf.SLEEP_AND_ECHO)
    inputs = tmp_path / 'inputs.yml'
    inputs.write_text('seconds: 3\ntext: hi\n')
    result = subprocess.run(
        [sys.executable, '-m', 'cerise_actors', 'submit', workflow, inputs, '--wait']
        + ['--service', service.base_url, '--no-download'],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r'Running: 1 of 2 steps done, step s running \(\d+ s\)', result.stderr), (
        result.stderr
    )
    assert 'Success' in result.stderr
