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
from .isolation_setup import (
    ALICE_TEXT,
    BOB_TEXT,
    HELLO,
    URL_KINDS,
    alices_area_as_urls,
    count_of,
    downloaded,
    make_pair,
    snapshot,
)


@pytest.fixture(scope='module')
def pair(module_auth_service):
    return make_pair(module_auth_service)


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
