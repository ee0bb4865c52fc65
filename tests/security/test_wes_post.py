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

import pytest

from cerise_actors.app import running_service
from cerise_actors.config import service_config_from_dict

from .. import workflows as wf
from ..e2e.test_wes_api import multipart
from ..helpers import TEST_API_DIR, Client, http
from ..service_setup import api_config_for_tests, service_config_dict, serving_under

RUNS = '/ga4gh/wes/v1/runs'


@pytest.fixture(scope='module')
def wes_service(tmp_path_factory):
    with serving_under(tmp_path_factory.mktemp('wes-post')) as service:
        yield service


def _post(service, workflow_url, files=(), params=None):
    fields = {
        'workflow_url': workflow_url,
        'workflow_type': 'CWL',
        'workflow_type_version': 'v1.0',
        'workflow_params': json.dumps(params or {}),
    }
    body, headers = multipart(fields.items(), files)
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


def test_the_services_own_files_url_leaving_the_area_is_400(wes_service):
    """The service's /files URLs name the area as its client URL does (stage-in reads
    them from the folder); leaving it with encoded dot segments is 400 at POST, not a
    failed job later."""
    port = urllib.parse.urlsplit(wes_service.base_url).port
    for host in ('127.0.0.1', 'localhost'):
        files = f'http://{host}:{port}/files'
        for url in (f'{files}/input/%2e%2e/%2e%2e/cerise.db', f'{files}/input/../../cerise.db'):
            status, answer = _post(wes_service, url)
            assert status == 400, answer
            assert 'is outside the file exchange area: its .. segments leave' in answer['msg']
            params = {'file': {'class': 'File', 'location': url}}
            status, answer = _post(wes_service, 'https://example.org/wc.cwl', params=params)
            assert status == 400, answer
            assert answer['msg'].startswith('workflow_params: location'), answer
            assert 'outside the file exchange area' in answer['msg'], answer
        status, answer = _post(wes_service, f'{files}/input/a%01b.cwl')
        assert status == 400 and 'control character' in answer['msg'], answer
    _nothing_stored(wes_service)


@pytest.mark.parametrize(
    'location', ['file://{ex}/../cerise.db', '{ex}/input/../../cerise.db', '{ex}/../cerise.db']
)
@pytest.mark.parametrize('key', ['location', 'path'])
def test_a_params_location_leaving_the_exchange_by_its_folder_is_400(wes_service, location, key):
    location = location.format(ex=wes_service.exchange)
    params = {'file': {'class': 'File', key: location}}
    status, answer = _post(wes_service, 'https://example.org/wc.cwl', params=params)
    assert status == 400, answer
    assert answer['msg'].startswith('workflow_params: location'), answer
    assert 'is outside the file exchange area: its .. segments leave' in answer['msg'], answer
    _nothing_stored(wes_service)


def test_a_params_path_no_stage_in_could_read_is_400(wes_service):
    ex = wes_service.exchange
    for location, words in (
        ('/etc/passwd', 'no attachment ends its path'),
        (f'{ex}/input/a\x1b[2Jb', 'control character'),
        (f'{ex}/input/%252e%252e/x', 'encode names once'),
        ('s3://bucket/x', 's3: URLs are not read'),
    ):
        params = {'file': {'class': 'File', 'location': location}}
        status, answer = _post(wes_service, 'https://example.org/wc.cwl', params=params)
        assert status == 400, answer
        assert words in answer['msg'], answer
    _nothing_stored(wes_service)


def test_the_exchange_folder_as_configured_through_a_link_is_read(tmp_path):
    """store-location-service may be a link: a file URL in its configured spelling is
    what stage-in reads, so WES accepts it at POST, as it accepts the resolved one."""
    root = tmp_path / 'svc'
    (root / 'real').mkdir(parents=True)
    (root / 'alias').symlink_to(root / 'real')
    settings = service_config_dict(root)
    settings['client-file-exchange'] = {
        'store-location-service': str(root / 'alias'),
        'store-location-client': (root / 'alias').as_uri(),
    }
    config = service_config_from_dict(settings, env={})
    with running_service(config, TEST_API_DIR, api_config=api_config_for_tests(root)) as service:
        service.exchange = root / 'real'
        client = Client(service.base_url, root / 'alias')
        client.put_input('wes-link', 'echo.cwl', wf.ECHO)
        for spelling in ('alias', 'real'):
            url = (root / spelling / 'input' / 'wes-link' / 'echo.cwl').as_uri()
            status, answer = _post(service, url, params={'text': spelling})
            assert status == 200, answer
            job = client.wait_final(answer['run_id'])
            assert job['state'] == 'Success', client.log(answer['run_id'])
            assert client.output_text(job, 'output').strip() == spelling
        status, answer = _post(service, (root / 'alias').as_uri() + '/../cerise.db')
        assert status == 400 and 'its .. segments leave' in answer['msg'], answer
