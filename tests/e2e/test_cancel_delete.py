"""End to end through HTTP: cancelling and deleting jobs, and what is left behind."""

import random

from .. import workflows as wf
from ..helpers import processes_mentioning, wait_for


def _start_sleeper(client):
    seconds = random.randint(3000, 3999)
    job = client.submit(wf.SLEEP, {'seconds': seconds}, name='sleeper')
    client.wait_state(job['id'], 'Running')
    wait_for(lambda: processes_mentioning(f'sleep {seconds}'), message='the sleep process to start')
    return job, seconds


def _all_gone(job_id, seconds):
    return not processes_mentioning(job_id) and not processes_mentioning(f'sleep {seconds}')


def test_cancel_while_running_stops_the_processes(client):
    job, seconds = _start_sleeper(client)
    status, body, _ = client.cancel(job['id'])
    assert status == 200 and body['id'] == job['id']
    assert body['state'] in ('Running', 'Cancelled')
    done = client.wait_final(job['id'])
    assert done['state'] == 'Cancelled', client.log(job['id'])
    wait_for(
        lambda: _all_gone(job['id'], seconds), timeout=30, message='the job processes to disappear'
    )
    assert 'Cancel' in client.log(job['id'])


def test_cancel_while_waiting_for_a_slot(make_service):
    client = make_service(max_running=1).client
    first, seconds = _start_sleeper(client)
    second = client.submit(wf.HOSTNAME)
    client.wait_state(second['id'], 'Waiting')
    wait_for(lambda: 'free slot' in client.log(second['id']), message='second job staged')
    assert client.cancel(second['id'])[0] == 200
    assert client.wait_final(second['id'])['state'] == 'Cancelled'
    assert 'before it started' in client.log(second['id'])
    assert client.state(first['id']) == 'Running', 'the other job is untouched'
    client.cancel(first['id'])
    assert client.wait_final(first['id'])['state'] == 'Cancelled'
    wait_for(lambda: _all_gone(first['id'], seconds), timeout=30, message='processes gone')


def test_jobs_wait_their_turn(make_service):
    client = make_service(max_running=1).client
    first, seconds = _start_sleeper(client)
    queued = [client.submit(wf.HOSTNAME)['id'] for _ in range(3)]
    try:
        wait_for(lambda: all('free slot' in client.log(j) for j in queued), message='staged')
    except AssertionError:
        raise AssertionError('\n'.join(client.log(j) for j in queued)) from None
    assert all(client.state(j) == 'Waiting' for j in queued)
    client.cancel(first['id'])
    for job_id in queued:
        assert client.wait_final(job_id)['state'] == 'Success'


def test_cancel_finished_job_changes_nothing(client):
    done = client.wait_final(client.submit(wf.HOSTNAME)['id'])
    status, body, _ = client.cancel(done['id'])
    assert status == 200 and body['state'] == 'Success'


def test_delete_finished_job_removes_everything(service, client):
    done = client.wait_final(client.submit(wf.HOSTNAME)['id'])
    job_dir = service.root / 'resource' / 'jobs' / done['id']
    output_dir = service.root / 'files' / 'output' / done['id']
    assert job_dir.is_dir() and output_dir.is_dir()
    status, _, _ = client.delete(done['id'])
    assert status == 204
    assert client.job(done['id']) is None
    wait_for(lambda: not job_dir.exists() and not output_dir.exists(), message='job files removed')
    assert done['id'] not in [j['id'] for j in _list(client)]


def test_delete_running_job_cancels_and_removes(service, client):
    job, seconds = _start_sleeper(client)
    job_dir = service.root / 'resource' / 'jobs' / job['id']
    assert client.delete(job['id'])[0] == 204
    assert client.job(job['id']) is None
    wait_for(lambda: _all_gone(job['id'], seconds), timeout=30, message='processes gone')
    wait_for(lambda: not job_dir.exists(), message='job folder removed')


def _list(client):
    from ..helpers import http

    return http('GET', f'{client.base}/jobs')[1]


def test_time_limit_stops_the_job_as_a_permanent_failure(client):
    seconds = random.randint(3000, 3999)
    job = client.submit(wf.SLEEP_WITH_TIME_LIMIT, {'seconds': seconds})
    done = client.wait_final(job['id'], timeout=60)
    assert done['state'] == 'PermanentFailure', client.log(job['id'])
    assert 'time limit' in client.log(job['id'])
    wait_for(lambda: _all_gone(job['id'], seconds), timeout=30, message='processes gone')
