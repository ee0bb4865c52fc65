"""Red team: /metrics must not tell bob about alice's jobs.

It counts every user's jobs by state (`cerise_jobs`, asked of the store
with owner=None in app/metrics.py) and every submission. Found open to any
user's token; since ea2f730 only the user 'metrics' reads it with a users
file. Over real HTTP: bob, with no job of his own, either is refused or
sees nothing of alice's.
"""

import re

import pytest

from .. import workflows as wf


@pytest.fixture(scope='module')
def pair(module_auth_service):
    service = module_auth_service(users=['alice', 'bob'])
    service.alice = service.client(service.tokens['alice'])
    service.bob = service.client(service.tokens['bob'])
    return service


def counted(text, metric):
    """The sum of the samples of `metric` in a Prometheus text answer."""
    return sum(
        float(value)
        for value in re.findall(rf'^{metric}(?:{{[^}}]*}})? (\S+)$', text, flags=re.MULTILINE)
    )


def test_bobs_metrics_do_not_count_alices_jobs(pair):
    status, job, _ = pair.alice.submit(wf.HOSTNAME, {}, 'alices-private-job')
    assert status == 201, job
    assert pair.alice.wait_final(job['id'])['state'] == 'Success'
    status, jobs, _ = pair.bob.call('GET', '/jobs')
    assert status == 200 and jobs == []  # bob has no job of his own
    status, text, _ = pair.bob.call('GET', '/metrics')
    if status == 200:  # open to bob: it must then show his share only
        assert counted(text, 'cerise_jobs') == 0, 'bob sees that alice has jobs'
        assert counted(text, 'cerise_submissions_total') == 0, 'bob sees alice submit'
    else:
        assert status in (401, 403, 404), (status, text)
