"""The Python client against a real service with authentication on (issue 19).

Each test starts a service (conftest.py: real HTTP on loopback, SQLite,
local resource) with `auth: token`, its token made in `root/token`. Its file
area is its own /files, so inputs go up with PUT and outputs come down over
HTTP from signed URLs, as for a user. Every way the client finds
the token runs a job to Success and downloads its output; no token, or a
wrong one, is a NotAuthorized that says how to give one; and a host an input
URL points at never sees the token.
"""

import http.server
import os
import shutil
import threading
import urllib.request

import pytest

from cerise_actors.client import NotAuthorized, Service
from cerise_actors.client.credentials import ENV_TOKEN, ENV_TOKEN_FILE

from .. import workflows as wf

HELLO = 'Hello, World!\n\nHere is a test file.\n'


class Running:
    """What the tests need of a service made by conftest's `auth_service`."""

    def __init__(self, service):
        self.url = service.base_url
        self.root = service.root
        self.token_file = service.root / 'token'
        self.token = service.token


@pytest.fixture
def running(auth_service):
    return Running(auth_service())


@pytest.fixture
def no_token_around(monkeypatch, tmp_path):
    """No token in the environment nor in ./run/token: the test gives it, or none."""
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    monkeypatch.delenv(ENV_TOKEN_FILE, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_wc(service: Service, folder):
    """Upload an input, run wc on it to Success, download the output; the output file."""
    data = folder / 'hello.txt'
    data.write_text(HELLO)
    job = service.create_job('wc', wf.WC.encode(), {'file': data}).run()
    assert job.wait(timeout=120) == 'Success', job.log
    output = job.outputs['output']
    assert output.text().split()[:3] == ['3', '7', str(len(HELLO))]
    saved = output.save(folder / 'out')
    assert saved.read_text() == output.text()
    return job, output


def test_token_given_runs_a_job_and_downloads_its_output(running, no_token_around):
    service = Service(running.url, token=running.token)
    assert service.token_source == 'token='
    job, output = run_wc(service, no_token_around)
    assert output.location.startswith(f'{running.url}/files/') and 'cerise-sig=' in (
        output.location
    )
    # the output URL carries its own authority: a plain download without the token works
    with urllib.request.urlopen(output.location, timeout=30) as answer:
        assert answer.read().decode() == output.text()
    assert job.log and job.id in [listed.id for listed in service.list_jobs()]
    job.delete()


def put_in_run_token(running, folder):
    (folder / 'run').mkdir()
    shutil.copy(running.token_file, folder / 'run' / 'token')
    os.chmod(folder / 'run' / 'token', 0o600)


@pytest.mark.parametrize('way', ['CERISE_TOKEN', 'URL', 'CERISE_TOKEN_FILE', 'run/token'])
def test_the_client_finds_the_token_by_itself(running, no_token_around, monkeypatch, way):
    url = running.url
    if way == 'CERISE_TOKEN':
        monkeypatch.setenv(ENV_TOKEN, running.token)
    elif way == 'URL':
        url = url.replace('http://', f'http://cerise:{running.token}@')
    elif way == 'CERISE_TOKEN_FILE':
        monkeypatch.setenv(ENV_TOKEN_FILE, str(running.token_file))
    else:
        put_in_run_token(running, no_token_around)
    service = Service(url)
    assert service.url == running.url and running.token not in repr(service)
    assert service.token_source is not None
    job, _ = run_wc(service, no_token_around)
    job.delete()


def test_without_a_token_every_call_says_how_to_give_one(running, no_token_around):
    service = Service(running.url)
    assert service.token_source is None
    for call in (
        service.list_jobs,
        service.steps,
        lambda: service.get_job('no-such-job'),
        lambda: service.create_job('wc', wf.WC.encode()),  # the upload is refused
    ):
        with pytest.raises(NotAuthorized) as caught:
            call()
        message = str(caught.value)
        assert f'the service at {running.url} needs a token, and none was found' in message
        for way in ('CERISE_TOKEN', 'CERISE_TOKEN_FILE', 'http://cerise:<token>@host:port'):
            assert way in message
        assert caught.value.status == 401


def test_a_wrong_token_is_refused_with_where_it_came_from(running, no_token_around, monkeypatch):
    monkeypatch.setenv(ENV_TOKEN, 'not-the-token-at-all')
    service = Service(running.url)
    with pytest.raises(NotAuthorized) as caught:
        service.list_jobs()
    message = str(caught.value)
    assert 'refused the token from CERISE_TOKEN' in message
    assert 'not-the-token-at-all' not in message and caught.value.token_source == ENV_TOKEN
    with pytest.raises(NotAuthorized, match='refused the token from the service URL'):
        Service(running.url.replace('//', '//cerise:wrong@')).list_jobs()


class HeaderRecorder:
    """Another host (another port): serves one text file, records Authorization headers."""

    def __init__(self):
        self.seen = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                recorder.seen.append(self.headers.get('Authorization'))
                body = HELLO.encode()
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_HEAD = do_GET

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_the_token_never_goes_to_a_host_an_input_or_output_url_names(running, no_token_around):
    elsewhere = HeaderRecorder()
    try:
        service = Service(running.url, token=running.token)
        location = f'{elsewhere.url}/hello.txt'
        job = service.create_job('wc', wf.WC.encode())
        job.add_input('file', {'class': 'File', 'location': location})
        job.run()
        assert job.wait(timeout=120) == 'Success', job.log
        assert job.outputs['output'].text().split()[:3] == ['3', '7', str(len(HELLO))]
        # what the client itself downloads from another host goes without it, too
        assert b''.join(service.http.stream(location)).decode() == HELLO
        assert elsewhere.seen and all(header is None for header in elsewhere.seen)
        job.delete()
    finally:
        elsewhere.close()


def test_a_user_of_a_users_file_gives_their_own_token(auth_service, no_token_around):
    service = auth_service(users=['alice', 'bob'])
    url = service.base_url.replace('http://', f'http://alice:{service.tokens["alice"]}@')
    alice = Service(url)
    job, _ = run_wc(alice, no_token_around)
    assert [listed.id for listed in alice.list_jobs()] == [job.id]
    assert Service(service.base_url, token=service.tokens['bob']).list_jobs() == []
    with pytest.raises(NotAuthorized, match='refused the token'):
        Service(service.base_url, token='alice.not-her-secret').list_jobs()
