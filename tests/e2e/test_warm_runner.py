"""The warm runner through the whole service: same results as cold, cancel, crashes, restarts.

Services are built here with `jobs.warm-runner` set explicitly, so both the
warm and the cold path run in the normal test suite whatever the default.
A warm service's jobs are submitted once its warm runner is ready (before
that they would start cold, which is correct but not what is tested).
"""

import contextlib
import dataclasses
import os
import random
import re
import signal
from pathlib import Path

import pytest

from cerise_actors.app import running_service
from cerise_actors.config import service_config_from_dict

from .. import workflows as wf
from ..helpers import TEST_API_DIR, Client, processes_mentioning, wait_for
from ..service_setup import api_config_for_tests, service_config_dict
from .test_restart import ServeProcess

COLD_NOTE = 'the warm runner is not available'


@pytest.fixture
def services(tmp_path):
    """make(warm) -> a started service with the warm runner on or off."""
    with contextlib.ExitStack() as stack:

        def make(warm):
            root = tmp_path / ('warm' if warm else 'cold')
            root.mkdir()
            config = service_config_from_dict(service_config_dict(root), env={})
            api = api_config_for_tests(root)
            api = dataclasses.replace(api, jobs=dataclasses.replace(api.jobs, warm_runner=warm))
            service = stack.enter_context(running_service(config, TEST_API_DIR, api_config=api))
            service.client = Client(service.base_url, config.exchange_service_dir)
            if warm:
                assert service.warm_runner.wait_ready(120), 'the warm runner did not start'
            else:
                assert service.warm_runner is None
            return service

        yield make
    for pid in processes_mentioning(str(tmp_path)):
        os.kill(pid, signal.SIGKILL)


def job_dir(service, job_id):
    return Path(service.resource.layout.job(job_id).dir)


def outcome(service, job_id):
    """What a user gets from a job: its state and its outputs' contents."""
    client = service.client
    job = client.wait_final(job_id)
    outputs = {}
    for name, value in (job.get('output') or {}).items():
        if isinstance(value, dict) and value.get('class') == 'File':
            # paths differ between any two jobs; the rest must not
            outputs[name] = re.sub(r'/\S+', '<path>', client.output_text(job, name))
        else:
            outputs[name] = value
    return job['state'], outputs


def submit_all(client, cases):
    url = client.put_input('wc', 'in.txt', 'one two three\n')
    jobs = {}
    for name, workflow, inputs in cases:
        if inputs == 'FILE':
            inputs = {'file': {'class': 'File', 'location': url}}
        jobs[name] = client.submit(workflow, inputs, name=name)['id']
    return jobs


CASES = [
    ('echo', wf.ECHO, {'text': 'hello warm'}),
    ('wc', wf.WC, 'FILE'),
    ('javascript', wf.JAVASCRIPT, {'number': 20, 'name': 'world'}),
    ('fail', wf.FAIL, {}),
    ('js-error', wf.js_step_input('undefinedThing + 1'), {}),
]


def test_warm_and_cold_jobs_give_the_same_results(services):
    cold, warm = services(False), services(True)
    cold_jobs, warm_jobs = submit_all(cold.client, CASES), submit_all(warm.client, CASES)
    for name, _, _ in CASES:
        assert outcome(warm, warm_jobs[name]) == outcome(cold, cold_jobs[name]), name
    for name, job_id in warm_jobs.items():
        assert 'warm_client.py' in (job_dir(warm, job_id) / 'run.sh').read_text()
        assert COLD_NOTE not in (job_dir(warm, job_id) / 'stderr.txt').read_text(), name
        assert 'forked from the warm runner' in warm.client.log(job_id)
    for job_id in cold_jobs.values():
        assert 'warm_client.py' not in (job_dir(cold, job_id) / 'run.sh').read_text()


def _start_sleeper(client):
    seconds = random.randint(3000, 3999)
    job = client.submit(wf.SLEEP, {'seconds': seconds}, name='sleeper')
    client.wait_state(job['id'], 'Running')
    pids = wait_for(
        lambda: processes_mentioning(f'sleep {seconds}'), message='the sleep process to start'
    )
    return job['id'], seconds, pids[0]


def _group_of(pid):
    with open(f'/proc/{pid}/stat') as f:
        return int(f.read().rsplit(')', 1)[1].split()[2])


def test_cancel_stops_a_warm_jobs_whole_process_group(services):
    service = services(True)
    client = service.client
    job_id, seconds, sleep_pid = _start_sleeper(client)
    group = _group_of(sleep_pid)
    assert group != os.getpgid(0) and str(job_dir(service, job_id)) not in _cmdline(group), (
        'the step runs in the warm job, forked from the server, not in a cold runner'
    )
    assert client.cancel(job_id)[0] == 200
    assert client.wait_final(job_id)['state'] == 'Cancelled'
    wait_for(
        lambda: not processes_mentioning(f'sleep {seconds}') and not _alive(group),
        timeout=30,
        message='the job group to disappear',
    )


def test_a_job_killed_with_kill_9_costs_only_that_job(services):
    service = services(True)
    client = service.client
    job_id, _, sleep_pid = _start_sleeper(client)
    os.kill(_group_of(sleep_pid), signal.SIGKILL)  # the job's runner process
    assert client.wait_final(job_id)['state'] in ('PermanentFailure', 'SystemError')
    wait_for(lambda: not _alive(sleep_pid), 30, message='the rest of its group to be killed')
    after = client.submit(wf.ECHO, {'text': 'still here'})
    assert outcome(service, after['id']) == ('Success', {'output': 'still here\n'})
    assert service.warm_runner.starts == 1, 'the warm runner itself was not affected'


def test_a_killed_warm_runner_costs_no_job_and_comes_back(services):
    service = services(True)
    client, warm = service.client, service.warm_runner
    running, seconds, _ = _start_sleeper(client)
    os.kill(warm.pid, signal.SIGKILL)
    meanwhile = client.submit(wf.ECHO, {'text': 'meanwhile'})
    assert outcome(service, meanwhile['id']) == ('Success', {'output': 'meanwhile\n'})
    wait_for(lambda: warm.starts == 2 and warm.wait_ready(1), 120, message='a new warm runner')
    later = client.submit(wf.ECHO, {'text': 'later'})
    assert outcome(service, later['id']) == ('Success', {'output': 'later\n'})
    assert COLD_NOTE not in (job_dir(service, later['id']) / 'stderr.txt').read_text()
    assert client.state(running) == 'Running', 'the job running at the crash runs on'
    client.cancel(running)
    assert client.wait_final(running)['state'] == 'Cancelled'
    wait_for(lambda: not processes_mentioning(f'sleep {seconds}'), 30, message='sleep gone')


def test_a_restarted_service_adopts_warm_jobs(tmp_path):
    serve = ServeProcess(tmp_path)
    try:
        client = serve.start()
        socket_path = tmp_path / 'run' / 'test-resource' / '.warm-runner' / 'runner.sock'
        wait_for(socket_path.exists, 120, message='the warm runner to be ready')
        jobs = [client.submit(wf.SLEEP, {'seconds': 3}, name=f's{i}')['id'] for i in range(2)]
        for job_id in jobs:
            client.wait_state(job_id, 'Running')
        serve.stop(signal.SIGKILL)
        client = serve.start()
        for job_id in jobs:
            assert client.wait_final(job_id)['state'] == 'Success', client.log(job_id)
            assert client.log(job_id).count('Started on the compute resource') == 1
            run_sh = (tmp_path / 'run' / 'test-resource' / 'jobs' / job_id / 'run.sh').read_text()
            assert 'warm_client.py' in run_sh
        assert serve.stop() == 0
    finally:
        if serve.proc is not None and serve.proc.poll() is None:
            serve.stop(signal.SIGKILL)
        for pid in processes_mentioning(str(tmp_path)):
            os.kill(pid, signal.SIGKILL)


def _alive(pgid):
    """Whether any live process is in process group `pgid`."""
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as f:
                    fields = f.read().rsplit(')', 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != 'Z':
                return True
    return False


def _cmdline(pid):
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            return f.read().replace(b'\0', b' ').decode(errors='replace')
    except OSError:
        return ''
