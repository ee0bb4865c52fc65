"""The jobs page's HTML (web/ui_render.py), its progress (web/ui_progress.py)
and its paging arithmetic (web/ui.py), as pure functions: hostile text stays
text, progress reads the step lines, an empty list says so."""

import base64
import hashlib
import re

import falcon
import pytest

from cerise_actors.jobs.step_lines import ended_line, started_line
from cerise_actors.web.ui import page_number, page_span
from cerise_actors.web.ui_progress import progress_of
from cerise_actors.web.ui_render import (
    CSP,
    STYLE,
    JobDetails,
    JobRow,
    Paging,
    job_page,
    jobs_page,
    not_found_page,
    output_entries,
)

BASE = 'http://127.0.0.1:29593'
HOSTILE = '<script>alert("x")</script>&\'"'
NO_PROGRESS = progress_of(())


def lines(*messages):
    return [(1700000000.0 + i, 'INFO', message) for i, message in enumerate(messages)]


def test_a_hostile_job_name_and_id_are_text_in_the_list():
    rows = [JobRow(HOSTILE, HOSTILE, 'Running', NO_PROGRESS)]
    text = jobs_page(BASE, rows, Paging(1, 1, 1), [])
    assert '<script>' not in text and 'alert("x")' not in text
    assert '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#x27;&quot;' in text
    # the id in a link is quoted as a path segment, then escaped
    assert 'href="http://127.0.0.1:29593/ui/jobs/%3Cscript%3E' in text


def test_a_hostile_job_page_log_workflow_and_outputs_are_text():
    job = JobDetails('id1', HOSTILE, 'Success', 'javascript:alert(1)', 0.0, 1.0)
    output = {
        HOSTILE: {'class': 'File', 'location': 'javascript:alert(2)', 'basename': HOSTILE},
        'ok': {'class': 'File', 'location': 'http://h/files/output/id1/a"b.txt?cerise-sig=x&y'},
    }
    log = f'2026-01-01T00:00:00Z INFO {HOSTILE}\n'
    text = job_page(BASE, job, output, NO_PROGRESS, log)
    assert '<script>' not in text
    assert 'href="javascript' not in text and 'javascript:alert(1)' in text
    assert 'href="http://h/files/output/id1/a&quot;b.txt?cerise-sig=x&amp;y"' in text
    assert text.count('&lt;script&gt;') >= 3  # title, output name, basename, log


def test_step_names_from_the_log_are_text():
    progress = progress_of(lines(started_line('<script>alert(1)</script>')))  # no ' in a step
    text = job_page(BASE, JobDetails('i', 'n', 'Running', 'http://w', 0, 0), {}, progress, '')
    assert '<script>' not in text and '&lt;script&gt;' in text


def test_an_empty_list_says_there_are_no_jobs():
    text = jobs_page(BASE, [], Paging(1, 1, 0), [])
    assert 'id="no-jobs"' in text and 'No jobs yet' in text
    assert '<table id="jobs"' not in text
    assert 'page 1 of 1, 0 jobs' in text
    assert 'No steps are installed' in text


def test_progress_counts_done_of_total_and_names_running_and_failed_steps():
    progress = progress_of(
        lines(
            'Staging in.',
            started_line('a'),
            started_line('b'),
            ended_line('a', 'success', 1, 3),
            started_line('c'),
            ended_line('c', 'permanentFail', 2, 3),
        )
    )
    assert (progress.done, progress.total) == (2, 3)
    assert [step.state for step in progress.steps] == ['done', 'running', 'failed']
    assert progress.summary() == '2 of 3 steps done; running: b; failed: c'
    text = jobs_page(BASE, [JobRow('j', 'n', 'Running', progress)], Paging(1, 1, 1), [])
    assert '<progress value="2" max="3"></progress>' in text
    assert '2 of 3 steps done; running: b; failed: c' in text


def test_progress_without_step_lines_and_before_the_total_is_known():
    assert NO_PROGRESS.summary() == 'no step started'
    assert progress_of(lines(started_line('s'))).summary() == '0 steps done; running: s'
    finished = progress_of(lines(started_line('s'), ended_line('s', 'success', 1, 1)))
    assert finished.summary() == '1 of 1 steps done'


def test_the_csp_allows_exactly_the_pages_stylesheet():
    digest = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in CSP and "default-src 'none'" in CSP
    text = jobs_page(BASE, [], Paging(1, 1, 0), [])
    assert re.findall(r'<style>(.*?)</style>', text) == [STYLE]
    assert '<script' not in text


def test_unfinished_jobs_reload_the_page_finished_ones_do_not():
    running = jobs_page(BASE, [JobRow('j', 'n', 'Running', NO_PROGRESS)], Paging(1, 1, 1), [])
    done = jobs_page(BASE, [JobRow('j', 'n', 'Success', NO_PROGRESS)], Paging(1, 1, 1), [])
    assert 'http-equiv="refresh"' in running and 'http-equiv="refresh"' not in done


def test_outputs_of_every_shape_are_listed():
    output = {
        'one': {'class': 'File', 'location': 'http://h/a.txt', 'basename': 'a.txt', 'size': 1500},
        'many': [{'class': 'File', 'location': 'http://h/b.txt'}],
        'dir': {
            'class': 'Directory',
            'location': 'http://h/d',
            'listing': [{'class': 'File', 'location': 'http://h/d/c.txt'}],
        },
        'count': 3,
    }
    assert list(output_entries(output)) == [
        ('one', 'a.txt (1.5 kB)', 'http://h/a.txt'),
        ('many[0]', 'b.txt', 'http://h/b.txt'),
        ('dir', 'd', 'http://h/d'),
        ('dir.listing[0]', 'c.txt', 'http://h/d/c.txt'),
        ('count', '3', None),
    ]
    assert list(output_entries(None)) == []


def test_the_steps_offered_are_listed():
    steps = [
        {
            'name': 'test/wc.cwl',
            'version': '1.0',
            'label': HOSTILE,
            'inputs': [{'name': 'file', 'type': 'File'}],
            'outputs': [{'name': 'output', 'type': {'type': 'array', 'items': 'File'}}],
        }
    ]
    text = jobs_page(BASE, [], Paging(1, 1, 0), steps)
    assert '<code>test/wc.cwl</code>' in text and '<code>file: File</code>' in text
    assert 'output: {&quot;type&quot;: &quot;array&quot;' in text
    assert '<script>' not in text


def test_not_found_names_the_id_as_text():
    text = not_found_page(BASE, HOSTILE)
    assert 'No such job' in text and '<script>' not in text


@pytest.mark.parametrize(
    'total,page,expected',
    [
        (0, 1, (0, 0, 1)),
        (5, 1, (0, 5, 1)),
        (20, 1, (0, 20, 1)),
        (45, 1, (25, 20, 3)),
        (45, 2, (5, 20, 3)),
        (45, 3, (0, 5, 3)),
        (45, 4, (0, 0, 3)),
    ],
)
def test_pages_count_from_the_newest(total, page, expected):
    assert page_span(total, page, 20) == expected


@pytest.mark.parametrize('raw', ['0', '-1', 'x', '²', ['1', '2']])
def test_a_bad_page_number_is_refused(raw):
    with pytest.raises(falcon.HTTPBadRequest):
        page_number({'page': raw})
    assert page_number({}) == 1 and page_number({'page': '3'}) == 3
