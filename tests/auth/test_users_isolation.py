"""Two users, alice and bob, on one service: each has their own files, jobs and runs.

Both use the same URLs (`/files/input/same/hello.txt`), which reach each
user's own folder `users/<name>/` of the exchange area. Bob tries every
spelling of a path into alice's folder, and jobs of his that name her files
by file:// path or by http URL with her credentials; alice's signed output
URLs open her one file without credentials, and nothing else.
"""

import json
import time
import urllib.parse

import pytest

from cerise_actors.auth.signing import UrlSigner
from cerise_actors.auth.users import add_user

from .. import workflows as wf
from ..helpers import wait_for
from .conftest import WES

ALICE_TEXT = 'alice-secret-text one\n'  # 1 line
BOB_TEXT = 'bob\nbob bob\nbob\n'  # 3 lines
WES_TEXT = b'alice-wes-secret\none two\nthree\n'  # 3 lines
WES_FINAL = {'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'}
HELLO = '/files/input/same/hello.txt'


def wc_job(client, location, name='same'):
    status, job, _ = client.submit(wf.WC, {'file': {'class': 'File', 'location': location}}, name)
    assert status == 201, job
    return client.wait_final(job['id'])


def downloaded(pair, url):
    """An anonymous GET of `url`: (status, text)."""
    status, text, _ = pair.anonymous.call('GET', url)
    return status, text


@pytest.fixture(scope='module')
def pair(module_auth_service):
    """alice and bob, each with hello.txt uploaded and a finished WC job on it."""
    service = module_auth_service(users=['alice', 'bob'])
    service.alice = service.client(service.tokens['alice'])
    service.bob = service.client(service.tokens['bob'])
    service.anonymous = service.client(None)
    service.alice_url = service.alice.put_input('same', 'hello.txt', ALICE_TEXT)
    service.alice.put_input('onlyalice', 'hello.txt', ALICE_TEXT)  # bob has no file there
    service.bob_url = service.bob.put_input('same', 'hello.txt', BOB_TEXT)
    assert service.alice_url == service.bob_url  # the same URL, each their own file
    service.alice_job = wc_job(service.alice, service.alice_url)
    service.bob_job = wc_job(service.bob, service.bob_url)
    service.alice_area = service.exchange / 'users' / 'alice'
    service.bob_area = service.exchange / 'users' / 'bob'
    service.alice_files = snapshot(service.alice_area)
    return service


def snapshot(folder):
    """{relative path: bytes} of every file below `folder`."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob('*'))
        if path.is_file()
    }


def count_of(pair, job):
    """The line count in a WC job's output, downloaded by its signed URL without credentials."""
    assert job['state'] == 'Success', job
    location = job['output']['output']['location']
    assert '?cerise-sig=' in location, location
    status, text = downloaded(pair, location)
    assert status == 200, text
    return int(text.split()[0])


def test_each_reads_back_only_their_own_upload(pair):
    for client, text, other in (
        (pair.alice, ALICE_TEXT, BOB_TEXT),
        (pair.bob, BOB_TEXT, ALICE_TEXT),
    ):
        assert client.call('GET', HELLO)[:2] == (200, text)
        status, listing, _ = client.call('PROPFIND', '/files/input/same', headers={'Depth': '1'})
        assert status == 207 and 'hello.txt' in listing
        listings = {}
        for folder in ('/files/', '/files/input/', '/files/input/same/'):
            status, listings[folder], _ = client.call('PROPFIND', folder, headers={'Depth': '1'})
            assert status == 207 and other not in listings[folder]
            assert '/users' not in listings[folder]
        assert ('onlyalice' in listings['/files/input/']) == (client is pair.alice)


def test_on_disk_each_users_files_are_in_their_own_folder(pair):
    assert (pair.alice_area / 'input' / 'same' / 'hello.txt').read_text() == ALICE_TEXT
    assert (pair.bob_area / 'input' / 'same' / 'hello.txt').read_text() == BOB_TEXT
    assert not (pair.exchange / 'input' / 'same').exists()
    alice_id, bob_id = pair.alice_job['id'], pair.bob_job['id']
    assert (pair.alice_area / 'output' / alice_id / 'output.txt').is_file()
    assert (pair.bob_area / 'output' / bob_id / 'output.txt').is_file()
    assert not (pair.alice_area / 'output' / bob_id).exists()
    assert not (pair.bob_area / 'output' / alice_id).exists()


def test_each_job_reads_its_owners_file(pair):
    assert count_of(pair, pair.alice_job) == 1
    assert count_of(pair, pair.bob_job) == 3


def spellings(pair):
    """Paths by which bob might name alice's output and input."""
    alice_id = pair.alice_job['id']
    found = []
    for name in (f'output/{alice_id}/output.txt', 'input/same/hello.txt'):
        found += [
            f'/files/../users/alice/{name}',
            f'/files/%2e%2e/users/alice/{name}',
            f'/files/%2E%2E/users/alice/{name}',
            f'/files/input/../../users/alice/{name}',
            f'/files/input/%2e%2e/%2e%2e/users/alice/{name}',
            f'/files/..%2fusers%2falice%2f{urllib.parse.quote(name, safe="")}',
            f'/files/input/..%2f..%2fusers/alice/{name}',
            f'/files/users/alice/{name}',
            f'/files/./users/../../users/alice/{name}',
            f'/files/input/same/..%5c..%5c..%5cusers%5calice%5c{name}',
        ]
    found.append(f'/files/output/{alice_id}/output.txt')
    found.append(f'/files/output/{alice_id}/')
    found.append(f'/files/output/{alice_id}')
    return found


@pytest.mark.parametrize('method', ['GET', 'HEAD', 'PROPFIND', 'DELETE', 'MOVE', 'COPY'])
def test_bob_cannot_reach_alices_files_by_any_spelling(pair, method):
    for path in spellings(pair):
        headers = {'Depth': '1'} if method == 'PROPFIND' else {}
        if method in ('MOVE', 'COPY'):
            headers['Destination'] = '/files/input/stolen.txt'
        status, body, _ = pair.bob.call(method, path, headers=headers)
        text = body if isinstance(body, str) else json.dumps(body)
        assert status >= 400, (method, path, status, body)
        assert 'alice-secret' not in text and pair.alice_job['id'] not in text.replace(path, '')
    assert snapshot(pair.alice_area) == pair.alice_files
    assert not (pair.bob_area / 'input' / 'stolen.txt').exists()
    for content in snapshot(pair.bob_area).values():
        assert b'alice-secret' not in content


@pytest.mark.parametrize('method', ['MOVE', 'COPY'])
def test_bob_cannot_move_or_copy_into_alices_folder(pair, method):
    bob_file = pair.bob.put_input('mine', 'planted.txt', 'planted by bob\n')
    for destination in spellings(pair):
        if not destination.endswith('.txt'):
            continue
        headers = {'Destination': destination, 'Overwrite': 'T'}
        status, body, _ = pair.bob.call(method, bob_file, headers=headers)
        if 200 <= status < 300:  # only where bob's own folder has that name
            assert destination.startswith('/files/users/alice/') or destination.startswith(
                '/files/output/'
            ), (method, destination, status, body)
            pair.bob.put_input('mine', 'planted.txt', 'planted by bob\n')
    assert snapshot(pair.alice_area) == pair.alice_files


def alices_area_as_urls(pair, folder='same'):
    """URLs of alice's `input/<folder>/hello.txt` a job of bob's might name."""
    path = pair.alice_area / 'input' / folder / 'hello.txt'
    bob_side = pair.bob_area / 'input' / '..' / '..' / 'alice' / 'input' / folder / 'hello.txt'
    hello = f'/files/input/{folder}/hello.txt'
    base = urllib.parse.urlsplit(pair.base_url)
    token = pair.tokens['alice']
    return {
        'file-url': path.as_uri(),
        'file-url-through-bobs-folder': 'file://' + urllib.parse.quote(str(bob_side)),
        'file-url-from-the-top': (pair.exchange / 'users' / 'alice').as_uri()
        + f'/input/{folder}/hello.txt',
        'http-with-alices-token': f'http://cerise:{token}@{base.netloc}{hello}',
        'http-with-alices-name': f'http://alice:{token}@{base.netloc}{hello}',
        'http-dot-dot': f'{pair.base_url}/files/../users/alice/input/{folder}/hello.txt',
        'http-encoded-dot-dot': f'{pair.base_url}/files/%2e%2e/users/alice/input/{folder}/hello.txt',
        'http-users-folder': f'{pair.base_url}/files/users/alice/input/{folder}/hello.txt',
    }


URL_KINDS = [
    'file-url',
    'file-url-through-bobs-folder',
    'file-url-from-the-top',
    'http-with-alices-token',
    'http-with-alices-name',
    'http-dot-dot',
    'http-encoded-dot-dot',
    'http-users-folder',
]


@pytest.mark.parametrize('folder', ['onlyalice', 'same'])
@pytest.mark.parametrize('kind', URL_KINDS)
def test_a_job_of_bobs_never_reads_alices_file(pair, kind, folder):
    """Where only alice has the file, bob's job fails or is refused. Where bob
    has one of the same name, a URL of the service's own /files names his
    (whoever's credentials it carries): it may run, on his file."""
    url = alices_area_as_urls(pair, folder)[kind]
    status, job, _ = pair.bob.submit(wf.WC, {'file': {'class': 'File', 'location': url}}, 'steal')
    assert pair.tokens['alice'] not in json.dumps(job)
    if status == 201:
        done = pair.bob.wait_final(job['id'])
        log = pair.bob.call('GET', f'/jobs/{job["id"]}/log')[1]
        assert 'alice-secret' not in log and 'alice-secret' not in json.dumps(done)
        assert pair.tokens['alice'] not in log + json.dumps(done)
        if done['state'] == 'Success' and folder == 'same' and kind.startswith('http'):
            assert count_of(pair, done) == 3, (kind, "read a file that is not bob's")
        else:
            assert done['state'] == 'PermanentFailure', (kind, done, log)
            assert not (pair.bob_area / 'output' / job['id'] / 'output.txt').exists()
    else:
        assert 400 <= status < 500 and status != 401, (kind, status, job)
        assert 'alice-secret' not in json.dumps(job)
    assert snapshot(pair.alice_area) == pair.alice_files


def test_a_job_of_bobs_cannot_run_alices_workflow(pair):
    workflow = pair.alice_area / 'input' / 'same' / 'alices-workflow.cwl'
    workflow.write_text(wf.HOSTNAME)  # alice's, on disk
    try:
        for url in (workflow.as_uri(), f'{pair.base_url}/files/../users/alice/input/same/x.cwl'):
            status, job, _ = pair.bob.call('POST', '/jobs', {'name': 'w', 'workflow': url})
            if status == 201:
                assert pair.bob.wait_final(job['id'])['state'] == 'PermanentFailure', url
            else:
                assert 400 <= status < 500 and status != 401, (url, status, job)
    finally:
        workflow.unlink()


def test_a_wes_run_of_bobs_cannot_run_alices_workflow(pair):
    workflow = pair.alice_area / 'input' / 'same' / 'alices-wes-workflow.cwl'
    workflow.write_text(wf.HOSTNAME)
    try:
        status, answer, _ = pair.bob.post_run(workflow_url=workflow.as_uri(), workflow_params={})
        if status == 200:
            assert wait_wes(pair.bob, answer['run_id']) != 'COMPLETE'
        else:
            assert 400 <= status < 500 and status != 401, (status, answer)
    finally:
        workflow.unlink()


def test_a_wes_run_of_bobs_never_reads_alices_file(pair):
    for kind in ('file-url', 'http-with-alices-token'):
        url = alices_area_as_urls(pair)[kind]
        status, answer, _ = pair.bob.post_run(
            [('wf/wc.cwl', wf.WC.encode())],
            workflow_url='wf/wc.cwl',
            workflow_params={'file': {'class': 'File', 'location': url}},
        )
        if status == 200:
            run_id = answer['run_id']
            assert wait_wes(pair.bob, run_id) == 'EXECUTOR_ERROR', kind
            status, log, _ = pair.bob.call('GET', f'{WES}/runs/{run_id}')
            assert 'alice-secret' not in json.dumps(log) and log['outputs'] == {}, kind
        else:
            assert 400 <= status < 500 and status != 401, (kind, status, answer)


def test_a_signed_url_opens_alices_one_file_and_nothing_else(pair):
    alice_id, bob_id = pair.alice_job['id'], pair.bob_job['id']
    location = pair.alice_job['output']['output']['location']
    plain, _, query = location.partition('?')
    signature = urllib.parse.parse_qs(query)['cerise-sig'][0]
    assert '.alice.' in signature and pair.tokens['alice'] not in location
    expected = (pair.alice_area / 'output' / alice_id / 'output.txt').read_text()
    assert downloaded(pair, location) == (200, expected)
    assert pair.anonymous.call('HEAD', location)[0] == 200
    assert downloaded(pair, plain)[0] == 401

    def signed(path, value=signature):
        return f'{pair.base_url}{path}?cerise-sig={urllib.parse.quote(value, safe="")}'

    others = [
        f'/files/output/{alice_id}/cerise-runner.log',  # alice's, another file of the job
        '/files/input/same/hello.txt',  # alice's input
        f'/files/output/{bob_id}/output.txt',  # bob's, of the same name
        f'/files/output/{alice_id}/',  # the folder
        f'/files/output/{alice_id}',
        '/jobs',
        f'/jobs/{alice_id}',
        f'{WES}/runs/{alice_id}',
    ]
    for path in others:
        status, body = downloaded(pair, signed(path))
        assert status == 401, (path, status, body)
    # bob's file at exactly alice's name (in his own folder): her signature still opens hers
    bobs_same = f'/files/output/{alice_id}/output.txt'
    status, _, _ = pair.bob.call('PUT', bobs_same, raw=b'bob-same-name\n')
    assert status in (201, 204)
    assert downloaded(pair, location) == (200, expected)
    assert pair.bob.call('GET', bobs_same)[:2] == (200, 'bob-same-name\n')
    # the signature's user changed to bob: refused, it opens neither file
    expires, _, mac = signature.split('.')
    assert downloaded(pair, signed(bobs_same, f'{expires}.bob.{mac}'))[0] == 401
    assert downloaded(pair, signed(bobs_same, f'{int(expires) + 1}.alice.{mac}'))[0] == 401
    # bob's own signed URL does not open alice's file at bob's path's name
    bob_location = pair.bob.job(bob_id)['output']['output']['location']
    bob_signature = urllib.parse.parse_qs(urllib.parse.urlsplit(bob_location).query)['cerise-sig']
    assert (
        downloaded(pair, signed(f'/files/output/{alice_id}/output.txt', bob_signature[0]))[0] == 401
    )
    # made with the service's own key, but expired: refused
    signer = UrlSigner((pair.root / 'url-key').read_text().strip(), 60)
    name = f'output/{alice_id}/output.txt'
    expired = signer.signature('alice', name, now=time.time() - 120)
    assert downloaded(pair, signed(f'/files/{name}', expired))[0] == 401
    assert downloaded(pair, signed(f'/files/{name}', signer.signature('alice', name))) == (
        200,
        expected,
    )
    # a signature lets one read, nothing else
    for method in ('PUT', 'DELETE', 'PROPFIND', 'MOVE', 'COPY', 'MKCOL'):
        headers = {'Destination': '/files/input/moved.txt'} if method in ('MOVE', 'COPY') else {}
        raw = b'overwritten' if method == 'PUT' else None
        status, _, _ = pair.anonymous.call(method, location, raw=raw, headers=headers)
        assert status == 401, (method, status)
    assert downloaded(pair, location) == (200, expected)


def wait_wes(client, run_id):
    def reached():
        status, answer, _ = client.call('GET', f'{WES}/runs/{run_id}/status')
        return status == 200 and answer['state'] in WES_FINAL and answer['state']

    return wait_for(reached, 120, message=f'run {run_id} to finish')


def test_alices_wes_run_is_invisible_to_bob_and_its_outputs_download_signed(pair):
    status, answer, _ = pair.alice.post_run(
        [('wf/wc.cwl', wf.WC.encode()), ('data/hello.txt', WES_TEXT)],
        workflow_url='wf/wc.cwl',
        workflow_params={'file': {'class': 'File', 'location': 'data/hello.txt'}},
        tags={'name': 'alices-run'},
    )
    assert status == 200, answer
    run_id = answer['run_id']
    assert wait_wes(pair.alice, run_id) == 'COMPLETE'
    folder = pair.alice_area / 'input' / 'wes' / run_id
    assert (folder / 'data' / 'hello.txt').read_bytes() == WES_TEXT
    assert not (pair.bob_area / 'input' / 'wes' / run_id).exists()

    status, runs, _ = pair.bob.call('GET', f'{WES}/runs')
    assert status == 200 and run_id not in json.dumps(runs)
    for method, path in (
        ('GET', f'{WES}/runs/{run_id}'),
        ('GET', f'{WES}/runs/{run_id}/status'),
        ('POST', f'{WES}/runs/{run_id}/cancel'),
        ('GET', f'{WES}/runs/{run_id}/tasks'),
        ('GET', f'{WES}/runs/{run_id}/tasks/s'),
        ('GET', f'/jobs/{run_id}'),
        ('GET', f'/jobs/{run_id}/log'),
        ('GET', f'/files/input/wes/{run_id}/data/hello.txt'),
        ('GET', f'/files/output/{run_id}/output.txt'),
    ):
        status, body, _ = pair.bob.call(method, path)
        assert status == 404, (method, path, status, body)
        assert 'alice-wes-secret' not in json.dumps(body)

    status, runs, _ = pair.alice.call('GET', f'{WES}/runs')
    assert run_id in [run['run_id'] for run in runs['runs']]
    status, log, _ = pair.alice.call('GET', f'{WES}/runs/{run_id}')
    assert status == 200 and log['state'] == 'COMPLETE'
    location = log['outputs']['output']['location']
    assert '?cerise-sig=' in location and pair.tokens['alice'] not in location
    status, text = downloaded(pair, location)
    assert status == 200 and text.split()[:2] == ['3', '4'], text
    assert downloaded(pair, location.partition('?')[0])[0] == 401


@pytest.mark.parametrize(
    'filename',
    [
        '../../../alice/input/same/hello.txt',
        '../../../../users/alice/input/same/hello.txt',
        '..%2f..%2f..%2falice%2finput%2fsame%2fhello.txt',
        'ATTACHMENT_ABSOLUTE',
    ],
)
def test_bobs_wes_attachments_cannot_land_in_alices_folder(pair, filename):
    if filename == 'ATTACHMENT_ABSOLUTE':
        filename = str(pair.alice_area / 'input' / 'same' / 'hello.txt')
    status, answer, _ = pair.bob.post_run(
        [('wf/wc.cwl', wf.WC.encode()), (filename, b'overwritten by bob\n')],
        workflow_url='wf/wc.cwl',
        workflow_params={'file': {'class': 'File', 'location': filename}},
    )
    if status == 200:
        wait_wes(pair.bob, answer['run_id'])
    else:
        assert 400 <= status < 500 and status != 401, (status, answer)
    now = snapshot(pair.alice_area)  # alice's own run has added files since
    assert {name: now.get(name) for name in pair.alice_files} == pair.alice_files
    assert not [name for name, content in now.items() if b'by bob' in content]


def test_a_replaced_or_removed_users_token_stops_working(auth_service):
    service = auth_service(users=['alice', 'bob'])
    users_file = service.root / 'users'
    old = service.client(service.tokens['alice'])
    assert old.call('GET', '/jobs')[0] == 200  # verified, and remembered
    new = service.client(add_user(users_file, 'alice', replace=True))
    wait_for(lambda: old.call('GET', '/jobs')[0] == 401, 10, message='the old token refused')
    assert new.call('GET', '/jobs')[0] == 200
    bob = service.client(service.tokens['bob'])
    assert bob.call('GET', '/jobs')[0] == 200
    kept = [line for line in users_file.read_text().splitlines() if not line.startswith('bob:')]
    aside = users_file.with_name('users.new')
    aside.write_text('\n'.join(kept) + '\n')
    aside.chmod(0o600)
    aside.replace(users_file)
    wait_for(lambda: bob.call('GET', '/jobs')[0] == 401, 10, message="bob's token refused")
    assert new.call('GET', '/jobs')[0] == 200
