"""JobsBackend (web/backend.py) over a stand-in for the StoreActor's proxy.

The stand-in's futures answer or raise what each test asks for, so no actor
runs: time-outs and dead actors must become 503s, missing jobs 404s.
"""

import falcon.testing
import pykka
import pytest

from cerise_actors.defaults import WEB_ASK_TIMEOUT
from cerise_actors.errors import JobNotFound, ServiceUnavailable, TooManyActiveJobs
from cerise_actors.jobs.views import JobSummary
from cerise_actors.web.app import create_app
from cerise_actors.web.auth_gate import AuthGate
from cerise_actors.web.backend import JobsBackend
from cerise_actors.web.paging import STORE_PAGE_BYTES, STORE_PAGE_SECONDS

from .test_web_app import _view

BASE = 'http://cerise.example:8080/api'


# --- JobsBackend over a fake StoreActor proxy ------------------------------------


class FakeFuture:
    def __init__(self, value=None, error=None):
        self.value = value
        self.error = error
        self.timeouts = []

    def get(self, timeout=None):
        self.timeouts.append(timeout)
        if self.error is not None:
            raise self.error
        return self.value


class FakeProxy:
    """Each method returns `answer` (a FakeFuture) and records its arguments."""

    def __init__(self, answer):
        self.answer = answer
        self.calls = []

    def __getattr__(self, name):
        def method(*args, **kwargs):
            self.calls.append((name, *args, *([kwargs] if kwargs else [])))
            return self.answer() if callable(self.answer) else self.answer

        return method


OWNER = 'alice'

BACKEND_CALLS = [
    pytest.param(
        lambda b: b.create('n', 'file:///w.cwl', {'a': 1}, owner=OWNER), 'create_job', id='create'
    ),
    pytest.param(lambda b: b.get('job-a', owner=OWNER), 'get_job', id='get'),
    pytest.param(lambda b: list(b.list_jobs(owner=OWNER)[0]), 'list_jobs_page', id='list'),
    pytest.param(lambda b: b.list_jobs(limit=5, owner=OWNER), 'jobs_page_end', id='list-page'),
    pytest.param(lambda b: list(b.list_runs(5, owner=OWNER)), 'list_runs', id='list-runs'),
    pytest.param(lambda b: b.get_run('job-a', owner=OWNER), 'get_run', id='get-run'),
    pytest.param(lambda b: b.state_counts(owner=OWNER), 'state_counts', id='state-counts'),
    pytest.param(lambda b: b.cancel('job-a', owner=OWNER), 'cancel_job', id='cancel'),
    pytest.param(lambda b: b.delete('job-a', owner=OWNER), 'delete_job', id='delete'),
    pytest.param(lambda b: b.log_text('job-a', owner=OWNER), 'job_log', id='log_text'),
    pytest.param(lambda b: b.log_lines('job-a', owner=OWNER), 'job_log', id='log_lines'),
]


@pytest.mark.parametrize('call, store_method', BACKEND_CALLS)
@pytest.mark.parametrize(
    'error, message',
    [
        pytest.param(
            pykka.Timeout('no answer in 20 s'), 'the job store did not answer in time', id='timeout'
        ),
        pytest.param(
            pykka.ActorDeadError('StoreActor (urn:x) stopped'),
            'the service is shutting down',
            id='dead',
        ),
    ],
)
def test_backend_turns_a_silent_or_dead_store_into_service_unavailable(
    call, store_method, error, message
):
    future = FakeFuture(error=error)
    proxy = FakeProxy(future)
    with pytest.raises(ServiceUnavailable) as caught:
        call(JobsBackend(proxy))
    assert str(caught.value) == message
    assert caught.value.__cause__ is error
    assert caught.value.temporary
    assert [c[0] for c in proxy.calls] == [store_method]
    assert future.timeouts == [WEB_ASK_TIMEOUT]


@pytest.mark.parametrize('call, store_method', BACKEND_CALLS)
def test_backend_asks_the_store_for_the_owners_jobs_only(call, store_method):
    proxy = FakeProxy(FakeFuture(error=RuntimeError('stop here')))
    with pytest.raises(RuntimeError):
        call(JobsBackend(proxy))
    assert proxy.calls[0][0] == store_method
    assert proxy.calls[0][-1]['owner'] == OWNER


@pytest.mark.parametrize(
    'method, args',
    [
        ('create', ('n', 'file:///w.cwl', {})),
        ('get', ('job-a',)),
        ('list_jobs', ()),
        ('list_runs', (5,)),
        ('get_run', ('job-a',)),
        ('state_counts', ()),
        ('cancel', ('job-a',)),
        ('delete', ('job-a',)),
        ('log_text', ('job-a',)),
        ('log_lines', ('job-a',)),
    ],
)
def test_no_backend_call_can_forget_the_owner(method, args):
    """`owner` is required and keyword-only: a resource that leaves it out fails
    at once, before the store is asked for anybody's jobs."""
    proxy = FakeProxy(FakeFuture(None))
    with pytest.raises(TypeError, match='owner'):
        getattr(JobsBackend(proxy), method)(*args)
    assert proxy.calls == []


def test_create_passes_the_limit_on_and_the_refusal_back():
    proxy = FakeProxy(FakeFuture(error=TooManyActiveJobs(OWNER, 3)))
    with pytest.raises(TooManyActiveJobs) as refused:
        JobsBackend(proxy).create('n', 'file:///w.cwl', {}, owner=OWNER, max_active=3)
    assert (refused.value.owner, refused.value.limit) == (OWNER, 3)
    assert proxy.calls == [
        ('create_job', 'n', 'file:///w.cwl', '{}', {'owner': OWNER, 'max_active': 3})
    ]


@pytest.mark.parametrize('call, store_method', BACKEND_CALLS)
def test_backend_passes_other_errors_through(call, store_method):
    error = RuntimeError('disk I/O error')
    with pytest.raises(RuntimeError) as caught:
        call(JobsBackend(FakeProxy(FakeFuture(error=error))))
    assert caught.value is error


@pytest.mark.parametrize(
    'call, missing',
    [
        pytest.param(lambda b: b.get('job-x', owner=OWNER), None, id='get'),
        pytest.param(lambda b: b.get_run('job-x', owner=OWNER), None, id='get-run'),
        pytest.param(lambda b: b.cancel('job-x', owner=OWNER), None, id='cancel'),
        pytest.param(lambda b: b.delete('job-x', owner=OWNER), False, id='delete'),
        pytest.param(lambda b: b.log_text('job-x', owner=OWNER), None, id='log_text'),
    ],
)
def test_backend_turns_a_missing_job_into_job_not_found(call, missing):
    with pytest.raises(JobNotFound) as caught:
        call(JobsBackend(FakeProxy(FakeFuture(missing))))
    assert caught.value.job_id == 'job-x'


def test_backend_passes_answers_on():
    job = _view('job-a')
    proxy = FakeProxy(FakeFuture(job))
    backend = JobsBackend(proxy)
    assert backend.create('n', 'file:///w.cwl', {'a': [1, None]}, owner=OWNER) is job
    assert backend.get('job-a', owner=OWNER) is job
    assert backend.cancel('job-a', owner=OWNER) is job
    assert proxy.calls == [
        ('create_job', 'n', 'file:///w.cwl', '{"a": [1, null]}', {'owner': OWNER}),
        ('get_job', 'job-a', {'owner': OWNER}),
        ('cancel_job', 'job-a', {'owner': OWNER}),
    ]
    proxy.answer = FakeFuture(True)
    assert backend.delete('job-a', owner=OWNER) is None
    proxy.answer = FakeFuture([(0.0, 'INFO', 'a'), (3661.0, 'WARNING', 'b\nc')])
    assert backend.log_text('job-a', owner=OWNER) == (
        '1970-01-01T00:00:00Z INFO a\n1970-01-01T01:01:01Z WARNING b\n  c\n'
    )
    proxy.answer = FakeFuture([])
    assert backend.log_text('job-a', owner=OWNER) == ''


def test_app_over_a_store_that_times_out_answers_503():
    client = falcon.testing.TestClient(
        AuthGate(
            create_app(JobsBackend(FakeProxy(FakeFuture(error=pykka.Timeout('slow')))), BASE), None
        )
    )
    for path in ('/jobs/job-a', '/jobs', '/jobs?limit=2'):
        result = client.simulate_get(path)
        assert result.status_code == 503, path
        assert result.headers['retry-after'] == '5'
        assert result.json['description'] == 'the job store did not answer in time'


# --- lists: one short ask per page, made as the answer is written ------------------


def _summary(job_id):
    return JobSummary(job_id, '', 'file:///w.cwl', '{}', 'Waiting', None)


def test_a_list_asks_for_its_pages_one_by_one_as_they_are_read():
    pages = iter([([_summary('a'), _summary('b')], (1.0, 'b')), ([_summary('c')], None)])
    proxy = FakeProxy(lambda: FakeFuture(next(pages)))
    rows, cursor = JobsBackend(proxy).list_jobs(['Waiting'], 'n', owner=OWNER)
    assert cursor is None and proxy.calls == [], 'nothing is asked before the answer is written'
    assert [row.id for row in next(rows)] == ['a', 'b']
    assert [row.id for row in next(rows)] == ['c']
    assert next(rows, None) is None
    bounds = {
        'owner': OWNER,
        'until': None,
        'max_bytes': STORE_PAGE_BYTES,
        'max_seconds': STORE_PAGE_SECONDS,
    }
    assert proxy.calls == [
        ('list_jobs_page', ['Waiting'], 'n', None, None, bounds),
        ('list_jobs_page', ['Waiting'], 'n', None, (1.0, 'b'), bounds),
    ]


def test_a_page_of_jobs_asks_where_it_ends_first_and_reads_up_to_there():
    answers = iter([((2.0, 'c'), (2.0, 'c')), ([_summary('b'), _summary('c')], None)])
    proxy = FakeProxy(lambda: FakeFuture(next(answers)))
    rows, cursor = JobsBackend(proxy).list_jobs(None, None, 2, (1.0, 'a'), owner=OWNER)
    assert cursor == (2.0, 'c')
    assert [row.id for page in rows for row in page] == ['b', 'c']
    assert proxy.calls[0] == ('jobs_page_end', None, None, 2, (1.0, 'a'), {'owner': OWNER})
    assert proxy.calls[1][:5] == ('list_jobs_page', None, None, None, (1.0, 'a'))
    assert proxy.calls[1][5]['until'] == (2.0, 'c')
    empty = FakeProxy(FakeFuture((None, None)))
    rows, cursor = JobsBackend(empty).list_jobs(None, None, 2, (9.0, 'z'), owner=OWNER)
    assert (list(rows), cursor) == ([], None) and len(empty.calls) == 1


def test_a_page_of_runs_asks_until_it_has_page_size_runs():
    answers = iter([([_summary('a')], (1.0, 'a')), ([_summary('b')], (2.0, 'b'))])
    proxy = FakeProxy(lambda: FakeFuture(next(answers)))
    pages = list(JobsBackend(proxy).list_runs(2, None, owner=OWNER))
    assert [(len(rows), cursor) for rows, cursor in pages] == [(1, (1.0, 'a')), (1, (2.0, 'b'))]
    assert [call[1:3] for call in proxy.calls] == [(2, None), (1, (1.0, 'a'))]
