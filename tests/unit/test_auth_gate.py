"""The auth gate as WSGI: who gets in, as whom, and what the others are told."""

import base64
import json

import pytest

from cerise_actors.auth.authenticator import SingleToken, UsersFile, presented_token
from cerise_actors.auth.signing import UrlSigner
from cerise_actors.auth.users import add_user
from cerise_actors.web.auth_gate import CHALLENGE, AuthGate
from cerise_actors.web.identity import USER_KEY

TOKEN = 't' * 43


def _app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'application/json')])
    return [json.dumps({'user': environ.get(USER_KEY)}).encode()]


def call(gate, path, method='GET', headers=None, query=''):
    environ = {'PATH_INFO': path, 'REQUEST_METHOD': method, 'QUERY_STRING': query}
    environ.update(headers or {})
    answer = {}

    def start_response(status, headers):
        answer['status'] = int(status.split()[0])
        answer['headers'] = dict(headers)

    body = b''.join(gate(environ, start_response))
    return answer['status'], answer['headers'], json.loads(body)


def basic(user, password):
    return 'Basic ' + base64.b64encode(f'{user}:{password}'.encode()).decode()


@pytest.fixture
def gate():
    return AuthGate(_app, SingleToken(TOKEN).who, UrlSigner('k' * 43, 3600))


@pytest.mark.parametrize(
    'path',
    ['/jobs', '/jobs/x', '/jobs/x/log', '/files/input/a', '/steps', '/', '/ga4gh/wes/v1/runs'],
)
@pytest.mark.parametrize(
    'headers',
    [
        {},
        {'HTTP_AUTHORIZATION': 'Bearer wrong'},
        {'HTTP_AUTHORIZATION': basic('cerise', 'wrong')},
        {'HTTP_AUTHORIZATION': 'Token ' + TOKEN},
        {'HTTP_AUTHORIZATION': 'Basic !!!'},
        {'HTTP_AUTHORIZATION': basic(TOKEN, '')},
    ],
)
def test_without_a_valid_token_every_path_answers_the_same_401(gate, path, headers):
    status, answer_headers, body = call(gate, path, headers=headers)
    assert status == 401
    assert answer_headers['WWW-Authenticate'] == CHALLENGE
    assert TOKEN not in json.dumps(body)
    if path.startswith('/ga4gh'):
        assert body['status_code'] == 401 and 'token' in body['msg']
    else:
        assert body['title'] == 'Unauthorized' and 'Authorization: Bearer' in body['description']


@pytest.mark.parametrize(
    'header', ['Bearer ' + TOKEN, 'bearer  ' + TOKEN, basic('cerise', TOKEN), basic('', TOKEN)]
)
def test_bearer_and_basic_with_any_name_let_the_one_user_in(gate, header):
    assert call(gate, '/jobs', headers={'HTTP_AUTHORIZATION': header})[2] == {'user': ''}


@pytest.mark.parametrize('path', ['/openapi.json', '/swagger.json', '/ga4gh/wes/v1/service-info'])
def test_the_api_descriptions_and_service_info_are_public(gate, path):
    assert call(gate, path) == (200, {'Content-Type': 'application/json'}, {'user': None})


def test_health_answers_without_credentials_or_details(gate):
    status, _, body = call(gate, '/health')
    assert (status, body) == (200, {'status': 'ok'})


def test_a_user_cannot_be_injected_through_the_environ(gate):
    status, _, _ = call(gate, '/jobs', headers={USER_KEY: 'alice'})
    assert status == 401


def test_a_failing_check_refuses(tmp_path):
    def broken(token):
        raise RuntimeError('boom')

    gate = AuthGate(_app, broken)
    status, _, body = call(gate, '/jobs', headers={'HTTP_AUTHORIZATION': 'Bearer x'})
    assert status == 401 and 'could not be checked' in body['description']


def test_without_authentication_everyone_is_the_one_user():
    assert call(AuthGate(_app, None), '/jobs')[2] == {'user': ''}


def test_a_signed_url_opens_its_one_file_for_reading_only(gate):
    signer = UrlSigner('k' * 43, 3600)
    name = 'output/j1/out.txt'
    query = 'cerise-sig=' + signer.signature('', name)
    assert call(gate, '/files/' + name, query=query)[2] == {'user': ''}
    assert call(gate, '/files/' + name, method='HEAD', query=query)[0] == 200
    for method in ('PUT', 'DELETE', 'PROPFIND', 'MOVE'):
        assert call(gate, '/files/' + name, method=method, query=query)[0] == 401
    assert call(gate, '/files/output/j1/other.txt', query=query)[0] == 401
    assert call(gate, '/jobs', query=query)[0] == 401
    assert call(gate, '/files/' + name, query=query + '&' + query)[0] == 401


def test_a_signed_name_with_utf8_is_read_from_the_decoded_path(gate):
    signer = UrlSigner('k' * 43, 3600)
    name = 'output/j1/naïve.txt'
    query = 'cerise-sig=' + signer.signature('', name)
    path = '/files/' + name.encode('utf-8').decode('latin-1')  # as WSGI servers give it
    assert call(gate, path, query=query)[0] == 200


def test_users_are_told_apart_by_their_tokens(tmp_path):
    users = tmp_path / 'users'
    alice, bob = add_user(users, 'alice'), add_user(users, 'bob')
    gate = AuthGate(_app, UsersFile(users).who)
    for token, user in ((alice, 'alice'), (bob, 'bob'), (alice, 'alice')):
        headers = {'HTTP_AUTHORIZATION': 'Bearer ' + token}
        assert call(gate, '/jobs', headers=headers)[2] == {'user': user}
    headers = {'HTTP_AUTHORIZATION': basic('bob', alice)}  # the name sent does not matter
    assert call(gate, '/jobs', headers=headers)[2] == {'user': 'alice'}


def test_a_replaced_or_removed_user_is_refused_without_a_restart(tmp_path, monkeypatch):
    from cerise_actors.auth import authenticator

    monkeypatch.setattr(authenticator, 'RECHECK_SECONDS', 0.0)
    users = tmp_path / 'users'
    old = add_user(users, 'alice')
    check = UsersFile(users)
    assert check.who(old) == 'alice'
    new = add_user(users, 'alice', replace=True)
    assert check.who(old) is None
    assert check.who(new) == 'alice'
    users.write_text('')
    assert check.who(new) is None
    add_user(users, 'alice')
    users.chmod(0o666)  # a file others may write: every token refused
    assert check.who(new) is None


@pytest.mark.parametrize(
    'header, token',
    [
        (None, ''),
        ('Bearer abc', 'abc'),
        ('Basic ' + base64.b64encode(b'u:p:q').decode(), 'p:q'),
        ('Basic ' + base64.b64encode(b'u').decode(), ''),
        ('Digest x', ''),
    ],
)
def test_presented_tokens(header, token):
    assert presented_token(header).token == token
