"""Red team, held: a burst of simultaneous POSTs, /jobs and WES together, does not pass the per-user limit.

With `limits.active-jobs-per-user: 2`, bob sends 12 submissions of jobs that
sleep at the same moment, half through POST /jobs and half through WES POST
/runs. At most 2 are made, the others answer 429, and alice's first job is
still accepted.
"""

import threading

import pytest

from .. import workflows as wf
from .conftest import WES

LIMIT = 2
BURST = 12


@pytest.fixture(scope='module')
def limited(module_auth_service):
    service = module_auth_service(
        users=['alice', 'bob'], limits={'active-jobs-per-user': LIMIT}, max_running=4
    )
    service.alice = service.client(service.tokens['alice'])
    service.bob = service.client(service.tokens['bob'])
    yield service
    for client in (service.alice, service.bob):
        status, jobs, _ = client.call('GET', '/jobs')
        for job in jobs if status == 200 else ():
            client.call('POST', f'/jobs/{job["id"]}/cancel')


def test_a_burst_through_jobs_and_wes_at_once_stays_within_the_limit(limited):
    bob = limited.bob
    workflow = bob.put_input('burst', 'sleep.cwl', wf.SLEEP)
    go = threading.Barrier(BURST)
    answers = []

    def submit(number):
        go.wait()
        if number % 2:
            body = {'name': 'burst', 'workflow': workflow, 'input': {'seconds': 300}}
            status, _, _ = bob.call('POST', '/jobs', body)
        else:
            status, _, _ = bob.post_run(
                [('wf/sleep.cwl', wf.SLEEP.encode())],
                workflow_url='wf/sleep.cwl',
                workflow_params={'seconds': 300},
            )
        answers.append(status)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    made = [status for status in answers if status in (200, 201)]
    assert len(answers) == BURST and set(answers) <= {200, 201, 429}, answers
    assert len(made) == LIMIT, answers
    status, jobs, _ = bob.call('GET', '/jobs')
    assert status == 200 and len(jobs) == LIMIT, jobs
    status, runs, _ = bob.call('GET', f'{WES}/runs')
    assert len(runs['runs']) == LIMIT
    status, job, _ = limited.alice.submit(wf.HOSTNAME, {}, 'alices-first')
    assert status == 201, job
