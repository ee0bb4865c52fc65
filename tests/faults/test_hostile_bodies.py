"""POST /jobs with bodies a careless or hostile client sends: too large, too
deep, not valid Unicode, non-finite numbers. Each is refused with a JSON
4xx naming the problem, nothing is stored, and the service keeps serving
every job it holds as strict JSON.
"""

import json
import urllib.parse

import pytest

from cerise_actors.defaults import MAX_REQUEST_BYTES
from cerise_actors.web.request_body import MAX_JSON_DEPTH

from ..helpers import http
from ..workflows import ECHO


def post_raw(service, raw: bytes, headers=None):
    return http('POST', f'{service.base_url}/jobs', raw=raw, headers=headers)


def job_count(service):
    status, jobs, _ = http('GET', f'{service.base_url}/jobs')
    assert status == 200
    return len(jobs)


def strict_json(text: str):
    def refuse(constant):
        raise ValueError(f'{constant} in an answer')

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    'raw, problem',
    [
        (b'{"workflow": "x", "input": {"a": "\\ud800"}}', 'surrogate'),
        (b'{"workflow": "x", "input": {"\\udc00": 1}}', 'surrogate'),
        (b'{"workflow": "x\\ud800"}', 'surrogate'),
        (b'{"workflow": "x", "name": "\\udfff"}', 'surrogate'),
        (b'{"workflow": "x", "input": {"a": NaN}}', 'NaN'),
        (b'{"workflow": "x", "input": {"a": -Infinity}}', 'Infinity'),
        (b'{"workflow": "x", "input": {"a": 1e999}}', 'too large'),
        (b'{"workflow": "x", "input": {"a": ' + b'[' * 100_000 + b'}}', 'nested'),
        (
            b'{"workflow": "x", "input": {"a": '
            + b'[' * (MAX_JSON_DEPTH + 1)
            + b']' * (MAX_JSON_DEPTH + 1)
            + b'}}',
            'nested',
        ),
        (b'{"workflow": "x", "ignored": ' + b'{"a":' * 5000 + b'1' + b'}' * 5000 + b'}', 'nested'),
    ],
)
def test_unservable_bodies_are_refused_with_400(service, raw, problem):
    before = job_count(service)
    status, body, headers = post_raw(service, raw)
    assert status == 400, body
    assert 'json' in headers['Content-Type']
    assert problem in body['description']
    assert job_count(service) == before


def test_every_stored_job_is_served_as_strict_json(service):
    """What is accepted comes back byte-for-byte equal, and as strict JSON."""
    awkward = {'text': 'é \u2028 \U0001f600 "quoted" \\ \x00', 'n': 1e308, 'deep': [[[[1]]]]}
    job = service.client.submit(ECHO, awkward)
    for url in (f'{service.base_url}/jobs', f'{service.base_url}/jobs/{job["id"]}'):
        status, text, _ = http('GET', url, headers={'Accept': 'application/json'})
        assert status == 200
        # http() already parsed it; parse the raw text strictly as well
        raw = json.dumps(text)
        assert strict_json(raw)
    assert service.client.job(job['id'])['input'] == awkward


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(make_service):
    service = make_service()
    limit = MAX_REQUEST_BYTES  # the default of limits.request-bytes
    big = b'{"workflow": "x", "input": {"a": [' + b'0,' * (limit // 2) + b'0]}}'
    status, body, _ = post_raw(service, big)
    assert status == 413, body
    assert 'request-bytes' in body['description']
    # just under the limit is accepted
    fits = b'{"workflow": "x", "input": {"a": [' + b'0,' * (limit // 2 - 40) + b'0]}}'
    assert len(fits) <= limit
    status, body, _ = post_raw(service, fits)
    assert status == 201, body


def test_a_chunked_body_is_cut_at_the_limit(service):
    """Without Content-Length the body is read up to the limit only."""

    def chunks():
        yield b'{"workflow": "x", "input": {"a": ['
        for _ in range(MAX_REQUEST_BYTES // 1024 + 1024):  # over the limit, in 1 KiB chunks
            yield b'0,' * 512
        yield b'0]}}'

    import http.client

    url = urllib.parse.urlsplit(service.base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    conn.request('POST', '/jobs', body=chunks(), headers={'Content-Type': 'application/json'})
    response = conn.getresponse()
    assert response.status == 413
    assert 'request-bytes' in json.loads(response.read())['description']
    conn.close()
