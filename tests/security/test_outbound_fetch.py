"""Outbound fetches, as an attacker with access to the REST API tries them:
inputs that make the service read loopback, its own API or a cloud metadata
address, and redirects that leave http or never end (issue 18, item 6).

Two real services on loopback: one with the default `limits.fetch-deny`
(loopback denied), one that denies only 127.0.0.2, so that test servers on
127.0.0.1 can play the attacker's web server. Every listener records what
reached it: a refused fetch must send nothing at all.
"""

import contextlib
import http.server as http_server
import re
import socket
import threading

import pytest

from cerise_actors.app import running_service
from cerise_actors.config import service_config_from_dict

from .. import workflows as wf
from ..helpers import TEST_API_DIR, Client, http
from ..service_setup import api_config_for_tests, service_config_dict

DENIED_PEER = '127.0.0.2'


@contextlib.contextmanager
def _service(root, fetch_deny=None):
    """A service; `fetch_deny` None leaves the setting out (the default)."""
    root.mkdir()
    data = service_config_dict(root)
    data.pop('limits', None)
    if fetch_deny is not None:
        data['limits'] = {'fetch-deny': fetch_deny}
    config = service_config_from_dict(data, env={})
    with running_service(config, TEST_API_DIR, api_config=api_config_for_tests(root)) as service:
        service.client = Client(service.base_url, config.exchange_service_dir)
        yield service


@pytest.fixture(scope='module')
def guarded(tmp_path_factory):
    """A service with the default deny list."""
    with _service(tmp_path_factory.mktemp('guarded') / 'svc') as service:
        yield service


@pytest.fixture(scope='module')
def open_service(tmp_path_factory):
    """A service that fetches from 127.0.0.1 (but not from 127.0.0.2)."""
    with _service(tmp_path_factory.mktemp('open') / 'svc', [f'{DENIED_PEER}/32']) as service:
        yield service


class _Web(http_server.BaseHTTPRequestHandler):
    """/data: a file; /hop/<n>: a redirect to /hop/<n-1>, and /hop/0 to /data;
    /to?<url>: a redirect to <url>."""

    requests: list = []

    def do_GET(self):
        self.requests.append(self.path)
        if self.path == '/data':
            body = b'one\ntwo\n'
            self.send_response(200)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path.startswith('/hop/'):
            left = int(self.path.rsplit('/', 1)[1])
            target = f'/hop/{left - 1}' if left > 0 else '/data'
        elif self.path.startswith('/to?'):
            target = self.path[len('/to?') :]
        else:
            self.send_error(404)
            return
        self.send_response(302)
        self.send_header('Location', target)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def _web_server(host='127.0.0.1'):
    handler = type('Web', (_Web,), {'requests': []})
    server = http_server.ThreadingHTTPServer((host, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f'http://{host}:{server.server_port}', handler.requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def web():
    with _web_server() as served:
        yield served


class _Listener:
    """A TCP listener that greets like an FTP server and records every
    connection and every byte it receives."""

    def __init__(self):
        self.server = socket.create_server(('127.0.0.1', 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.received = b''
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                sock, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            with sock:
                sock.settimeout(5)
                try:
                    sock.sendall(b'220 ready\r\n')
                    while data := sock.recv(1024):
                        self.received += data
                        if b'USER' in self.received:
                            sock.sendall(b'530 no\r\n')
                except OSError:
                    pass

    def close(self):
        self.server.close()
        self._thread.join(5)


@pytest.fixture
def listener():
    made = _Listener()
    yield made
    made.close()


def _run(service, location):
    """Submit a wc job on the input `location`; its final job and log."""
    client = service.client
    job = client.submit(wf.WC, {'file': {'class': 'File', 'location': location}})
    done = client.wait_final(job['id'])
    return done, client.log(job['id'])


def _refused(done, log, pattern):
    assert done['state'] == 'PermanentFailure', log
    assert re.search(pattern, log), log


# --- the default deny list ------------------------------------------------


@pytest.mark.parametrize(
    'host,address',
    [
        ('127.0.0.1', '127.0.0.1'),
        ('localhost', '127.0.0.1'),  # a name, resolved
        ('2130706433', '127.0.0.1'),  # 127.0.0.1 as one decimal number
        ('0x7f.1', '127.0.0.1'),
        ('[::ffff:127.0.0.1]', '::ffff:127.0.0.1'),  # IPv4-mapped IPv6
    ],
)
def test_a_loopback_input_is_refused_by_default(guarded, web, host, address):
    base, requests = web
    port = base.rsplit(':', 1)[1]
    done, log = _run(guarded, f'http://{host}:{port}/data')
    _refused(
        done,
        log,
        rf"Cannot run this job: input 'file': http://{re.escape(host)}:{port}/data: "
        rf'{re.escape(host.strip("[]"))} resolves to {re.escape(address)}, which this service '
        r'does not fetch from \(limits.fetch-deny: 127.0.0.0/8\)',
    )
    assert requests == []


def test_a_loopback_workflow_is_refused_by_default(guarded, web):
    base, requests = web
    body = {'workflow': f'{base}/wf.cwl', 'input': {}}
    status, job, _ = http('POST', f'{guarded.client.base}/jobs', body)
    assert status == 201, job
    done = guarded.client.wait_final(job['id'])
    log = guarded.client.log(job['id'])
    _refused(done, log, r'resolves to 127.0.0.1, which this service does not fetch from')
    assert requests == []


def test_the_cloud_metadata_address_is_refused_without_a_connection(guarded):
    """169.254.169.254 would answer only in a cloud; refused before connecting."""
    done, log = _run(guarded, 'http://169.254.169.254/latest/meta-data/iam')
    _refused(
        done,
        log,
        r'169.254.169.254 resolves to 169.254.169.254, which this service does not fetch '
        r'from \(limits.fetch-deny: 169.254.0.0/16\)',
    )


def test_the_unspecified_address_is_refused(guarded, web):
    """Connecting to 0.0.0.0 reaches this machine on Linux."""
    base, requests = web
    port = base.rsplit(':', 1)[1]
    done, log = _run(guarded, f'http://0.0.0.0:{port}/data')
    _refused(done, log, r'0.0.0.0 resolves to 0.0.0.0, which this service does not fetch from')
    assert requests == []


# --- redirects --------------------------------------------------------------


def test_a_redirect_to_ftp_is_not_followed(open_service, web, listener):
    base, _ = web
    target = f'ftp://127.0.0.1:{listener.port}/secret'
    done, log = _run(open_service, f'{base}/to?{target}')
    _refused(
        done,
        log,
        rf'{re.escape(base)}/to\?{re.escape(target)} redirects to {re.escape(target)}; '
        r'only redirects to http or https URLs are followed',
    )
    assert (listener.connections, listener.received) == (0, b'')


def test_a_redirect_to_a_file_url_is_not_followed(open_service, web):
    base, _ = web
    done, log = _run(open_service, f'{base}/to?file:///etc/passwd')
    _refused(done, log, r'redirects to file:///etc/passwd; only redirects to http or https')


def test_five_redirects_are_followed(open_service, web):
    base, requests = web
    done, log = _run(open_service, f'{base}/hop/4')  # 4, 3, 2, 1, 0: five redirects
    assert done['state'] == 'Success', log
    assert open_service.client.output_text(done, 'output').split()[:2] == ['2', '2']
    assert requests[-1] == '/data'


def test_a_sixth_redirect_is_refused(open_service, web):
    base, requests = web
    done, log = _run(open_service, f'{base}/hop/5')
    _refused(
        done,
        log,
        rf'{re.escape(base)}/hop/5 redirects more than 5 times '
        rf'\(the last time to {re.escape(base)}/data\)',
    )
    assert '/data' not in requests


def test_a_redirect_to_a_denied_address_is_caught_at_connect_time(open_service, web):
    """The first server is allowed; where it redirects is checked again."""
    base, _ = web
    with _web_server(DENIED_PEER) as (inside, inside_requests):
        done, log = _run(open_service, f'{base}/to?{inside}/data')
    _refused(
        done,
        log,
        rf'redirects to {re.escape(inside)}/data: {DENIED_PEER} resolves to {DENIED_PEER}, '
        rf'which this service does not fetch from \(limits.fetch-deny: {DENIED_PEER}/32\)',
    )
    assert inside_requests == []


# --- the service itself ------------------------------------------------------


def test_the_service_does_not_fetch_its_own_jobs(open_service):
    """Even with loopback allowed, /jobs (every job's inputs) is not an input."""
    own = open_service.base_url.rstrip('/')
    port = own.rsplit(':', 1)[1]
    done, log = _run(open_service, f'{own}/jobs')
    _refused(done, log, rf"which is this service's own address \(port {port}\)")
    done, log = _run(open_service, f'http://localhost:{port}/jobs')
    _refused(done, log, rf"which is this service's own address \(port {port}\)")


def test_a_redirect_to_the_service_itself_is_refused(open_service, web):
    base, _ = web
    own = open_service.base_url.rstrip('/')
    done, log = _run(open_service, f'{base}/to?{own}/jobs')
    _refused(done, log, rf"redirects to {re.escape(own)}/jobs: .*this service's own address")
