"""Reading what users point at: exchange files, and http(s) URLs served on loopback."""

import http.server
import os
import socket
import threading
import time

import pytest

from cerise_actors.boundary.network import DenyList
from cerise_actors.errors import InvalidInput, SourceUnavailable, StagingAborted, StopReason
from cerise_actors.staging import sources
from cerise_actors.staging.bounded import SourceLimits
from cerise_actors.staging.exchange import Exchange
from cerise_actors.staging.sources import Sources

#: the test servers listen on loopback, which the default limits.fetch-deny refuses
LOOPBACK = SourceLimits(deny=DenyList())


class Handler(http.server.BaseHTTPRequestHandler):
    """GET /<status>/<anything>: answers that status; /200/ with a body;
    /stall/ sends part of its body and then waits for `release`; /trickle/
    sends a byte every 0.2 s; /silent/ answers nothing until `release`;
    /short/ announces 100 bytes and sends 7."""

    release = threading.Event()

    def do_GET(self):
        kind = self.path.split('/')[1]
        if kind == 'silent':
            self.release.wait(30)
            return
        if kind in ('stall', 'trickle', 'short'):
            self.send_response(200)
            self.send_header('Content-Length', '100')
            self.end_headers()
            self.wfile.write(b'class: ')
            self.wfile.flush()
            if kind == 'trickle':
                while not self.release.wait(0.2):
                    self.wfile.write(b'x')
                    self.wfile.flush()
            elif kind == 'stall':
                self.release.wait(30)
            return
        status = int(kind)
        body = b'cwlVersion: v1.0\n' if status == 200 else b'no'
        self.send_response(status)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def server():
    """One loopback HTTP server for the module (stopping one takes half a second)."""
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{httpd.server_port}'
    Handler.release.set()
    httpd.shutdown()
    httpd.server_close()
    Handler.release.clear()


@pytest.fixture
def exchange(tmp_path):
    made = Exchange(tmp_path / 'x', (tmp_path / 'x').as_uri())
    made.ensure_layout()
    (made.service_dir / 'input' / 'wf.cwl').write_text('class: Workflow\n')
    (made.service_dir / 'input' / 'folder').mkdir()
    return made


def read_all(stream) -> bytes:
    data = b''
    while chunk := stream.read(1 << 20):
        data += chunk
    return data


def test_an_exchange_file_is_read_with_its_size(exchange):
    url = f'{exchange.client_url}/input/wf.cwl'
    with Sources(exchange).open(url) as stream:
        assert (read_all(stream), stream.size) == (b'class: Workflow\n', 16)
    assert Sources(exchange).read_workflow(url) == b'class: Workflow\n'


@pytest.mark.parametrize('name,what', [('missing.cwl', 'does not exist'), ('folder', 'folder')])
def test_a_missing_file_or_a_folder_is_refused(exchange, name, what):
    url = f'{exchange.client_url}/input/{name}'
    with pytest.raises(InvalidInput, match=what):
        Sources(exchange).read_workflow(url)


def test_a_fifo_is_refused_without_blocking(exchange):
    fifo = exchange.service_dir / 'input' / 'pipe.cwl'
    os.mkfifo(fifo)  # nobody writes: opening it for reading would block
    with pytest.raises(InvalidInput, match='is a named pipe .FIFO.; only regular files'):
        Sources(exchange).read_workflow(f'{exchange.client_url}/input/pipe.cwl')


def test_a_nul_in_a_location_is_refused_clearly(exchange):
    for url in (f'{exchange.client_url}/input/a\x00b', f'{exchange.client_url}/input/a%00b'):
        with pytest.raises(InvalidInput, match='NUL character, which no file name can hold'):
            Sources(exchange).read_workflow(url)


def test_a_file_larger_than_the_limit_is_refused(exchange):
    limits = SourceLimits(max_bytes=8)
    with pytest.raises(InvalidInput, match=r'larger than 8 bytes \(limits.source-bytes\)'):
        with Sources(exchange, limits).open(f'{exchange.client_url}/input/wf.cwl') as stream:
            read_all(stream)


def test_a_file_that_changes_while_it_is_copied_is_not_taken_truncated(exchange):
    path = exchange.service_dir / 'input' / 'big.bin'
    path.write_bytes(b'x' * (3 << 20))
    with Sources(exchange).open(f'{exchange.client_url}/input/big.bin') as stream:
        first = stream.read(1 << 20)
        with open(path, 'r+b') as f:  # as WsgiDAV's PUT did: truncate in place
            f.truncate(100)
        with pytest.raises(SourceUnavailable, match='changed while it was being copied'):
            read_all(stream)
    assert len(first) == 1 << 20


def test_an_http_source_is_fetched_with_its_length(exchange, server):
    with Sources(exchange, LOOPBACK).open(f'{server}/200/wf.cwl') as stream:
        assert (read_all(stream), stream.size) == (b'cwlVersion: v1.0\n', 17)


@pytest.mark.parametrize(
    'status,error', [(404, InvalidInput), (403, InvalidInput), (503, SourceUnavailable)]
)
def test_http_errors_are_permanent_for_4xx_and_temporary_for_5xx(exchange, server, status, error):
    with pytest.raises(error, match=f'HTTP {status}'):
        Sources(exchange, LOOPBACK).read_workflow(f'{server}/{status}/wf.cwl')


@pytest.mark.parametrize('status', [408, 429])
def test_time_out_and_too_many_requests_are_temporary(exchange, server, status):
    with pytest.raises(SourceUnavailable, match=f'HTTP {status}'):
        Sources(exchange, LOOPBACK).read_workflow(f'{server}/{status}/wf.cwl')


def test_a_refused_connection_is_temporary(exchange):
    with socket.socket() as closed:
        closed.bind(('127.0.0.1', 0))
        port = closed.getsockname()[1]
    with pytest.raises(SourceUnavailable, match=r'cannot connect \(.*refused'):
        Sources(exchange, LOOPBACK).read_workflow(f'http://127.0.0.1:{port}/wf.cwl')


def test_a_silent_server_is_told_apart_from_an_unreachable_one(exchange, server):
    limits = SourceLimits(silence=0.5, deny=DenyList())
    with pytest.raises(SourceUnavailable, match='accepted the connection but did not answer'):
        Sources(exchange, limits).read_workflow(f'{server}/silent/wf.cwl')


def test_a_time_out_while_reading_a_workflow_is_temporary(exchange, server):
    limits = SourceLimits(silence=0.5, deny=DenyList())
    with pytest.raises(SourceUnavailable, match='stall/wf.cwl: reading it failed'):
        Sources(exchange, limits).read_workflow(f'{server}/stall/wf.cwl')


def test_a_connection_cut_short_is_temporary(exchange, server):
    with pytest.raises(SourceUnavailable, match='short/wf.cwl'):
        Sources(exchange, LOOPBACK).read_workflow(f'{server}/short/wf.cwl')


def test_a_trickling_source_ends_at_the_deadline(exchange, server):
    """A byte every 0.2 s never trips the per-read time-out; the overall
    deadline stops it."""
    limits = SourceLimits(seconds=1.5, deny=DenyList())
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match=r'not read within 1.5 s \(limits.source-seconds\)'):
        Sources(exchange, limits).read_workflow(f'{server}/trickle/wf.cwl')
    assert time.monotonic() - started < 10


@pytest.mark.parametrize('path', ['stall', 'silent'])
@pytest.mark.parametrize('reason', [StopReason.CANCEL, StopReason.SHUTDOWN])
def test_a_stop_interrupts_a_blocked_read_within_a_second_or_two(exchange, server, path, reason):
    """The per-read time-out is 30 s; a cancel or shutdown does not wait for it."""
    asked = time.monotonic() + 0.5
    sources_ = Sources(
        exchange, LOOPBACK, should_stop=lambda: reason if time.monotonic() > asked else None
    )
    with pytest.raises(StagingAborted) as info:
        sources_.read_workflow(f'{server}/{path}/wf.cwl')
    assert info.value.reason is reason
    assert time.monotonic() - asked < 5


def test_an_oversized_workflow_is_refused(exchange, monkeypatch):
    monkeypatch.setattr(sources, 'MAX_WORKFLOW_BYTES', 8)
    with pytest.raises(InvalidInput, match='larger than 8 bytes'):
        Sources(exchange).read_workflow(f'{exchange.client_url}/input/wf.cwl')


def test_directory_inputs_must_be_existing_exchange_folders(exchange, server):
    assert Sources(exchange).directory(f'{exchange.client_url}/input/folder') == 'input/folder'
    with pytest.raises(InvalidInput, match='must be in the file exchange area'):
        Sources(exchange).directory(f'{server}/200/folder')
    with pytest.raises(InvalidInput, match='is not an existing folder'):
        Sources(exchange).directory(f'{exchange.client_url}/input/wf.cwl')


def test_a_stop_after_a_redirect_touches_only_this_transfers_connection(exchange, monkeypatch):
    """The first leg of a redirect is closed, and its descriptor number may be
    taken at once by another connection of the service (another job's
    download, an HTTP client); a cancel must not shut that one down."""
    import http.client
    import socketserver

    class Redirecting(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == '/a':
                self.send_response(302)
                self.send_header('Location', '/b')
                self.send_header('Content-Length', '0')
                self.end_headers()
                return
            self.send_response(200)
            self.send_header('Content-Length', '1000000')
            self.end_headers()
            for _ in range(100):
                try:
                    self.wfile.write(b'x')
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.1)

        def log_message(self, *args):
            pass

    server = socketserver.ThreadingTCPServer(('127.0.0.1', 0), Redirecting)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    other = socket.create_server(('127.0.0.1', 0))
    victim = {}
    connect = http.client.HTTPConnection.connect

    def connect_after_another(self):
        victim['count'] = victim.get('count', 0) + 1
        if victim['count'] == 2:  # right after the first leg was closed
            victim['client'] = socket.create_connection(other.getsockname())
            victim['peer'] = other.accept()[0]
        connect(self)

    monkeypatch.setattr(http.client.HTTPConnection, 'connect', connect_after_another)
    asked = time.monotonic() + 1.0
    cancelling = Sources(
        exchange, LOOPBACK, should_stop=lambda: time.monotonic() > asked and StopReason.CANCEL
    )
    url = f'http://127.0.0.1:{server.server_address[1]}/a'
    try:
        with pytest.raises(StagingAborted):
            cancelling.read_workflow(url)
        victim['peer'].sendall(b'hello')
        victim['client'].settimeout(10)
        assert victim['client'].recv(10) == b'hello'  # not shut down by the cancel
    finally:
        server.shutdown()
        server.server_close()
        other.close()
        for sock in ('client', 'peer'):
            if sock in victim:
                victim[sock].close()
