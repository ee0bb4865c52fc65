"""limits.active-jobs-per-user: a user's next job beyond it is refused with 429, through /jobs and WES.

With a limit of 2: jobs that sleep until cancelled fill alice's share; her
third is refused with a JSON message naming the setting, while bob still
submits and his job runs at once; a place frees up when one of hers is
cancelled, deleted or finishes. With one token and no users file, the
service's one user has the same limit.
"""

import json

import pytest

from .. import workflows as wf
from ..helpers import wait_for
from .conftest import WES

LIMIT = 2
KEY = 'limits.active-jobs-per-user'
LONG = 300  # seconds: until the test cancels it
WES_FINAL = {'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'}


@pytest.fixture(scope='module')
def limited(module_auth_service):
    service = module_auth_service(
        users=['alice', 'bob'], limits={'active-jobs-per-user': LIMIT}, max_running=8
    )  # slots enough: only the limit holds jobs back here
    service.alice = service.client(service.tokens['alice'])
    service.bob = service.client(service.tokens['bob'])
    yield service
    cancel_all(service.alice)
    cancel_all(service.bob)


@pytest.fixture(scope='module')
def single(module_auth_service):
    service = module_auth_service(limits={'active-jobs-per-user': LIMIT}, max_running=8)
    service.one = service.client(service.token)
    yield service
    cancel_all(service.one)


def cancel_all(client):
    status, jobs, _ = client.call('GET', '/jobs')
    for job in jobs if status == 200 else ():
        if job['state'] in ('Waiting', 'Running'):
            client.call('POST', f'/jobs/{job["id"]}/cancel')


def sleeping(client, seconds=LONG):
    status, job, _ = client.submit(wf.SLEEP, {'seconds': seconds}, 'sleeper')
    assert status == 201, job
    return job['id']


def wes_sleeping(client, seconds=LONG):
    status, answer, _ = client.post_run(
        [('wf/sleep.cwl', wf.SLEEP.encode())],
        workflow_url='wf/sleep.cwl',
        workflow_params={'seconds': seconds},
    )
    return status, answer


def assert_refused(client):
    """Both front ends refuse the next job with 429 and a message naming the limit."""
    status, body, headers = client.submit(wf.SLEEP, {'seconds': LONG}, 'one-too-many')
    assert status == 429, body
    assert 'json' in headers['Content-Type'] and headers.get('Retry-After'), dict(headers)
    assert KEY in body['description'] and str(LIMIT) in body['description'], body
    status, body = wes_sleeping(client)
    assert status == 429, body
    assert body['status_code'] == 429 and KEY in body['msg'] and str(LIMIT) in body['msg'], body


def unfinished(client):
    status, jobs, _ = client.call('GET', '/jobs')
    assert status == 200, jobs
    return sorted(job['id'] for job in jobs if job['state'] in ('Waiting', 'Running'))


def final(client, job_id):
    return client.wait_final(job_id)['state']


def test_the_next_job_beyond_the_limit_is_refused_and_another_user_still_runs(limited):
    alice, bob = limited.alice, limited.bob
    first = sleeping(alice)
    status, answer = wes_sleeping(alice)  # WES runs count as jobs too
    assert status == 200, answer
    second = answer['run_id']
    assert unfinished(alice) == sorted([first, second])
    assert_refused(alice)
    assert unfinished(alice) == sorted([first, second])  # nothing was made
    runs_folder = limited.exchange / 'users' / 'alice' / 'input' / 'wes'
    assert sorted(path.name for path in runs_folder.iterdir()) == [second]

    status, job, _ = bob.submit(wf.HOSTNAME, {}, 'bobs-first')
    assert status == 201, job
    assert final(bob, job['id']) == 'Success'  # not held back by alice's jobs
    status, answer = wes_sleeping(bob, 1)
    assert status == 200, answer

    # a place frees up when one of hers is cancelled (through WES here) ...
    status, answer, _ = alice.call('POST', f'{WES}/runs/{second}/cancel')
    assert status == 200, answer
    assert final(alice, second) == 'Cancelled'
    third = sleeping(alice)
    assert_refused(alice)
    # ... or deleted
    status, answer, _ = alice.call('DELETE', f'/jobs/{first}')
    assert status == 204, answer
    wait_for(lambda: alice.job(first) is None, 30, message='the deleted job to be gone')
    fourth = sleeping(alice)
    assert unfinished(alice) == sorted([third, fourth])
    assert_refused(alice)
    # the message tells the user, not the whole service
    status, body, _ = bob.call('GET', '/jobs')
    assert status == 200 and 'one-too-many' not in json.dumps(body)


def test_a_place_frees_up_when_a_job_finishes(limited):
    alice = limited.alice
    cancel_all(alice)
    for job_id in unfinished(alice):
        final(alice, job_id)
    short = sleeping(alice, 3)
    long = sleeping(alice)
    assert_refused(alice)
    assert final(alice, short) == 'Success'
    status, job, _ = alice.submit(wf.HOSTNAME, {}, 'after-one-finished')
    assert status == 201, job
    assert final(alice, job['id']) == 'Success'
    assert alice.job(long)['state'] in ('Waiting', 'Running')


def test_with_one_token_the_limit_applies_to_the_one_user(single):
    one = single.one
    first = sleeping(one)
    status, answer = wes_sleeping(one)
    assert status == 200, answer
    assert_refused(one)
    assert unfinished(one) == sorted([first, answer['run_id']])
    one.call('POST', f'/jobs/{first}/cancel')
    assert final(one, first) == 'Cancelled'
    status, answer = wes_sleeping(one)
    assert status == 200, answer
    assert_refused(one)
