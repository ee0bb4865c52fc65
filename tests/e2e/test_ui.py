"""The jobs page over real HTTP (web/ui.py): the list newest first and paged,
each job's progress while it runs and after, a job's own page with its
log and outputs, the steps offered, and the headers that keep it inert."""

import re

import pytest

from cerise_actors.web import ui

from .. import workflows as wf
from ..helpers import http, wait_for

HOSTILE = '<script>alert(1)</script>'


def get_page(service, path):
    status, text, headers = http('GET', f'{service.base_url}{path}')
    assert headers['Content-Type'].startswith('text/html'), (status, text)
    csp = headers['Content-Security-Policy']
    assert csp.startswith("default-src 'none'; style-src 'sha256-"), csp
    assert headers['X-Content-Type-Options'] == 'nosniff'
    return status, text


def listed_names(text):
    return re.findall(r'<tr class="job" data-id="[^"]*"><td><a href="[^"]*">([^<]*)</a>', text)


def test_an_empty_list_and_the_steps_offered(service):
    status, text = get_page(service, '/ui')
    assert status == 200
    assert 'No jobs yet' in text and 'page 1 of 1, 0 jobs' in text
    assert '<code>test/wc.cwl</code>' in text and '<code>file: File</code>' in text


def test_the_index_links_the_page(service):
    status, index, _ = http('GET', f'{service.base_url}/')
    assert status == 200 and index['links']['ui'] == f'{service.base_url}/ui'


def test_a_job_shows_its_progress_while_it_runs_and_when_done(service):
    client = service.client
    job = client.submit(wf.SLEEP_AND_ECHO, {'seconds': 3, 'text': 'hi'}, name=HOSTILE)

    def running_page():
        text = get_page(service, '/ui')[1]
        return '1 of 2 steps done; running: s' in text and text

    text = wait_for(running_page, 60, message='the list to show the running step')
    assert '<script>' not in text
    assert listed_names(text) == ['&lt;script&gt;alert(1)&lt;/script&gt;']
    assert '<progress value="1" max="2"></progress>' in text
    assert 'http-equiv="refresh"' in text  # an unfinished job: the page reloads itself
    assert client.wait_final(job['id'])['state'] == 'Success'
    text = get_page(service, '/ui')[1]
    assert '2 of 2 steps done' in text and 'class="state Success"' in text
    assert f'href="{service.base_url}/ui/jobs/{job["id"]}"' in text
    assert 'http-equiv="refresh"' not in text


def test_a_jobs_page_has_its_log_outputs_and_steps(service):
    client = service.client
    url = client.put_input('ui', 'words.txt', 'one two\nthree\n')
    job = client.submit(wf.WC, {'file': {'class': 'File', 'location': url}}, name='count me')
    done = client.wait_final(job['id'])
    assert done['state'] == 'Success'
    status, text = get_page(service, f'/ui/jobs/{job["id"]}')
    assert status == 200
    assert '<h1>count me</h1>' in text and '1 of 1 steps done' in text
    assert 'Step &#x27;s&#x27; finished; 1 of 1 steps done.' in text  # the log
    location = done['output']['output']['location']
    # these test services publish file:// URLs: shown, not linked (only http(s) is)
    assert location.startswith('file://') and f'<code>{location}</code>' in text
    assert '<td><code>output</code></td>' in text and 'output.txt' in text
    assert f'href="{location}"' not in text
    assert '<table id="steps-run">' in text and '<code>s</code>' in text


def test_an_unknown_job_is_a_404_page(service):
    status, text = get_page(service, '/ui/jobs/no-such-job')
    assert status == 404 and 'No such job' in text and 'no-such-job' in text
    status, text = get_page(service, '/ui/jobs/%3Cscript%3E')
    assert status == 404 and '<script>' not in text


def test_pages_go_from_the_newest_to_the_oldest(service, monkeypatch):
    monkeypatch.setattr(ui, 'PAGE_SIZE', 2)
    for i in range(5):
        service.client.submit(wf.HOSTNAME, name=f'job{i}')
    pages = {}
    for number in (1, 2, 3, 4):
        status, text = get_page(service, f'/ui?page={number}')
        assert status == 200
        pages[number] = text
    assert [listed_names(pages[n]) for n in (1, 2, 3, 4)] == [
        ['job4', 'job3'],
        ['job2', 'job1'],
        ['job0'],
        [],
    ]
    assert 'rel="next" href="http' in pages[1] and 'rel="prev"' not in pages[1]
    assert 'rel="prev"' in pages[3] and 'rel="next"' not in pages[3]
    assert 'page 2 of 3, 5 jobs' in pages[2]
    assert 'No jobs on this page' in pages[4]


@pytest.mark.parametrize('page', ['0', 'x', '-2'])
def test_a_bad_page_number_is_a_400(service, page):
    status, body, _ = http('GET', f'{service.base_url}/ui?page={page}')
    assert status == 400 and 'page' in body['description']
