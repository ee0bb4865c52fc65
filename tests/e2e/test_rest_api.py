"""End to end through HTTP: status codes, error bodies and the OpenAPI document."""

import json

import pytest
import yaml

from .. import workflows as wf
from ..helpers import REPO_DIR, http

UNKNOWN = '00000000-0000-0000-0000-000000000000'


@pytest.mark.parametrize(
    'method,path',
    [
        ('GET', '/jobs/{id}'),
        ('DELETE', '/jobs/{id}'),
        ('POST', '/jobs/{id}/cancel'),
        ('GET', '/jobs/{id}/log'),
    ],
)
@pytest.mark.parametrize('job_id', [UNKNOWN, 'not-a-uuid', '..%2F..%2Fetc'])
def test_unknown_job_ids_give_404(client, method, path, job_id):
    status, body, headers = http(method, client.base + path.format(id=job_id))
    assert status == 404
    assert 'application/json' in headers['Content-Type']
    assert body['title']
    if '%' not in job_id:
        assert 'no job' in body['description']


@pytest.mark.parametrize(
    'raw,problem',
    [
        (b'not json', 'not valid JSON'),
        (b'', 'JSON object'),
        (b'[1, 2]', 'JSON object'),
        (b'"workflow"', 'JSON object'),
        (b'{}', '"workflow" is required'),
        (b'{"workflow": 42}', '"workflow" is required'),
        (b'{"workflow": ""}', '"workflow" is required'),
        (b'{"workflow": "file:///x.cwl", "name": 7}', '"name" must be a string'),
        (b'{"workflow": "file:///x.cwl", "input": [1]}', '"input" must be a JSON object'),
        (b'{"workflow": "file:///x.cwl", "input": "a=b"}', '"input" must be a JSON object'),
    ],
)
def test_bad_bodies_give_400_naming_the_problem(client, raw, problem):
    status, body, headers = http('POST', f'{client.base}/jobs', raw=raw)
    assert status == 400
    assert 'application/json' in headers['Content-Type']
    assert problem in body['description']
    assert http('GET', f'{client.base}/jobs')[1] == [], 'nothing was created'


def test_job_json_has_the_cerise_fields(client):
    job = client.submit(wf.HOSTNAME)
    assert set(job) == {'id', 'name', 'workflow', 'input', 'state', 'output', 'log'}
    status, same, _ = http('GET', f'{client.base}/jobs/{job["id"]}')
    assert status == 200 and same['id'] == job['id']
    client.wait_final(job['id'])


def test_log_is_plain_text(client):
    job = client.wait_final(client.submit(wf.HOSTNAME)['id'])
    status, text, headers = http('GET', job['log'])
    assert status == 200 and headers['Content-Type'].startswith('text/plain')
    assert text.splitlines()[0].endswith('Job submitted; waiting to be staged in.')


@pytest.mark.parametrize('path', ['/openapi.json', '/swagger.json'])
def test_openapi_document_is_served(client, path):
    status, doc, _ = http('GET', client.base + path)
    assert status == 200
    source = yaml.safe_load((REPO_DIR / 'api_specs' / 'openapi.yaml').read_text())
    assert doc == json.loads(json.dumps(source))
    assert '/jobs/{jobId}/cancel' in doc['paths']


def test_unknown_route_gives_404(client):
    assert http('GET', f'{client.base}/nothing-here')[0] == 404
