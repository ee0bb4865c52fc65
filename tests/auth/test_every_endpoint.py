"""Every endpoint and method, from the OpenAPI documents, with wrong or another user's credentials.

The table of requests is computed from the documents themselves (the
Cerise API's, api_specs/openapi.yaml and the one the service serves, and
WES 1.1's, whose paths are relative to its server base /ga4gh/wes/v1), plus
the WebDAV methods on /files. So an endpoint added to a document is in the
table without anyone adding it here; `test_the_table_covers_every_served_path`
fails if a document the service serves names one the table lacks.

Path parameters are filled with a real job id (of alice, or of the one user
of a single-token service) and with a made-up one: without valid
credentials both answer the very same 401, and bob's token on alice's job
answers as for a job that does not exist.
"""

import base64
import json
import uuid

import pytest
import yaml

from cerise_actors.web.wes.resources import OPENAPI_FILE as WES_OPENAPI_FILE

from .. import workflows as wf
from ..helpers import REPO_DIR, wait_for
from .conftest import WES, settle

CERISE_DOCUMENTS = (
    REPO_DIR / 'api_specs' / 'openapi.yaml',
    REPO_DIR / 'cerise_actors' / 'web' / 'openapi.yaml',
)
HTTP_METHODS = ('get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace')
WEBDAV_METHODS = (
    'GET',
    'HEAD',
    'OPTIONS',
    'PROPFIND',
    'PUT',
    'PROPPATCH',
    'MKCOL',
    'COPY',
    'MOVE',
    'DELETE',
)
WEBDAV_PATHS = ('/files', '/files/input/x', '/files/output/{jobId}', '/files/output/{jobId}/f')
#: answered to anyone, the rule of issue 19
PUBLIC = {
    '/openapi.json',
    '/swagger.json',
    f'{WES}/service-info',
    f'{WES}/openapi.json',
    '/openapi-wes.json',
}
#: the file name of alice's job's output (what 'f' stands for in /files/output/<id>/f)
OUTPUT_NAME = 'output.txt'
SECRET = 'alice-secret-words'


def operations_of(document: dict, base: str = ''):
    """(METHOD, path) of every operation a parsed OpenAPI document lists."""
    return {
        (method.upper(), base + path)
        for path, item in (document.get('paths') or {}).items()
        for method in item
        if method in HTTP_METHODS
    }


def wes_base(document: dict) -> str:
    """The path of WES's server URL, e.g. /ga4gh/wes/v1, from its `servers`."""
    (server,) = document['servers']
    url = server['url']
    for name, variable in (server.get('variables') or {}).items():
        url = url.replace('{' + name + '}', variable['default'])
    path = '/' + url.split('://', 1)[-1].split('/', 1)[1]
    return path.rstrip('/')


def documented_operations():
    found = set()
    for path in CERISE_DOCUMENTS:
        found |= operations_of(yaml.safe_load(path.read_text()))
    wes = yaml.safe_load(WES_OPENAPI_FILE.read_text())
    return found | operations_of(wes, wes_base(wes))


DOCUMENTED = documented_operations()
WEBDAV = {(method, path) for method in WEBDAV_METHODS for path in WEBDAV_PATHS}
EXTRA = {('GET', path) for path in PUBLIC}  # the WES document's own addresses are in no document
TABLE = sorted(DOCUMENTED | WEBDAV | EXTRA, key=lambda op: (op[1], op[0]))
#: what answers without credentials: the public paths, /health and /ready
#: (ready or not: tested in tests/e2e/test_ready.py)
OPEN = PUBLIC | {'/health', '/ready'}
GUARDED = [op for op in TABLE if op[1] not in OPEN]
#: the operations naming a job: bob's token there answers as for no job at all
ON_A_JOB = [op for op in GUARDED if '{' in op[1]]


def fill(path: str, job_id: str) -> str:
    """`path` with its job parameter (whatever the document calls it) set to
    `job_id`, and a task id set to the one step of the workflows used here."""
    for name in ('{jobId}', '{job_id}', '{run_id}', '{id}'):
        path = path.replace(name, job_id)
    path = path.replace('{task_id}', 's')
    if path.startswith('/files/output/') and path.endswith('/f'):
        path = path[: -len('f')] + OUTPUT_NAME
    assert '{' not in path, f'a path parameter this table does not know: {path}'
    return path


def request_parts(method: str, path: str, job_id: str):
    """(raw body, headers) a client would send: a real request, so that a gate
    that let it through would show by doing something."""
    if (method, path) == ('POST', '/jobs'):
        body = json.dumps({'name': 'intruder', 'workflow': 'http://x/wf.cwl', 'input': {}})
        return body.encode(), {'Content-Type': 'application/json'}
    if (method, path) == ('POST', f'{WES}/runs'):
        return b'workflow_url=x', {'Content-Type': 'application/x-www-form-urlencoded'}
    if method == 'PUT':
        return b'intruder', {'Content-Type': 'text/plain'}
    if method == 'PROPFIND':
        return None, {'Depth': '1'}
    if method == 'PROPPATCH':
        body = (
            '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
            '<D:displayname>x</D:displayname></D:prop></D:set></D:propertyupdate>'
        )
        return body.encode(), {'Content-Type': 'application/xml'}
    if method in ('COPY', 'MOVE'):
        destination = f'/files/input/taken-by-{method.lower()}-{job_id}'
        return None, {'Destination': destination, 'Overwrite': 'T'}
    return None, {}


def call(client, method, path, job_id, credentials=None):
    url = fill(path, job_id)
    raw, headers = request_parts(method, path, job_id)
    if credentials is not None:
        headers = {**headers, 'Authorization': credentials}
    return client.call(method, url, raw=raw, headers=headers)


def basic(user, password):
    return 'Basic ' + base64.b64encode(f'{user}:{password}'.encode()).decode()


WRONG = {
    'none': None,
    'wrong-bearer': f'Bearer {uuid.uuid4().hex}',
    'wrong-user-token': f'Bearer alice.{uuid.uuid4().hex}',
    'wrong-basic': basic('cerise', uuid.uuid4().hex),
    'basic-no-password': basic('alice', ''),
    'other-scheme': 'Token abc',
}


def submit(client, workflow, inputs, name):
    status, job, _ = client.submit(workflow, inputs, name)
    assert status == 201, job
    return job['id']


def running(client, job_id):
    return wait_for(
        lambda: (client.job(job_id) or {}).get('state') == 'Running',
        60,
        message=f'job {job_id} to run',
    )


@pytest.fixture(scope='module')
def users(module_auth_service):
    """A service with alice and bob; alice has a finished job (with an output
    file) and a running one."""
    service = module_auth_service(users=['alice', 'bob'])
    alice = service.client(service.tokens['alice'])
    url = alice.put_input('secret', 'words.txt', f'{SECRET}\n')
    service.done = submit(alice, wf.WC, {'file': {'class': 'File', 'location': url}}, SECRET)
    service.running = submit(alice, wf.SLEEP, {'seconds': 300}, SECRET)
    assert alice.wait_final(service.done)['state'] == 'Success'
    running(alice, service.running)
    service.made_up = {job_id: str(uuid.uuid4()) for job_id in (service.done, service.running)}
    service.output = service.exchange / 'users' / 'alice' / 'output' / service.done / OUTPUT_NAME
    service.output_text = service.output.read_text()
    yield service
    alice.call('POST', f'/jobs/{service.running}/cancel')


@pytest.fixture(scope='module')
def single(module_auth_service):
    """A service with one token, and a finished job of its one user."""
    service = module_auth_service()
    client = service.client(service.token)
    url = client.put_input('secret', 'words.txt', f'{SECRET}\n')
    service.done = submit(client, wf.WC, {'file': {'class': 'File', 'location': url}}, SECRET)
    assert client.wait_final(service.done)['state'] == 'Success'
    service.output = service.exchange / 'output' / service.done / OUTPUT_NAME
    service.output_text = service.output.read_text()
    return service


@pytest.fixture(params=['users', 'single'])
def any_service(request):
    return request.getfixturevalue(request.param)


def without_ids(text, *ids):
    text = text if isinstance(text, str) else json.dumps(text, sort_keys=True)
    for job_id in ids:
        text = text.replace(job_id, '<id>')
    return text


def test_the_table_covers_every_served_path(users):
    """Computed from the documents the service serves, so a path added to
    either of them without being in the table fails here."""
    anonymous = users.client(None)
    status, cerise, _ = anonymous.call('GET', '/openapi.json')
    assert status == 200, cerise
    status, wes, _ = anonymous.call('GET', f'{WES}/openapi.json')
    assert status == 200, wes
    served = operations_of(cerise) | operations_of(wes, wes_base(wes))
    assert served, 'the documents list no operations'
    missing = served - set(TABLE)
    assert not missing, f'operations in the OpenAPI documents the table does not cover: {missing}'
    assert DOCUMENTED <= set(TABLE)
    assert wes_base(wes) == WES
    # every documented operation that names a job is checked with bob's token too
    assert {op for op in served if '{' in op[1]} <= set(ON_A_JOB)
    assert ('GET', f'{WES}/runs/{{run_id}}/tasks/{{task_id}}') in ON_A_JOB


def test_the_cerise_document_says_which_operations_are_open():
    """Its `security: []` operations are the open ones, the rest need a token."""
    for path in CERISE_DOCUMENTS:
        document = yaml.safe_load(path.read_text())
        assert document.get('security'), f'{path}: no default security'
        open_ops = {
            (method.upper(), name)
            for name, item in document['paths'].items()
            for method, operation in item.items()
            if method in HTTP_METHODS and operation.get('security') == []
        }
        assert {name for _, name in open_ops} <= OPEN, (path, open_ops)


@pytest.mark.parametrize('credentials', sorted(WRONG))
@pytest.mark.parametrize('method,path', GUARDED)
def test_without_valid_credentials_every_endpoint_answers_the_same_401(
    any_service, method, path, credentials
):
    client = any_service.client(None)
    made_up = str(uuid.uuid4())
    answers = []
    for job_id in (any_service.done, made_up):
        status, body, headers = call(client, method, path, job_id, WRONG[credentials])
        assert status == 401, (method, fill(path, job_id), status, body)
        challenge = headers.get('WWW-Authenticate') or ''
        assert 'Bearer' in challenge and 'Basic' in challenge, challenge
        if method != 'HEAD':
            assert 'json' in headers.get('Content-Type', ''), headers
            assert isinstance(body, dict), body
            assert any_service.done not in json.dumps(body) and made_up not in json.dumps(body)
        answers.append((status, body, headers.get('Content-Length'), challenge))
    assert answers[0] == answers[1], 'a 401 that tells whether the job exists'


@pytest.mark.parametrize('path', sorted(PUBLIC))
def test_the_public_paths_answer_without_credentials(any_service, path):
    status, body, _ = any_service.client(None).call('GET', path)
    assert status == 200, (path, body)
    assert isinstance(body, dict) and body


def test_anonymous_service_info_counts_no_one_s_jobs(any_service):
    status, info, _ = any_service.client(None).call('GET', f'{WES}/service-info')
    assert status == 200 and set(info['system_state_counts'].values()) == {0}, info


def test_health_answers_without_and_with_wrong_credentials(any_service):
    for credentials in (None, WRONG['wrong-bearer']):
        headers = {} if credentials is None else {'Authorization': credentials}
        status, body, _ = any_service.client(None).call('GET', '/health', headers=headers)
        assert (status, body) == (200, {'status': 'ok'})


def test_refused_requests_changed_nothing(any_service):
    """After every refused PUT, DELETE, MOVE, POST ... of the tests above."""
    owner = any_service.client(any_service.token or any_service.tokens['alice'])
    assert owner.job(any_service.done)['state'] == 'Success'
    assert any_service.output.read_text() == any_service.output_text
    status, text, _ = owner.call('GET', f'/files/output/{any_service.done}/{OUTPUT_NAME}')
    assert (status, text) == (200, any_service.output_text)
    area = any_service.output.parents[2]
    assert not (area / 'input' / 'x').exists()
    assert not list(area.glob('input/taken-by-*'))
    status, jobs, _ = owner.call('GET', '/jobs')
    assert status == 200 and 'intruder' not in json.dumps(jobs)


# --- bob's token on alice's jobs ---


@pytest.mark.parametrize('method,path', ON_A_JOB)
def test_bob_on_alices_job_gets_what_a_made_up_id_gets(users, method, path):
    bob = users.client(users.tokens['bob'])
    for alices in (users.done, users.running):
        made_up = users.made_up[alices]  # the same all along: each gets what the other got
        status, body, _ = call(bob, method, path, alices)
        other_status, other_body, _ = call(bob, method, path, made_up)
        where = f'{method} {fill(path, alices)}'
        assert status == other_status, (where, status, body, other_status, other_body)
        assert without_ids(body, alices) == without_ids(other_body, made_up), where
        text = without_ids(body)
        assert SECRET not in text and users.output_text not in text, where
        if not path.startswith('/files') or (
            path.endswith('/f') and method in ('GET', 'HEAD', 'PROPFIND', 'DELETE')
        ):
            assert status == 404, (where, status, body)


def test_bobs_lists_leave_alices_jobs_out(users):
    bob = users.client(users.tokens['bob'])
    mine = submit(bob, wf.HOSTNAME, {}, 'bobs')
    for path in ('/jobs', f'/jobs?name={SECRET}', '/jobs?state=Running', '/jobs?limit=100'):
        status, jobs, _ = bob.call('GET', path)
        assert status == 200, jobs
        assert users.done not in json.dumps(jobs) and users.running not in json.dumps(jobs)
    status, jobs, _ = bob.call('GET', '/jobs')
    assert [job['id'] for job in jobs] == [mine]
    status, runs, _ = bob.call('GET', f'{WES}/runs')
    assert status == 200 and [run['run_id'] for run in runs['runs']] == [mine]
    status, runs, _ = bob.call('GET', f'{WES}/runs?page_size=1')
    assert status == 200 and users.done not in json.dumps(runs)
    # the user name of Basic is not who one is: the token decides
    as_alice = users.client(None)
    headers = {'Authorization': basic('alice', users.tokens['bob'])}
    status, jobs, _ = as_alice.call('GET', '/jobs', headers=headers)
    assert status == 200 and [job['id'] for job in jobs] == [mine]
    assert as_alice.call('GET', f'/jobs/{users.done}', headers=headers)[0] == 404
    status, info, _ = bob.call('GET', f'{WES}/service-info')
    assert status == 200 and sum(info['system_state_counts'].values()) == 1, info
    assert bob.wait_final(mine)['state'] == 'Success'
    alice = users.client(users.tokens['alice'])
    status, jobs, _ = alice.call('GET', '/jobs')
    assert {job['id'] for job in jobs} == {users.done, users.running}


def test_bob_cannot_cancel_or_delete_alices_jobs(users):
    bob = users.client(users.tokens['bob'])
    for job_id in (users.done, users.running):
        assert bob.call('POST', f'/jobs/{job_id}/cancel')[0] == 404
        assert bob.call('POST', f'{WES}/runs/{job_id}/cancel')[0] == 404
        assert bob.call('DELETE', f'/jobs/{job_id}')[0] == 404
    settle(0.5)  # a cancel or delete let through would show by now
    alice = users.client(users.tokens['alice'])
    assert alice.job(users.running)['state'] == 'Running'
    assert alice.job(users.done)['state'] == 'Success'
    assert alice.call('GET', f'/jobs/{users.done}/log')[0] == 200
    status, text, _ = alice.call('GET', f'/files/output/{users.done}/{OUTPUT_NAME}')
    assert (status, text) == (200, users.output_text)
    assert users.output.read_text() == users.output_text
