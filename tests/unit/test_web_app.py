"""The falcon app of web/app.py over a fake backend (JobsBackend: test_web_backend.py).

No actors run here: `create_app` gets a small in-memory stand-in for
JobsBackend that answers or raises what each test asks for.
"""

import json
import logging

import falcon
import falcon.testing
import pytest

from cerise_actors.errors import JobNotFound, ServiceUnavailable
from cerise_actors.jobs.states import JobState
from cerise_actors.jobs.views import JobSummary, JobView
from cerise_actors.web.app import create_app
from cerise_actors.web.auth_gate import AuthGate
from cerise_actors.web.backend import format_log_line

BASE = 'http://cerise.example:8080/api'
UNKNOWN = 'no-such-job'


def _view(job_id, name='', workflow='file:///w.cwl', input_json='{}', state=JobState.SUBMITTED):
    return JobView(
        id=job_id,
        name=name,
        workflow_url=workflow,
        input_json=input_json,
        state=state,
        output_json=None,
        exit_code=None,
        remote_job_id=None,
        remote_dir=None,
        cores=0,
        time_limit=0,
        delete_requested=False,
        created_at=0.0,
        updated_at=0.0,
    )


class FakeBackend:
    """What create_app needs of JobsBackend, in a dict; `fail` makes every call raise."""

    def __init__(self):
        self.jobs = {}
        self.logs = {}
        self.created = []
        self.fail = None
        self.calls = []

    def _enter(self, name, *args):
        self.calls.append((name, *args))
        if self.fail is not None:
            raise self.fail

    def _job(self, job_id):
        if job_id not in self.jobs:
            raise JobNotFound(job_id)
        return self.jobs[job_id]

    def create(self, name, workflow, input_doc, *, owner, **_):
        self._enter('create', name, workflow, input_doc)
        self.created.append((name, workflow, input_doc))
        job = _view(f'job-{len(self.created)}', name, workflow, json.dumps(input_doc))
        self.jobs[job.id] = job
        self.logs[job.id] = [(0.0, 'INFO', 'Job submitted.')]
        return job

    def get(self, job_id, *, owner, **_):
        self._enter('get', job_id)
        return self._job(job_id)

    def list_jobs(self, *query, owner, **_):
        self._enter('list_jobs', *query)
        rows = [
            JobSummary(j.id, j.name, j.workflow_url, j.input_json, j.state.value, j.output_json)
            for j in self.jobs.values()
        ]
        return iter([rows[:1], rows[1:]]), None  # two pages

    def cancel(self, job_id, *, owner, **_):
        self._enter('cancel', job_id)
        job = self._job(job_id)
        self.jobs[job_id] = _view(
            job_id, job.name, job.workflow_url, job.input_json, JobState.CANCELLED
        )
        return self.jobs[job_id]

    def delete(self, job_id, *, owner, **_):
        self._enter('delete', job_id)
        self._job(job_id)
        del self.jobs[job_id]

    def log_text(self, job_id, *, owner, **_):
        self._enter('log_text', job_id)
        self._job(job_id)
        return ''.join(format_log_line(*line) for line in self.logs[job_id])


@pytest.fixture
def backend():
    return FakeBackend()


@pytest.fixture
def client(backend):
    return falcon.testing.TestClient(AuthGate(create_app(backend, BASE), None))


def _add_job(backend, job_id='job-a', **kwargs):
    backend.jobs[job_id] = _view(job_id, **kwargs)
    backend.logs[job_id] = [(0.0, 'INFO', 'Job submitted.'), (60.0, 'ERROR', 'two\nlines')]
    return backend.jobs[job_id]


# --- POST /jobs: refused bodies ----------------------------------------------

NOT_JSON = 'the body is not valid JSON'
NOT_OBJECT = 'the body must be a JSON object'
NO_WORKFLOW = '"workflow" is required and must be a string'
BAD_NAME = '"name" must be a string'
BAD_INPUT = '"input" must be a JSON object'


@pytest.mark.parametrize(
    'body, problem',
    [
        (b'{"workflow": ', NOT_JSON),
        (b'workflow=file:///w.cwl', NOT_JSON),
        (b'\xff\xfe\x00', NOT_JSON),
        (b'', NOT_OBJECT),
        (b'null', NOT_OBJECT),
        (b'[{"workflow": "file:///w.cwl"}]', NOT_OBJECT),
        (b'"file:///w.cwl"', NOT_OBJECT),
        (b'42', NOT_OBJECT),
        (b'{}', NO_WORKFLOW),
        (b'{"name": "n", "input": {}}', NO_WORKFLOW),
        (b'{"workflow": null}', NO_WORKFLOW),
        (b'{"workflow": ""}', NO_WORKFLOW),
        (b'{"workflow": " \\t\\n"}', NO_WORKFLOW),
        (b'{"workflow": 7}', NO_WORKFLOW),
        (b'{"workflow": ["file:///w.cwl"]}', NO_WORKFLOW),
        (b'{"workflow": "file:///w.cwl", "name": 3}', BAD_NAME),
        (b'{"workflow": "file:///w.cwl", "name": ["a"]}', BAD_NAME),
        (b'{"workflow": "file:///w.cwl", "name": {"a": 1}}', BAD_NAME),
        (b'{"workflow": "file:///w.cwl", "input": [1, 2]}', BAD_INPUT),
        (b'{"workflow": "file:///w.cwl", "input": "x=1"}', BAD_INPUT),
        (b'{"workflow": "file:///w.cwl", "input": 0}', BAD_INPUT),
    ],
)
def test_a_bad_job_description_is_refused_with_400_naming_the_problem(
    client, backend, body, problem
):
    result = client.simulate_post('/jobs', body=body, content_type='application/json')
    assert result.status_code == 400, result.text
    assert result.headers['content-type'].startswith('application/json')
    assert result.json['title'] == 'Invalid job description'
    assert result.json['description'].startswith(problem), result.json
    assert backend.calls == []


def test_name_and_input_may_be_null_or_left_out(client, backend):
    for body in (
        {'workflow': 'file:///w.cwl'},
        {'workflow': 'file:///w.cwl', 'name': None, 'input': None},
    ):
        result = client.simulate_post('/jobs', json=body)
        assert result.status_code == 201, result.text
    assert backend.created == [('', 'file:///w.cwl', {}), ('', 'file:///w.cwl', {})]


@pytest.mark.parametrize('number', ['NaN', 'Infinity', '-Infinity'])
def test_non_standard_numbers_in_the_input_are_refused(client, backend, number):
    body = f'{{"workflow": "file:///w.cwl", "input": {{"x": {number}}}}}'
    result = client.simulate_post('/jobs', body=body, content_type='application/json')
    assert result.status_code == 400, result.text
    assert result.json['description'] == (
        f'the body is not valid JSON: {number} is not a JSON number'
    )
    assert backend.created == []


# --- POST /jobs: accepted ------------------------------------------------------


def test_a_good_job_is_created_with_201_and_a_location(client, backend):
    body = {'name': 'my job', 'workflow': 'http://h/w.cwl', 'input': {'n': 1, 'f': [1.5, None]}}
    result = client.simulate_post('/jobs', json=body)
    assert result.status_code == 201, result.text
    assert backend.created == [('my job', 'http://h/w.cwl', {'n': 1, 'f': [1.5, None]})]
    assert result.headers['location'] == f'{BASE}/jobs/job-1'
    assert result.json == {
        'id': 'job-1',
        'name': 'my job',
        'workflow': 'http://h/w.cwl',
        'input': {'n': 1, 'f': [1.5, None]},
        'state': 'Waiting',
        'output': {},
        'log': f'{BASE}/jobs/job-1/log',
    }


def test_without_a_configured_base_url_links_use_the_request_host(backend):
    client = falcon.testing.TestClient(AuthGate(create_app(backend), None))
    result = client.simulate_post(
        '/jobs', json={'workflow': 'file:///w.cwl'}, host='h.example', protocol='https'
    )
    assert result.status_code == 201, result.text
    assert result.headers['location'] == 'https://h.example/jobs/job-1'
    assert result.json['log'] == 'https://h.example/jobs/job-1/log'


# --- reading, cancelling and deleting known jobs ---------------------------------


def test_get_jobs_lists_every_job_as_json(client, backend):
    assert client.simulate_get('/jobs').json == []
    odd = _add_job(backend, 'job-a', name='quote " and é', input_json='{"x": [1, "\\u2028"]}')
    plain = _add_job(backend, 'job-b', state=JobState.RUNNING_CR)
    result = client.simulate_get('/jobs')
    assert result.status_code == 200
    assert result.headers['content-type'] == falcon.MEDIA_JSON
    assert json.loads(result.text) == [
        {
            'id': 'job-a',
            'name': odd.name,
            'workflow': 'file:///w.cwl',
            'input': {'x': [1, '\u2028']},
            'state': 'Waiting',
            'output': {},
            'log': f'{BASE}/jobs/job-a/log',
        },
        {
            'id': plain.id,
            'name': '',
            'workflow': 'file:///w.cwl',
            'input': {},
            'state': 'Running',
            'output': {},
            'log': f'{BASE}/jobs/job-b/log',
        },
    ]
    assert client.simulate_get('/jobs/').json == json.loads(result.text)


def test_get_a_job(client, backend):
    _add_job(backend, 'job-a', name='a', state=JobState.SUCCESS)
    result = client.simulate_get('/jobs/job-a')
    assert result.status_code == 200
    assert (result.json['id'], result.json['name'], result.json['state']) == (
        'job-a',
        'a',
        'Success',
    )
    assert backend.calls == [('get', 'job-a')]


def test_cancel_a_job(client, backend):
    _add_job(backend, 'job-a')
    result = client.simulate_post('/jobs/job-a/cancel')
    assert result.status_code == 200
    assert result.json['state'] == 'Cancelled'
    assert result.headers['location'] == f'{BASE}/jobs/job-a'


def test_delete_a_job(client, backend):
    _add_job(backend, 'job-a')
    result = client.simulate_delete('/jobs/job-a')
    assert result.status_code == 204
    assert result.text == ''
    assert 'job-a' not in backend.jobs
    assert client.simulate_get('/jobs/job-a').status_code == 404


def test_get_the_log_of_a_job(client, backend):
    _add_job(backend, 'job-a')
    result = client.simulate_get('/jobs/job-a/log')
    assert result.status_code == 200
    assert result.headers['content-type'].startswith('text/plain')
    assert result.text == (
        '1970-01-01T00:00:00Z INFO Job submitted.\n1970-01-01T00:01:00Z ERROR two\n  lines\n'
    )


# --- errors ------------------------------------------------------------------------

JOB_ROUTES = [
    ('GET', f'/jobs/{UNKNOWN}', 'get'),
    ('DELETE', f'/jobs/{UNKNOWN}', 'delete'),
    ('POST', f'/jobs/{UNKNOWN}/cancel', 'cancel'),
    ('GET', f'/jobs/{UNKNOWN}/log', 'log_text'),
]
ALL_ROUTES = [
    ('GET', '/jobs', 'list_jobs'),
    ('POST', '/jobs', 'create'),
] + JOB_ROUTES


def _call(client, method, path, **kwargs):
    if method == 'POST' and path == '/jobs':
        kwargs.setdefault('json', {'workflow': 'file:///w.cwl'})
    return client.simulate_request(method, path, **kwargs)


@pytest.mark.parametrize('method, path, call', JOB_ROUTES)
def test_an_unknown_job_gives_404(client, backend, method, path, call):
    _add_job(backend, 'job-a')
    result = _call(client, method, path)
    assert result.status_code == 404, result.text
    assert result.headers['content-type'].startswith('application/json')
    assert result.json == {
        'title': 'Job not found',
        'description': f'there is no job with id {UNKNOWN}',
    }
    assert backend.calls == [(call, UNKNOWN)]
    assert list(backend.jobs) == ['job-a']


def test_an_unknown_path_gives_404_pointing_at_the_api_document(client):
    result = client.simulate_get('/job')
    assert result.status_code == 404
    assert result.json['title'] == 'Not found'
    assert '/job' in result.json['description'] and '/openapi.json' in result.json['description']


@pytest.mark.parametrize('method, path, call', ALL_ROUTES)
def test_a_store_that_does_not_answer_gives_503_with_retry_after(
    client, backend, method, path, call
):
    backend.fail = ServiceUnavailable('the job store did not answer in time')
    result = _call(client, method, path)
    assert result.status_code == 503, result.text
    assert result.headers['retry-after'] == '5'
    assert result.headers['content-type'].startswith('application/json')
    assert result.json == {
        'title': 'Service unavailable',
        'description': 'the job store did not answer in time',
    }
    assert [c[0] for c in backend.calls] == [call]


@pytest.mark.parametrize('method, path, call', ALL_ROUTES)
def test_an_unexpected_error_gives_500_without_a_traceback(
    client, backend, method, path, call, caplog
):
    # the client gets a JSON 500 that says where to look; the traceback goes
    # to the service log (web/app.py's handler for any other exception)
    backend.fail = RuntimeError('secret detail at /srv/cerise/jobs.db')
    with caplog.at_level(logging.ERROR, logger='cerise_actors.web.app'):
        result = _call(client, method, path)
    assert result.status_code == 500, result.text
    assert result.headers['content-type'].startswith('application/json')
    assert result.json == {
        'title': 'Internal error',
        'description': 'the service failed to answer this request; its log has the details',
    }
    for leak in ('Traceback', 'RuntimeError', 'secret detail', '/srv/cerise', 'app.py'):
        assert leak not in result.text
    assert [c[0] for c in backend.calls] == [call]
    (record,) = [r for r in caplog.records if r.name == 'cerise_actors.web.app']
    assert record.exc_info[0] is RuntimeError and 'secret detail' in str(record.exc_info[1])
    assert record.getMessage() == f'internal error answering {method} {path}'
