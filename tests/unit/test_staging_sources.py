"""Reading what users point at: exchange files, and http(s) URLs served on loopback."""

import http.server
import threading
import urllib.error

import pytest

from cerise_actors.errors import InvalidInput, SourceUnavailable
from cerise_actors.staging import sources
from cerise_actors.staging.exchange import Exchange


class Handler(http.server.BaseHTTPRequestHandler):
    """GET /<status>/<anything>: answers that status; /200/ with a body, and
    /stall/ sends part of its body and then waits for `release`."""

    release = threading.Event()

    def do_GET(self):
        kind = self.path.split('/')[1]
        if kind == 'stall':
            self.send_response(200)
            self.send_header('Content-Length', '100')
            self.end_headers()
            self.wfile.write(b'class: ')
            self.wfile.flush()
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


def test_an_exchange_file_is_read_with_its_size(exchange):
    url = f'{exchange.client_url}/input/wf.cwl'
    with sources.open_source(url, exchange) as (stream, size):
        assert (stream.read(), size) == (b'class: Workflow\n', 16)
    assert sources.read_workflow(url, exchange) == b'class: Workflow\n'


@pytest.mark.parametrize('name,what', [('missing.cwl', 'does not exist'), ('folder', 'folder')])
def test_a_missing_file_or_a_folder_is_refused(exchange, name, what):
    url = f'{exchange.client_url}/input/{name}'
    with pytest.raises(InvalidInput, match=what):
        sources.read_workflow(url, exchange)


def test_an_http_source_is_fetched_with_its_length(exchange, server):
    with sources.open_source(f'{server}/200/wf.cwl', exchange) as (stream, size):
        assert (stream.read(), size) == (b'cwlVersion: v1.0\n', 17)


@pytest.mark.parametrize(
    'status,error', [(404, InvalidInput), (403, InvalidInput), (503, SourceUnavailable)]
)
def test_http_errors_are_permanent_for_4xx_and_temporary_for_5xx(exchange, server, status, error):
    with pytest.raises(error, match=f'HTTP {status}'):
        sources.read_workflow(f'{server}/{status}/wf.cwl', exchange)


@pytest.mark.parametrize('status', [408, 429])
def test_time_out_and_too_many_requests_are_temporary(exchange, server, status):
    with pytest.raises(SourceUnavailable, match=f'HTTP {status}'):
        sources.read_workflow(f'{server}/{status}/wf.cwl', exchange)


def test_a_refused_connection_is_temporary(exchange, monkeypatch):
    def refuse(url, timeout):
        assert timeout == sources.HTTP_TIMEOUT
        raise urllib.error.URLError(ConnectionRefusedError(111, 'Connection refused'))

    monkeypatch.setattr(sources.urllib.request, 'urlopen', refuse)
    with pytest.raises(SourceUnavailable, match='cannot connect'):
        sources.read_workflow('https://example.org/wf.cwl', exchange)


def test_a_time_out_while_reading_a_workflow_is_temporary(exchange, server, monkeypatch):
    monkeypatch.setattr(sources, 'HTTP_TIMEOUT', 0.5)
    with pytest.raises(SourceUnavailable, match='stall/wf.cwl: reading it failed'):
        sources.read_workflow(f'{server}/stall/wf.cwl', exchange)


def test_an_oversized_workflow_is_refused(exchange, monkeypatch):
    monkeypatch.setattr(sources, 'MAX_WORKFLOW_BYTES', 8)
    with pytest.raises(InvalidInput, match='larger than 8 bytes'):
        sources.read_workflow(f'{exchange.client_url}/input/wf.cwl', exchange)


def test_directory_inputs_must_be_existing_exchange_folders(exchange, server):
    folder = exchange.service_dir / 'input' / 'folder'
    assert sources.local_directory(f'{exchange.client_url}/input/folder', exchange) == folder
    with pytest.raises(InvalidInput, match='must be in the file exchange area'):
        sources.local_directory(f'{server}/200/folder', exchange)
    with pytest.raises(InvalidInput, match='is not an existing folder'):
        sources.local_directory(f'{exchange.client_url}/input/wf.cwl', exchange)
