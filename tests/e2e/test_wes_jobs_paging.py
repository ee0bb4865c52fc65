"""GET /jobs filters and pages, through REST, the Python client and the CLI.

Without parameters GET /jobs is Cerise's whole list; `state`, `name`, `limit`
and `cursor` keep a large store usable. Jobs with an unreadable workflow end
PermanentFailure at stage-in without running anything, so many can be made
cheaply.
"""

import json
import threading
import urllib.parse

from cerise_actors.client import Service

from .. import workflows as wf
from ..helpers import http, wait_for
from .test_cli_client import cli


def _bad_job(service, name):
    status, job, _ = http('POST', f'{service.base_url}/jobs', {'name': name, 'workflow': 'x'})
    assert status == 201, job
    return job['id']


def _pages(base, query, limit):
    ids, url = [], f'{base}/jobs?{urllib.parse.urlencode({**query, "limit": limit})}'
    while url:
        status, page, headers = http('GET', url)
        assert status == 200, page
        assert isinstance(page, list) and len(page) <= limit
        ids += [job['id'] for job in page]
        link = headers.get('Link')
        assert (link is None) == (headers.get('Cerise-Next-Cursor') is None)
        url = link and link[1 : link.index('>')]
    return ids


def test_filters_and_pages_over_rest(service):
    base = service.base_url
    failed = [_bad_job(service, 'bad') for _ in range(7)]
    for job_id in failed:
        service.client.wait_state(job_id, 'PermanentFailure')
    running = service.client.submit(wf.SLEEP, {'seconds': 60}, name='sleeper')['id']
    service.client.wait_state(running, 'Running')
    everything = failed + [running]

    status, whole, headers = http('GET', f'{base}/jobs')
    assert [job['id'] for job in whole] == everything and 'Link' not in headers
    assert _pages(base, {}, 3) == everything
    assert _pages(base, {'state': 'PermanentFailure'}, 2) == failed
    assert _pages(base, {'name': 'sleeper'}, 1) == [running]
    status, page, _ = http('GET', f'{base}/jobs?state=running,success&state=Cancelled')
    assert status == 200 and [job['id'] for job in page] == [running]
    status, page, _ = http('GET', f'{base}/jobs?name=bad&state=Running')
    assert (status, page) == (200, [])
    service.client.cancel(running)


def test_bad_parameters_are_400_naming_the_problem(service):
    base = service.base_url
    for query, words in (
        ('state=Sleeping', 'unknown state'),
        ('limit=0', 'at least 1'),
        ('limit=ten', 'whole number'),
        ('limit=1&limit=2', 'at most once'),
        ('cursor=!!!', 'page token'),
        ('cursor=' + 'QQ' * 200, 'page token'),
        ('cursor=bm90IGEgbnVtYmVy', 'page token'),
    ):
        status, body, _ = http('GET', f'{base}/jobs?{query}')
        assert status == 400, (query, body)
        assert body['title'] == 'Invalid query' and words in body['description'], body


def test_pages_hold_every_job_once_while_jobs_are_added(service):
    base = service.base_url
    before = [_bad_job(service, 'early') for _ in range(12)]
    stop = threading.Event()
    added = []

    def keep_adding():
        while not stop.is_set() and len(added) < 40:
            added.append(_bad_job(service, 'late'))

    adder = threading.Thread(target=keep_adding)
    adder.start()
    try:
        wait_for(lambda: len(added) >= 2, message='jobs being added')
        seen = _pages(base, {}, 2)
    finally:
        stop.set()
        adder.join()
    assert len(seen) == len(set(seen)), 'a job was listed twice'
    assert seen[: len(before)] == before
    assert set(seen) <= set(before + added)


def test_client_and_cli_use_the_filters(service):
    made = [_bad_job(service, name) for name in ('one', 'two', 'one')]
    for job_id in made:
        service.client.wait_state(job_id, 'PermanentFailure')
    client = Service(service.base_url)
    assert [job.id for job in client.list_jobs(name='one')] == [made[0], made[2]]
    assert [job.id for job in client.list_jobs(page_size=1)] == made
    assert [job.id for job in client.list_jobs(state=['Running', 'PermanentFailure'])] == made
    assert client.list_jobs(state='Success') == []
    page, cursor = client.list_jobs_page(limit=2)
    assert [job.id for job in page] == made[:2] and cursor
    page, cursor = client.list_jobs_page(limit=2, cursor=cursor)
    assert [job.id for job in page] == made[2:] and cursor is None

    code, out, err = cli(
        'list', '--name', 'one', '--page-size', '1', '--json', '--service', service.base_url
    )
    assert code == 0, err
    assert [job['id'] for job in json.loads(out)] == [made[0], made[2]]
    code, out, err = cli('list', '--state', 'Success', '--service', service.base_url)
    assert (code, out) == (0, '')
