"""The file exchange at /files: WebDAV from a PyPI client, path traversal, streaming.

Most tests serve `make_files_app` mounted at /files (with `dispatch.mount`,
beside a stand-in for the /jobs app) with the service's HttpServer (waitress)
on a free loopback port. The last test runs the whole service, configured with
`store-location-client: http://127.0.0.1:<port>/files`, and drives a job
through WebDAV uploads, HTTP downloads and deletion.
"""
import contextlib
import hashlib
import http.client as http_client
import io
import logging
import os
import socket
import subprocess
import sys
import urllib.request

import pytest
from webdav4.client import Client as DavClient

from cerise_actors.config import service_config_from_dict
from cerise_actors.service.system import running_service
from cerise_actors.web.dispatch import mount
from cerise_actors.web.files import make_files_app
from cerise_actors.web.server import HttpServer

from .. import workflows as wf
from ..conftest import service_config_dict, test_api_config
from ..helpers import FINAL, REPO_DIR, TEST_API_DIR, http, wait_for


def _jobs_stand_in(environ, start_response):
    body = b'jobs app'
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]


class _Served:
    def __init__(self, root):
        self.root = root
        self.exchange = root / 'exchange'
        self.outside = root / 'outside'
        self.outside.mkdir()
        (self.outside / 'secret.txt').write_text('keep out\n')
        app = mount(_jobs_stand_in, '/files', make_files_app(self.exchange))
        self._server = HttpServer(app, '127.0.0.1', 0, threads=4)
        self._server.start()
        self.port = self._server.port
        self.url = f'http://127.0.0.1:{self.port}/files'

    def request(self, method, target, body=None, headers=None):
        """(status, headers, body) of one raw request: the target is sent as is."""
        conn = http_client.HTTPConnection('127.0.0.1', self.port, timeout=30)
        try:
            conn.putrequest(method, target, skip_accept_encoding=True)
            headers = dict(headers or {})
            if body is not None:
                headers.setdefault('Content-Length', str(len(body)))
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders(body)
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            conn.close()

    def stop(self):
        self._server.stop()


@pytest.fixture
def served(tmp_path):
    server = _Served(tmp_path)
    yield server
    server.stop()


@contextlib.contextmanager
def _dav(url, timeout=30):
    client = DavClient(url, retry=False, timeout=timeout)
    try:
        yield client
    finally:
        client.http.close()


@pytest.fixture
def dav(served):
    with _dav(served.url) as client:
        yield client


def _tree(path):
    """Every file and folder below `path` with size, mtime and (for files) content."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            content = None
            if os.path.isfile(full) and not os.path.islink(full):
                with open(full, 'rb') as f:
                    content = f.read()
            found[os.path.relpath(full, path)] = (st.st_mode, st.st_size, st.st_mtime_ns,
                                                  content)
    return found


# --- a WebDAV client from PyPI --------------------------------------------------

def test_webdav_client_mkcol_put_propfind_get_delete(served, dav):
    assert {'1', '2'} <= dav.options('')
    dav.mkdir('data')
    assert (served.exchange / 'data').is_dir()
    dav.upload_fileobj(io.BytesIO(b'hello\n'), 'data/a.txt')
    dav.upload_fileobj(io.BytesIO(b'second\n'), 'data/b.txt')
    assert (served.exchange / 'data' / 'a.txt').read_bytes() == b'hello\n'

    listing = dav.ls('data', detail=True)                    # PROPFIND, Depth: 1
    assert sorted((e['name'], e['type'], e['content_length']) for e in listing) == [
        ('data/a.txt', 'file', 6), ('data/b.txt', 'file', 7)]
    assert sorted(e['name'] for e in dav.ls('', detail=True)) == ['data']
    assert dav.info('data/a.txt')['content_length'] == 6
    assert dav.isdir('data') and dav.isfile('data/a.txt')

    out = io.BytesIO()
    dav.download_fileobj('data/a.txt', out)                  # GET
    assert out.getvalue() == b'hello\n'

    dav.remove('data/a.txt')                                 # DELETE
    assert not (served.exchange / 'data' / 'a.txt').exists()
    assert not dav.exists('data/a.txt')
    dav.remove('data')
    assert not (served.exchange / 'data').exists()


def test_propfind_depth_0_and_1(served):
    (served.exchange / 'd' / 'sub').mkdir(parents=True)
    (served.exchange / 'd' / 'f.txt').write_text('x')
    body = (b'<?xml version="1.0" encoding="utf-8"?>'
            b'<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>')
    headers = {'Content-Type': 'application/xml'}
    status, _, zero = served.request('PROPFIND', '/files/d/', body, {**headers, 'Depth': '0'})
    assert status == 207
    assert zero.count(b'<D:response>') == 1 and b'<D:href>/files/d/</D:href>' in zero
    status, _, one = served.request('PROPFIND', '/files/d/', body, {**headers, 'Depth': '1'})
    assert status == 207
    assert one.count(b'<D:response>') == 3
    for href in (b'/files/d/', b'/files/d/sub/', b'/files/d/f.txt'):
        assert b'<D:href>' + href + b'</D:href>' in one


def test_put_creates_missing_parent_folders(served, dav):
    status, _, _ = served.request('PUT', '/files/input/job/a/b.txt', b'deep')
    assert status == 201
    assert (served.exchange / 'input' / 'job' / 'a' / 'b.txt').read_bytes() == b'deep'
    dav.upload_fileobj(io.BytesIO(b'again'), 'input/job2/x/y/z.txt')
    assert (served.exchange / 'input' / 'job2' / 'x' / 'y' / 'z.txt').read_bytes() == b'again'
    status, _, _ = served.request('PUT', '/files/input/job/a/b.txt', b'replaced')
    assert status == 204
    assert (served.exchange / 'input' / 'job' / 'a' / 'b.txt').read_bytes() == b'replaced'


def test_put_below_a_file_is_a_conflict(served):
    assert served.request('PUT', '/files/f.txt', b'file')[0] == 201
    assert served.request('PUT', '/files/f.txt/inner.txt', b'x')[0] == 409
    assert (served.exchange / 'f.txt').read_bytes() == b'file'


def test_head_and_get(served):
    (served.exchange / 'out.txt').write_bytes(b'0123456789')
    status, headers, body = served.request('HEAD', '/files/out.txt')
    assert status == 200 and headers['Content-Length'] == '10' and body == b''
    status, headers, body = served.request('GET', '/files/out.txt')
    assert status == 200 and body == b'0123456789'
    assert served.request('GET', '/files/absent.txt')[0] == 404
    assert served.request('HEAD', '/files/absent.txt')[0] == 404


def test_options(served):
    (served.exchange / 'f.txt').write_text('x')
    status, headers, _ = served.request('OPTIONS', '/files/')
    assert status == 200 and '1' in headers['DAV']
    assert {'PROPFIND', 'DELETE'} <= set(headers['Allow'].replace(' ', '').split(','))
    status, headers, _ = served.request('OPTIONS', '/files/f.txt')
    assert status == 200
    assert {'GET', 'HEAD', 'PUT', 'DELETE'} <= set(headers['Allow'].replace(' ', '').split(','))
    status, headers, _ = served.request('OPTIONS', '/files/new.txt')
    assert status == 200 and 'PUT' in headers['Allow']


def test_mkcol_on_an_existing_folder_and_without_parent(served):
    assert served.request('MKCOL', '/files/a')[0] == 201
    assert served.request('MKCOL', '/files/a')[0] == 405
    assert served.request('MKCOL', '/files/x/y')[0] == 409   # MKCOL does not make parents


def test_names_are_utf8(served):
    assert served.request('PUT', '/files/caf%C3%A9/%E2%82%AC.txt', b'euro')[0] == 201
    assert (served.exchange / 'café' / '€.txt').read_bytes() == b'euro'
    status, _, body = served.request('PROPFIND', '/files/caf%C3%A9/', headers={'Depth': '1'})
    assert status == 207 and b'/files/caf%C3%A9/%E2%82%AC.txt' in body
    assert served.request('GET', '/files/caf%C3%A9/%E2%82%AC.txt')[2] == b'euro'
    assert served.request('GET', '/files/%FF')[0] == 400


def test_other_paths_go_to_the_jobs_app(served):
    assert served.request('GET', '/jobs')[2] == b'jobs app'
    assert served.request('GET', '/filesystem')[2] == b'jobs app'


def test_webdav_logs_nothing_per_request(served, dav, caplog):
    os.symlink(served.outside, served.exchange / 'link')     # WsgiDAV logs skips at INFO
    with caplog.at_level(logging.DEBUG):
        dav.upload_fileobj(io.BytesIO(b'x'), 'q/x.txt')
        dav.ls('')
        served.request('OPTIONS', '/files/')
        served.request('GET', '/files/q/x.txt')
        served.request('GET', '/files/absent')
    assert [r.getMessage() for r in caplog.records if r.name.startswith('wsgidav')] == []


def test_webdav_errors_reach_the_log(served, caplog, monkeypatch):
    def broken(self):
        raise RuntimeError('disk on fire')
    monkeypatch.setattr('wsgidav.fs_dav_provider.FileResource.get_content', broken)
    (served.exchange / 'f.txt').write_text('x')
    with caplog.at_level(logging.DEBUG):
        assert served.request('GET', '/files/f.txt')[0] == 500
    assert any(r.name.startswith('wsgidav') and r.levelno >= logging.ERROR
               and 'disk on fire' in r.getMessage() for r in caplog.records)


# --- paths never leave the exchange folder --------------------------------------

TRAVERSALS = [
    '/files/../outside/secret.txt',
    '/files/%2e%2e/outside/secret.txt',
    '/files/%2E%2E/outside/secret.txt',
    '/files/a/../../outside/secret.txt',
    '/files/..%2foutside/secret.txt',
    '/files/%2e%2e%2foutside%2fsecret.txt',
    '/files/../../../../../../etc/passwd',
    '/files/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/files/..',
    '/files/%00/x',
]


@pytest.mark.parametrize('method', ['GET', 'HEAD', 'PUT', 'DELETE', 'MKCOL', 'PROPFIND',
                                    'OPTIONS', 'MOVE', 'COPY'])
@pytest.mark.parametrize('target', TRAVERSALS)
def test_traversal_is_refused_and_touches_nothing(served, method, target):
    (served.exchange / 'a').mkdir()
    before = _tree(served.root)
    headers = {}
    if method in ('MOVE', 'COPY'):
        headers['Destination'] = f'{served.url}/moved.txt'
    body = b'overwritten\n' if method == 'PUT' else None
    status, _, text = served.request(method, target, body, headers)
    assert status in (403, 404), (status, text)
    assert b'keep out' not in text and b'root:' not in text
    assert _tree(served.root) == before


@pytest.mark.parametrize('destination', [
    '{url}/../outside/moved.txt', '{url}/%2e%2e/outside/moved.txt',
    'http://127.0.0.1:{port}/outside/moved.txt'])
@pytest.mark.parametrize('method', ['MOVE', 'COPY'])
def test_copy_and_move_cannot_leave_the_exchange(served, method, destination):
    (served.exchange / 'a.txt').write_text('mine\n')
    before = _tree(served.root)
    status, _, _ = served.request(method, '/files/a.txt', headers={
        'Destination': destination.format(url=served.url, port=served.port)})
    assert status in (403, 404, 502)    # 502: WsgiDAV's answer for another "realm"
    assert _tree(served.root) == before


def test_puts_to_absolute_looking_paths_stay_inside(served):
    before = _tree(served.outside)
    target = f'/files/{served.outside}/new.txt'          # /files//tmp/.../outside/new.txt
    status, _, _ = served.request('PUT', target, b'inside\n')
    assert status == 201
    assert _tree(served.outside) == before
    assert (served.exchange / str(served.outside).lstrip('/') / 'new.txt').exists()
    assert served.request('GET', '/files//etc/passwd')[0] == 404
    assert served.request('GET', f'http://127.0.0.1:{served.port}/files/../etc/passwd')[0] \
        in (403, 404)


def test_symlinks_out_of_the_exchange_are_not_followed(served, dav):
    os.symlink(served.outside, served.exchange / 'out')
    os.symlink('/etc', served.exchange / 'etc')
    os.symlink('/etc/passwd', served.exchange / 'passwd')
    (served.exchange / 'real').mkdir()
    before = _tree(served.root)
    for method, target in [('GET', '/files/etc/passwd'), ('GET', '/files/passwd'),
                           ('HEAD', '/files/passwd'), ('GET', '/files/out/secret.txt'),
                           ('PROPFIND', '/files/out/'), ('PROPFIND', '/files/etc/'),
                           ('DELETE', '/files/out/secret.txt'), ('DELETE', '/files/out'),
                           ('MKCOL', '/files/out/sub'), ('PUT', '/files/out/new.txt'),
                           ('PUT', '/files/out/deep/er/new.txt'),
                           ('PUT', '/files/out/secret.txt'), ('PUT', '/files/passwd')]:
        body = b'x' if method == 'PUT' else None
        status, _, text = served.request(method, target, body)
        assert status in (403, 404), (method, target, status)
        assert b'keep out' not in text and b'root:' not in text
    assert sorted(e['name'] for e in dav.ls('', detail=True)) == ['real']
    assert _tree(served.root) == before
    assert (served.outside / 'secret.txt').read_text() == 'keep out\n'


# --- streaming ------------------------------------------------------------------

_SERVER_SCRIPT = """
import sys
from cerise_actors.web.dispatch import mount
from cerise_actors.web.files import make_files_app
from cerise_actors.web.server import HttpServer
server = HttpServer(mount(lambda e, s: [], '/files', make_files_app(sys.argv[1])),
                    '127.0.0.1', 0)
server.start()
print(server.port, flush=True)
sys.stdin.read()
server.stop()
"""


def _peak_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    raise AssertionError('no VmHWM')


def test_a_50_mb_file_streams_both_ways(tmp_path):
    size = 50 * 1024 * 1024
    source = tmp_path / 'big.bin'
    digest = hashlib.sha256()
    with open(source, 'wb') as f:
        block = os.urandom(1024 * 1024)
        for i in range(50):
            chunk = bytes([i]) + block[1:]
            digest.update(chunk)
            f.write(chunk)
    exchange = tmp_path / 'exchange'
    exchange.mkdir()
    proc = subprocess.Popen([sys.executable, '-c', _SERVER_SCRIPT, str(exchange)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            cwd=str(REPO_DIR))
    try:
        port = int(proc.stdout.readline())
        url = f'http://127.0.0.1:{port}/files'
        with _dav(url, timeout=120) as dav:
            dav.upload_fileobj(io.BytesIO(b'warm up'), 'warm/up.txt')
            dav.download_fileobj('warm/up.txt', io.BytesIO())
            baseline = _peak_kib(proc.pid)
            dav.upload_file(source, 'input/big/big.bin')
            assert (exchange / 'input' / 'big' / 'big.bin').stat().st_size == size
            got, length = hashlib.sha256(), 0
            with urllib.request.urlopen(f'{url}/input/big/big.bin', timeout=120) as resp:
                assert resp.headers['Content-Length'] == str(size)
                while True:
                    chunk = resp.read(1024 * 1024)
                    if not chunk:
                        break
                    got.update(chunk)
                    length += len(chunk)
            assert length == size and got.hexdigest() == digest.hexdigest()
            growth = _peak_kib(proc.pid) - baseline
        # Whole-file buffering would add at least 50 MiB. Streaming still costs
        # something: waitress queues up to outbuf_high_watermark (16 MiB) of
        # response per connection before it makes the app wait.
        assert growth < 32 * 1024, f'server peak memory grew by {growth} KiB for 50 MiB'
    finally:
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# --- the whole service, with the wiring of system.py ----------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_job_with_inputs_over_webdav_and_outputs_over_http(tmp_path):
    """The issue's end-to-end check, through the service's own wiring of /files.

    The port is chosen first because store-location-client must name it.
    """
    root = tmp_path / 'svc'
    root.mkdir()
    port = _free_port()
    files_url = f'http://127.0.0.1:{port}/files'
    data = service_config_dict(root)
    data['rest-service']['port'] = port
    data['client-file-exchange']['store-location-client'] = files_url
    config = service_config_from_dict(data, env={})
    exchange = config.exchange_service_dir
    with running_service(config, TEST_API_DIR, api_config=test_api_config(root)) as service, \
            _dav(files_url) as dav:
        base = service.base_url.rstrip('/')
        dav.upload_fileobj(io.BytesIO(wf.WC.encode()), 'input/webdav/wc.cwl')
        dav.upload_fileobj(io.BytesIO(b'over webdav\n'), 'input/webdav/data/in.txt')
        status, job, _ = http('POST', f'{base}/jobs', {
            'name': 'webdav', 'workflow': f'{files_url}/input/webdav/wc.cwl',
            'input': {'file': {'class': 'File',
                               'location': f'{files_url}/input/webdav/data/in.txt'}}})
        assert status == 201, job
        job_id = job['id']

        def finished():
            current = http('GET', f'{base}/jobs/{job_id}')[1]
            return current if current['state'] in FINAL else None
        done = wait_for(finished, timeout=120, message='the job to finish')
        assert done['state'] == 'Success', http('GET', f'{base}/jobs/{job_id}/log')[1]

        location = done['output']['output']['location']
        assert location.startswith(f'{files_url}/output/{job_id}/'), location
        with urllib.request.urlopen(location, timeout=30) as resp:
            assert resp.read().decode().split()[:3] == ['1', '2', '12']
        relative = location[len(files_url) + 1:]
        assert dav.exists(relative)
        assert any(e['type'] == 'file' for e in dav.ls(f'output/{job_id}', detail=True))

        assert http('DELETE', f'{base}/jobs/{job_id}')[0] == 204
        wait_for(lambda: not (exchange / 'output' / job_id).exists(), timeout=60,
                 message="the job's output folder to go")
        assert not dav.exists(f'output/{job_id}')
        assert http('GET', location)[0] == 404

        dav.remove('input/webdav')                   # a client removes what it uploaded
        assert not (exchange / 'input' / 'webdav').exists()
        assert not dav.exists('input/webdav')
        assert http('GET', f'{base}/jobs')[0] == 200  # /jobs still answers beside /files

