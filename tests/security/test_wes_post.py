"""WES POST /runs refuses, at once, a workflow or attachment no stage-in could read.

Issue 18, item 8: `workflow_url=file:///<exchange>/../cerise.db` was accepted
at POST (its text starts with the exchange folder) and refused only when the
job was staged. Paths are now resolved lexically (`boundary/names.py`)
before they are compared, and every spelling an attacker might try is a 400
with a WES ErrorResponse naming the problem, and leaves nothing behind: no
job, no run folder. Sent over real HTTP to a real service on loopback.
"""

import json
import urllib.parse
import uuid

import pytest

from cerise_actors.app import running_service
from cerise_actors.config import service_config_from_dict

from .. import workflows as wf
from ..helpers import TEST_API_DIR, Client, http
from ..service_setup import api_config_for_tests, service_config_dict

RUNS = '/ga4gh/wes/v1/runs'


@pytest.fixture(scope='module')
def wes_service(tmp_path_factory):
    root = tmp_path_factory.mktemp('wes-post')
    config = service_config_from_dict(service_config_dict(root), env={})
    with running_service(config, TEST_API_DIR, api_config=api_config_for_tests(root)) as service:
        service.root = root
        service.exchange = config.exchange_service_dir
        service.client = Client(service.base_url, config.exchange_service_dir)
        yield service


def _multipart(fields, files):
    boundary = uuid.uuid4().hex
    chunks = []
    for name, value in fields.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b'\r\n'
        )
    for filename, content in files:
        quoted = filename.replace('"', '%22')
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="workflow_attachment"; '
            f'filename="{quoted}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + content
            + b'\r\n'
        )
    body = b''.join(chunks) + f'--{boundary}--\r\n'.encode()
    return body, {'Content-Type': f'multipart/form-data; boundary={boundary}'}


def _post(service, workflow_url, files=(), params=None):
    fields = {
        'workflow_url': workflow_url,
        'workflow_type': 'CWL',
        'workflow_type_version': 'v1.0',
        'workflow_params': json.dumps(params or {}),
    }
    body, headers = _multipart(fields, files)
    status, answer, _ = http('POST', service.base_url + RUNS, raw=body, headers=headers)
    return status, answer


def _nothing_stored(service):
    assert http('GET', f'{service.base_url}/jobs')[1] == []
    wes_folder = service.exchange / 'input' / 'wes'
    assert not wes_folder.exists() or not list(wes_folder.iterdir())


#: workflow_url spellings ({ex} is the exchange folder) and words the answer must hold
BAD_URLS = [
    ('file://{ex}/../cerise.db', 'outside the file exchange area'),
    ('file://{ex}/%2e%2e/cerise.db', 'outside the file exchange area'),
    ('file://{ex}/%2E%2E/cerise.db', 'outside the file exchange area'),
    ('file://{ex}/input/../../cerise.db', 'outside the file exchange area'),
    ('file://{ex}/input/%2e%2e/%2e%2e/cerise.db', 'outside the file exchange area'),
    ('file://{ex}/input%2f..%2f..%2fcerise.db', 'outside the file exchange area'),
    ('file://localhost{ex}/../cerise.db', 'outside the file exchange area'),
    ('{ex}/../cerise.db', 'outside the file exchange area'),
    ('{ex}/input/../../etc/passwd', 'outside the file exchange area'),
    ('file:///etc/passwd', 'outside the file exchange area'),
    ('/etc/passwd', 'outside the file exchange area'),
    ('file:{ex}/../cerise.db', 'outside the file exchange area'),
    ('file://evil.example{ex}/input/a.cwl', 'naming another host'),
    ('file://127.0.0.1{ex}/input/a.cwl', 'naming another host'),
    ('file://localhost{ex}/input/a.cwl?x=1', 'with a query'),
    ('file://{ex}/input/a%00.cwl', 'NUL'),
    ('file://{ex}/input/%252e%252e/%252e%252e/cerise.db', 'encode names once'),
    ('file://{ex}/input/a\\..\\..\\cerise.db', 'backslash'),
    ('ftp://127.0.0.1/wf.cwl', 'ftp: URLs are not read'),
    ('gopher://127.0.0.1/wf.cwl', 'gopher: URLs are not read'),
    ('data:,cwlVersion: v1.0', 'data: URLs are not read'),
    ('s3://bucket/wf.cwl', 's3: URLs are not read'),
    ('jar:file:///x.jar!/wf.cwl', 'jar: URLs are not read'),
    ('http:///wf.cwl', 'names no host'),
    ('https:///{ex}/input/a.cwl', 'names no host'),
    ('../cerise.db', 'leaves its folder'),
    ('%2e%2e/cerise.db', 'leaves its folder'),
    ('a/../../cerise.db', 'leaves its folder'),
]


@pytest.mark.parametrize('url, words', BAD_URLS)
def test_a_workflow_url_that_could_never_be_staged_is_400(wes_service, url, words):
    url = url.format(ex=wes_service.exchange)
    status, answer = _post(wes_service, url)
    assert status == 400, answer
    assert answer['status_code'] == 400 and words in answer['msg'], answer
    _nothing_stored(wes_service)


def test_the_exchange_url_spelled_with_dot_segments_is_400(wes_service):
    """The service's own client URL of the exchange area, leaving it."""
    exchange_url = wes_service.exchange.as_uri()
    for url in (f'{exchange_url}/../cerise.db', f'{exchange_url}/input/%2E%2e/../cerise.db'):
        status, answer = _post(wes_service, url)
        assert status == 400, answer
        assert 'is outside the file exchange area: its .. segments leave' in answer['msg']
    _nothing_stored(wes_service)


@pytest.mark.parametrize(
    'name, words',
    [
        ('../wf.cwl', 'leaves its folder'),
        ('a/../../wf.cwl', 'leaves its folder'),
        ('a/../wf.cwl', 'leaves its folder'),  # even one that stays inside: no name needs ..
        ('..', 'leaves its folder'),
        ('%2e%2e/wf.cwl', 'encode names once'),
        ('a/%2E%2E/%2e%2e/wf.cwl', 'encode names once'),
        ('wf.cwl\x00.txt', 'NUL'),
        ('..\\wf.cwl', 'backslash'),
        ('/tmp/wf.cwl', 'absolute'),
        ('C:wf.cwl', 'absolute'),
    ],
)
def test_an_attachment_name_that_leaves_the_run_is_400(wes_service, name, words):
    status, answer = _post(wes_service, 'wf.cwl', [(name, wf.ECHO.encode())])
    assert status == 400, answer
    assert words in answer['msg'], answer
    _nothing_stored(wes_service)
    assert not (wes_service.exchange / 'input' / 'wf.cwl').exists()
    assert not (wes_service.exchange / 'wf.cwl').exists()


def test_a_params_location_leaving_the_exchange_by_its_url_is_400(wes_service):
    exchange_url = wes_service.exchange.as_uri()
    params = {'file': {'class': 'File', 'location': f'{exchange_url}/input/../../cerise.db'}}
    status, answer = _post(wes_service, 'https://example.org/wc.cwl', params=params)
    assert status == 400, answer
    assert answer['msg'].startswith('workflow_params: location'), answer
    assert 'outside the file exchange area' in answer['msg'], answer
    _nothing_stored(wes_service)


def test_inside_spellings_are_still_accepted_and_run(make_service):
    service = make_service()
    service.exchange = service.client.exchange
    url = service.client.put_input('wes-ok', 'echo.cwl', wf.ECHO)
    folder = urllib.parse.quote(str(service.exchange))
    for workflow_url in (url, f'file://{folder}/input/x/../wes-ok/./echo.cwl'):
        status, answer = _post(service, workflow_url, params={'text': 'in'})
        assert status == 200, answer
        run = answer['run_id']
        job = service.client.wait_final(run)
        assert job['state'] == 'Success', service.client.log(run)
        assert service.client.output_text(job, 'output').strip() == 'in'
