"""How the client finds the service's token, and to whom it sends it.

The order is credentials.py's; these tests pin it, because a change would
silently send another token (or none). Where the token goes is checked on
the wire with two small recording servers on loopback: the service and
"another host" (another port is another origin, like another machine).
"""

import http.server
import json
import threading

import pytest

from cerise_actors.client import NotAuthorized, Service, TokenError
from cerise_actors.client.credentials import (
    ENV_TOKEN,
    ENV_TOKEN_FILE,
    Origins,
    find_credential,
    origin_of,
    split_url,
)

URL = 'http://127.0.0.1:29593'


def header_of(credential):
    return credential.authorization if credential is not None else None


def token_file(folder, name, token):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(token + '\n')
    return path


# --- the order ------------------------------------------------------------------------
@pytest.fixture
def everywhere(tmp_path):
    """A token in every place, each a different one."""
    token_file(tmp_path, 'run/token', 'from-run-token')
    named = token_file(tmp_path, 'named', 'from-env-file')
    given = token_file(tmp_path, 'given', 'from-token-file')
    env = {ENV_TOKEN: 'from-env', ENV_TOKEN_FILE: str(named)}
    return tmp_path, env, given


def test_each_place_wins_over_the_ones_after_it(everywhere):
    cwd, env, given = everywhere
    url = 'http://cerise:from-url@127.0.0.1:29593'

    def found(**kwargs):
        defaults = dict(url=url, token=None, token_file=None, environ=env, cwd=cwd)
        return header_of(find_credential(**{**defaults, **kwargs})[1])

    assert found(token='from-argument', token_file=given) == 'Bearer from-argument'
    assert found(token_file=given) == 'Bearer from-token-file'
    assert found() == 'Bearer from-url'
    assert found(url=URL) == 'Bearer from-env'
    assert found(url=URL, environ={ENV_TOKEN_FILE: env[ENV_TOKEN_FILE]}) == 'Bearer from-env-file'
    assert found(url=URL, environ={}) == 'Bearer from-run-token'
    assert found(url=URL, environ={}, cwd=cwd / 'elsewhere') is None


def test_an_empty_environment_variable_counts_as_unset(tmp_path):
    env = {ENV_TOKEN: '  ', ENV_TOKEN_FILE: ''}
    assert find_credential(URL, environ=env, cwd=tmp_path) == (URL, None)


def test_run_token_is_only_for_a_service_on_this_machine(tmp_path):
    token_file(tmp_path, 'run/token', 'local-secret')
    for url in ('http://localhost:1', 'http://[::1]:2', 'http://127.0.0.2:3'):
        assert header_of(find_credential(url, environ={}, cwd=tmp_path)[1]) == 'Bearer local-secret'
    assert find_credential('http://example.org:29593', environ={}, cwd=tmp_path)[1] is None


def test_a_run_token_that_cannot_be_read_is_as_if_absent(tmp_path):
    (tmp_path / 'run').mkdir()
    (tmp_path / 'run' / 'token').write_text('')
    assert find_credential(URL, environ={}, cwd=tmp_path)[1] is None
    (tmp_path / 'run' / 'token').unlink()
    (tmp_path / 'run' / 'token').mkdir()  # not a file at all
    assert find_credential(URL, environ={}, cwd=tmp_path)[1] is None


def test_a_named_token_file_that_cannot_be_read_is_an_error(tmp_path):
    missing = tmp_path / 'nope'
    with pytest.raises(TokenError, match=f'cannot read the token file {missing}'):
        find_credential(URL, token_file=missing, environ={})
    with pytest.raises(TokenError, match=ENV_TOKEN_FILE):
        find_credential(URL, environ={ENV_TOKEN_FILE: str(missing)})
    empty = token_file(tmp_path, 'empty', '')
    with pytest.raises(TokenError, match='empty'):
        find_credential(URL, token_file=empty, environ={})
    with pytest.raises(TokenError, match='one word of printable ASCII') as caught:
        find_credential(URL, token='two words', environ={})
    assert 'two words' not in str(caught.value)  # never the value
    with pytest.raises(ValueError):  # what the CLI turns into a usage error
        Service(URL, token_file=missing)


# --- the URL's credentials --------------------------------------------------------------
def test_credentials_are_taken_out_of_the_url():
    assert split_url('http://cerise:s%40cret@host:8/a?b=c') == ('http://host:8/a?b=c', 's@cret')
    assert split_url('http://user@host:8') == ('http://host:8', None)
    assert split_url('http://user:@host:8') == ('http://host:8', None)
    assert split_url('http://host:8/x@y') == ('http://host:8/x@y', None)


def test_the_service_never_shows_the_token(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    monkeypatch.delenv(ENV_TOKEN_FILE, raising=False)
    service = Service('http://cerise:TopSecret1@127.0.0.1:29593/')
    assert service.url == URL and service.files.url == URL + '/files'
    assert service.token_source == 'the service URL'
    for text in (repr(service), str(service), repr(service.http.credential), repr(vars(service))):
        assert 'TopSecret1' not in text
    with_files = Service(URL, files_url='http://u:FilesSecret@127.0.0.1:9/files')
    assert with_files.files.url == 'http://127.0.0.1:9/files'
    assert with_files.http.credential.authorization == 'Bearer FilesSecret'


# --- origins ----------------------------------------------------------------------------
def test_an_origin_is_scheme_host_and_port_exactly():
    origins = Origins([URL, 'https://files.example.org/files'])
    assert origin_of('HTTP://LocalHost/x') == ('http', 'localhost', 80)
    assert origins.covers(URL + '/jobs/1')
    assert origins.covers('https://files.example.org:443/files/output/x?cerise-sig=1')
    for elsewhere in (
        'http://127.0.0.1:29594/jobs',  # another port
        'https://127.0.0.1:29593/jobs',  # another scheme
        'http://localhost:29593/jobs',  # another name of the same machine
        'http://files.example.org/files/x',
        'https://evil.files.example.org/files/x',
        'file:///tmp/output.txt',
        'not a url',
    ):
        assert not origins.covers(elsewhere), elsewhere


# --- on the wire ------------------------------------------------------------------------
class Recorder:
    """Records each request's path and Authorization header; /away and /home
    redirect (to `other`, and back to this server), /refuse answers 401."""

    def __init__(self):
        self.seen = []
        self.other = None
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                recorder.seen.append((self.path, self.headers.get('Authorization')))
                if self.path.startswith('/away'):
                    return self._send(302, b'', [('Location', recorder.other + '/landed')])
                if self.path.startswith('/home'):
                    return self._send(302, b'', [('Location', '/landed')])
                if self.path.startswith('/refuse'):
                    body = {'title': 'Unauthorized', 'description': 'this service needs a token'}
                    return self._send(401, json.dumps(body).encode(), [])
                self._send(200, b'[]', [])

            def _send(self, status, body, headers):
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def servers():
    service, other = Recorder(), Recorder()
    service.other, other.other = other.url, service.url
    yield service, other
    for recorder in (service, other):
        recorder.server.shutdown()
        recorder.server.server_close()


def test_the_token_goes_to_the_service_and_nowhere_else(servers):
    service, other = servers
    client = Service(service.url, token='T0ken')
    client.list_jobs()
    assert b''.join(client.http.stream(service.url + '/files/output/x')) == b'[]'
    assert b''.join(client.http.stream(other.url + '/files/output/x')) == b'[]'
    assert b''.join(client.http.stream(service.url + '/away')) == b'[]'  # redirected elsewhere
    assert b''.join(client.http.stream(service.url + '/home')) == b'[]'  # redirected home
    assert service.seen == [
        ('/jobs', 'Bearer T0ken'),
        ('/files/output/x', 'Bearer T0ken'),
        ('/away', 'Bearer T0ken'),
        ('/home', 'Bearer T0ken'),
        ('/landed', 'Bearer T0ken'),
    ]
    assert other.seen == [('/files/output/x', None), ('/landed', None)]


def test_a_files_url_elsewhere_gets_the_token_too(servers):
    service, other = servers
    client = Service(service.url, files_url=other.url + '/files', token='T0ken')
    assert client.http.request('GET', client.files.url_of('output/x')).ok
    assert other.seen == [('/files/output/x', 'Bearer T0ken')]


def test_a_401_says_the_token_was_refused_and_how_to_give_one(servers):
    service, _ = servers
    with pytest.raises(NotAuthorized) as caught:
        list(Service(service.url, token='wrong').http.stream(service.url + '/refuse'))
    message = str(caught.value)
    assert f'the service at {service.url} refused the token from token=' in message
    assert 'CERISE_TOKEN' in message and 'http://cerise:<token>@host:port' in message
    assert 'wrong' not in message and caught.value.status == 401


def test_a_401_without_a_token_says_none_was_found(servers, tmp_path, monkeypatch):
    service, other = servers
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    monkeypatch.delenv(ENV_TOKEN_FILE, raising=False)
    monkeypatch.chdir(tmp_path)
    client = Service(service.url)
    with pytest.raises(NotAuthorized, match='needs a token, and none was found'):
        list(client.http.stream(service.url + '/refuse'))
    # another host's 401 is that host's business: a failed download, not our token
    with pytest.raises(Exception) as caught:
        list(client.http.stream(other.url + '/refuse'))
    assert not isinstance(caught.value, NotAuthorized)
