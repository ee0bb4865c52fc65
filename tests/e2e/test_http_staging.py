"""End to end: workflows and inputs fetched over http(s), errors, and cancel during staging."""

import http.server
import threading

import pytest

from .. import workflows as wf


class _Files(http.server.BaseHTTPRequestHandler):
    files = {}
    hold = {}  # path -> threading.Event that must be set before answering
    requested = []

    def do_GET(self):
        self.requested.append(self.path)
        gate = self.hold.get(self.path)
        if gate is not None:
            gate.wait(60)
        if self.path == '/busy':
            self.send_error(503, 'try later')
            return
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def web():
    _Files.files, _Files.hold, _Files.requested = {}, {}, []
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{server.server_port}', _Files
    for gate in _Files.hold.values():
        gate.set()
    server.shutdown()
    server.server_close()


def test_workflow_and_input_over_http(client, web):
    base, files = web
    files.files['/wc.cwl'] = wf.WC.encode()
    files.files['/data/in.txt'] = b'over http\n'
    from ..helpers import http

    status, job, _ = http(
        'POST',
        f'{client.base}/jobs',
        {
            'name': 'web',
            'workflow': f'{base}/wc.cwl',
            'input': {'file': {'class': 'File', 'location': f'{base}/data/in.txt'}},
        },
    )
    assert status == 201
    done = client.wait_final(job['id'])
    assert done['state'] == 'Success', client.log(job['id'])
    assert client.output_text(done, 'output').split()[:3] == ['1', '2', '10']


def test_missing_http_input_is_a_permanent_failure(client, web):
    base, _ = web
    job = client.submit(wf.WC, {'file': {'class': 'File', 'location': f'{base}/absent.txt'}})
    done = client.wait_final(job['id'])
    assert done['state'] == 'PermanentFailure'
    assert '404' in client.log(job['id'])


def test_unavailable_http_input_is_a_temporary_failure(client, web):
    base, _ = web
    job = client.submit(wf.WC, {'file': {'class': 'File', 'location': f'{base}/busy'}})
    done = client.wait_final(job['id'])
    assert done['state'] == 'TemporaryFailure'
    assert '503' in client.log(job['id'])


def test_cancel_during_staging_stops_before_the_next_file(client, web):
    base, files = web
    for name in ('a', 'b'):
        files.files[f'/{name}.txt'] = name.encode()
    gate = files.hold['/a.txt'] = threading.Event()
    inputs = {
        'files': [
            {'class': 'File', 'location': f'{base}/a.txt'},
            {'class': 'File', 'location': f'{base}/b.txt'},
        ]
    }
    job = client.submit(wf.FILE_ARRAY, inputs)
    from ..helpers import wait_for

    wait_for(lambda: '/a.txt' in files.requested, message='staging to begin')
    status, body, _ = client.cancel(job['id'])
    assert status == 200 and body['state'] == 'Waiting'
    gate.set()
    done = client.wait_final(job['id'])
    assert done['state'] == 'Cancelled', client.log(job['id'])
    assert '/b.txt' not in files.requested
