"""The exchange folders under /files stay in place however a path is spelled.

Issue 18, item 4: `DELETE /files/output/.` and `DELETE /files/input/%2e`
answered 204 and removed every job's outputs or inputs, `MOVE /files/input/.`
answered 201, and `DELETE /files/.` a 500, because the protection check
compared the text of the path before its dot segments were resolved. Item 8:
one PROPFIND with `Depth: infinity` listed a whole tree. Here each spelling
is sent as an attacker would, raw over HTTP to a real service on loopback,
and the test looks at the disk afterwards: the folders, and the files of
other jobs, are all still there.
"""

import http.client
import json
import os
import urllib.parse

import pytest

from .. import workflows as wf
from ..service_setup import serving_under

#: spellings of /files, /files/input and /files/output (the name is filled in)
SPELLINGS = [
    '/files/{name}',
    '/files/{name}/',
    '/files/{name}/.',
    '/files/{name}/./',
    '/files/{name}/%2e',
    '/files/{name}/%2E',
    '/files/{name}/%2e/',
    '/files/{name}/./.',
    '/files/./{name}',
    '/files/%2e/{name}',
    '/files/{name}//',
    '/files//{name}',
    '/files/{name}/x/..',
    '/files/{name}/x/../',
    '/files/{name}/x/%2e%2e',
    '/files/{name}/x/%2E%2E/',
    '/files/{name}/x/y/../..',
    '/files/{name}/%2e/x/.%2e',
    '/files/{name}/%2fx%2f..',
    '/files/{other}/../{name}',
    '/files/{other}/%2e%2e/{name}/.',
]
#: the same for /files itself
ROOT_SPELLINGS = [
    '/files',
    '/files/',
    '/files/.',
    '/files/%2e',
    '/files/%2E/',
    '/files//',
    '/files/./.',
    '/files/input/..',
    '/files/output/%2e%2e',
    '/files/x/y/../..',
    '/files/input/%2e%2e/',
]
#: names encoded twice: a component that decodes again would see a dot segment
TWICE = ['/files/input/%252e', '/files/output/%252E', '/files/x/%252e%252e', '/files/%252e']


def _targets():
    targets = [(spelling, ()) for spelling in ROOT_SPELLINGS]
    for name, other in (('input', 'output'), ('output', 'input')):
        for spelling in SPELLINGS:
            targets.append((spelling.format(name=name, other=other), (name,)))
    return targets


TARGETS = _targets()


@pytest.fixture(scope='module')
def files_service(tmp_path_factory):
    """One real service for this module: each test lays out the folders it checks."""
    with serving_under(tmp_path_factory.mktemp('webdav-paths')) as service:
        yield service


@pytest.fixture
def served(files_service):
    """The service, with another user's input and another job's output on disk."""
    exchange = files_service.exchange
    for name in ('input/other-user/data.txt', 'output/other-job/result.txt'):
        path = exchange / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'{name}\n')
    for name in ('moved', 'copied', 'x'):
        assert not (exchange / name).exists()
    yield files_service
    _assert_untouched(exchange)


def _assert_untouched(exchange):
    assert (exchange / 'input').is_dir() and (exchange / 'output').is_dir()
    for name in ('input/other-user/data.txt', 'output/other-job/result.txt'):
        assert (exchange / name).read_text() == f'{name}\n', name
    assert not (exchange / 'moved').exists() and not (exchange / 'copied').exists()


def _raw(service, method, target, headers=None, body=None):
    """(status, headers, body) of a request whose target is sent exactly as given."""
    port = urllib.parse.urlsplit(service.base_url).port
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        headers = dict(headers or {})
        if body is not None:
            headers['Content-Length'] = str(len(body))
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def _json_error(headers, body) -> dict:
    assert headers['Content-Type'] == 'application/json', body
    error = json.loads(body)
    assert set(error) == {'title', 'description'}, error
    return error


def _shown(names) -> str:
    return '/files' + ''.join('/' + name for name in names)


@pytest.mark.parametrize('method', ['DELETE', 'MOVE', 'COPY'])
@pytest.mark.parametrize('target, names', TARGETS)
def test_the_exchange_folders_cannot_be_deleted_moved_or_copied(served, method, target, names):
    destination = {'MOVE': 'moved', 'COPY': 'copied'}.get(method)
    headers = {'Destination': f'{served.base_url}/files/{destination}'} if destination else {}
    status, answer_headers, body = _raw(served, method, target, headers)
    assert status == 403, (status, body)
    error = _json_error(answer_headers, body)
    assert error['title'] == 'Forbidden'
    assert f'{method} of {_shown(names)} is not allowed' in error['description'], error


@pytest.mark.parametrize('method', ['MOVE', 'COPY'])
@pytest.mark.parametrize('target, names', TARGETS)
def test_no_exchange_folder_can_be_a_destination(served, method, target, names):
    (served.exchange / 'input' / 'mine').mkdir(exist_ok=True)
    (served.exchange / 'input' / 'mine' / 'a.txt').write_text('mine\n')
    for destination in (target, f'{served.base_url}{target}'):
        status, headers, body = _raw(
            served,
            method,
            '/files/input/mine/a.txt',
            {'Destination': destination, 'Overwrite': 'T'},
        )
        assert status == 403, (destination, status, body)
        error = _json_error(headers, body)
        assert f'the Destination {_shown(names)} is an exchange folder' in error['description']
    assert (served.exchange / 'input' / 'mine' / 'a.txt').read_text() == 'mine\n'


@pytest.mark.parametrize(
    'destination',
    [
        '/files/output%3Bx',  # WsgiDAV decodes first, then splits off ;params
        '/files/output;x',
        '/files/x#/../output',  # WsgiDAV keeps #: the path is x#/../output
        '/files/x%23/../output',
        '/files/input?y=/../x',  # and ?query goes
        '/files/%2e%2e/files/input',
        '/files/input/%2e',
        '/files/output/%2E%2e/output',
    ],
)
@pytest.mark.parametrize('method', ['MOVE', 'COPY'])
def test_a_destination_is_read_as_webdav_reads_it(served, method, destination):
    """What the old check compared was not what WsgiDAV acted on."""
    (served.exchange / 'a.txt').write_text('mine\n')
    try:
        for header in (destination, served.base_url + destination):
            status, headers, body = _raw(
                served, method, '/files/a.txt', {'Destination': header, 'Overwrite': 'T'}
            )
            assert status == 403, (header, status, body)
            _json_error(headers, body)
        assert (served.exchange / 'a.txt').read_text() == 'mine\n'
    finally:
        (served.exchange / 'a.txt').unlink()


@pytest.mark.parametrize('method', ['DELETE', 'MOVE', 'COPY', 'GET', 'PUT', 'PROPFIND'])
@pytest.mark.parametrize('target', TWICE)
def test_names_encoded_twice_are_refused(served, method, target):
    headers = (
        {'Destination': f'{served.base_url}/files/moved'} if method in ('MOVE', 'COPY') else {}
    )
    headers['Depth'] = '1'
    body = b'x' if method == 'PUT' else None
    status, answer_headers, text = _raw(served, method, target, headers, body)
    assert status == 400, (status, text)
    assert 'encode names once' in _json_error(answer_headers, text)['description']
    assert not any('%' in name for name in os.listdir(served.exchange / 'input'))


def test_a_double_encoded_destination_is_refused(served):
    (served.exchange / 'a.txt').write_text('mine\n')
    try:
        status, headers, body = _raw(
            served, 'MOVE', '/files/a.txt', {'Destination': '/files/input/%252e', 'Overwrite': 'T'}
        )
        assert status == 400, (status, body)
        _json_error(headers, body)
        assert (served.exchange / 'a.txt').read_text() == 'mine\n'
    finally:
        (served.exchange / 'a.txt').unlink()


@pytest.mark.parametrize(
    'target', ['/files/..', '/files/input/../..', '/files/%2e%2e', '/files/output/%2E%2E/%2e%2e/x']
)
@pytest.mark.parametrize('method', ['DELETE', 'MOVE', 'COPY', 'GET', 'PUT'])
def test_paths_above_the_exchange_are_refused(served, method, target):
    headers = (
        {'Destination': f'{served.base_url}/files/moved'} if method in ('MOVE', 'COPY') else {}
    )
    body = b'x' if method == 'PUT' else None
    status, answer_headers, text = _raw(served, method, target, headers, body)
    assert status == 403, (status, text)
    assert 'leaves the file exchange area' in _json_error(answer_headers, text)['description']


def test_dot_segments_inside_the_exchange_are_resolved_for_every_other_use(served):
    """Reads and writes go where the resolved path says, and answers name it."""
    status, headers, body = _raw(served, 'PUT', '/files/input/me/./sub/../a.txt', body=b'hello\n')
    assert status == 201, body
    url = json.loads(body)['url']
    assert url.endswith('/files/input/me/a.txt'), url
    assert (served.exchange / 'input' / 'me' / 'a.txt').read_bytes() == b'hello\n'
    assert not (served.exchange / 'input' / 'me' / 'sub').exists()
    assert _raw(served, 'GET', '/files/input/x/../me/%2e/a.txt')[2] == b'hello\n'
    status, headers, body = _raw(
        served, 'GET', '/files/output/../input/me/.', {'Accept': 'application/json'}
    )
    assert status == 200, body
    listing = json.loads(body)
    assert listing['path'] == '/files/input/me/'
    assert [entry['name'] for entry in listing['entries']] == ['a.txt']
    status, headers, body = _raw(served, 'GET', '/files/input/me/./nothing')
    assert status == 404
    assert _json_error(headers, body)['description'] == (
        'there is no file or folder at /files/input/me/nothing'
    )
    status, _, _ = _raw(served, 'DELETE', '/files/input/me/%2e')  # a user's own folder: fine
    assert status == 204
    assert not (served.exchange / 'input' / 'me').exists()


def test_dot_segments_in_front_of_files_do_not_reach_it(served):
    for target in ('/x/../files/output', '/./files/output/.', '/%2e/files/input'):
        status, _, _ = _raw(served, 'DELETE', target)
        assert status == 404, target  # the /jobs app: no such route


# --- PROPFIND depth ------------------------------------------------------------


def _tree(served):
    deep = served.exchange / 'input' / 'tree' / 'a' / 'b'
    deep.mkdir(parents=True, exist_ok=True)
    (deep / 'deep.txt').write_text('deep\n')
    (served.exchange / 'input' / 'tree' / 'top.txt').write_text('top\n')


@pytest.mark.parametrize('depth', ['infinity', 'Infinity', 'INFINITY', ' infinity '])
@pytest.mark.parametrize('target', ['/files/', '/files/input/tree/', '/files/input/./tree'])
def test_propfind_of_infinite_depth_is_refused(served, depth, target):
    _tree(served)
    status, headers, body = _raw(served, 'PROPFIND', target, {'Depth': depth})
    assert status == 403, (status, body)
    error = _json_error(headers, body)
    assert 'propfind-finite-depth' in error['description']
    assert 'Depth: 1' in error['description']


def test_propfind_without_depth_answers_one_level(served):
    """RFC 4918 reads a missing Depth as infinity; we serve it as 1 (docs/rest-api.md)."""
    _tree(served)
    status, _, body = _raw(served, 'PROPFIND', '/files/input/tree/')
    assert status == 207, body
    assert b'/files/input/tree/top.txt' in body and b'/files/input/tree/a/' in body
    assert b'deep.txt' not in body and b'/files/input/tree/a/b/' not in body
    for depth in ('0', '1'):
        status, _, body = _raw(served, 'PROPFIND', '/files/input/tree/', {'Depth': depth})
        assert status == 207, (depth, body)
        assert b'deep.txt' not in body
        assert (b'top.txt' in body) == (depth == '1')


def test_a_real_jobs_outputs_survive_every_spelling(served):
    client = served.client
    job = client.wait_final(client.submit(wf.ECHO, {'text': 'still here'}, name='survivor')['id'])
    assert job['state'] == 'Success', job
    outputs = served.exchange / 'output' / job['id']
    before = sorted(os.listdir(outputs))
    assert before
    for target, _ in TARGETS:
        for method in ('DELETE', 'MOVE'):
            headers = {'Destination': f'{served.base_url}/files/moved'}
            assert _raw(served, method, target, headers)[0] == 403, (method, target)
    assert sorted(os.listdir(outputs)) == before
    assert client.output_text(client.job(job['id']), 'output').strip() == 'still here'


@pytest.mark.parametrize(
    'target',
    [
        '/files/input/alias',
        '/files/input/alias/',
        '/files/input/alias/.',
        '/files/input/alias/other-job',
        '/files/input/alias/other-job/result.txt',
        '/files/input/alias/%2e/other-job',
    ],
)
@pytest.mark.parametrize('method', ['DELETE', 'MOVE', 'PUT'])
def test_a_link_to_output_planted_in_input_leads_nowhere(served, method, target):
    """A user with a shell on the exchange folder links input/alias to output."""
    alias = served.exchange / 'input' / 'alias'
    alias.symlink_to(served.exchange / 'output')
    try:
        headers = {'Destination': f'{served.base_url}/files/moved'} if method == 'MOVE' else {}
        body = b'overwritten\n' if method == 'PUT' else None
        status, headers, text = _raw(served, method, target, headers, body)
        assert status == 403, (status, text)
        assert 'symbolic link' in _json_error(headers, text)['description']
        assert alias.is_symlink()
    finally:
        alias.unlink()
