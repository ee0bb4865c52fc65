"""The client's HTTP layer and the Service's error mapping, against a scripted server.

The stub server (`stub`, also used by test_client_job.py) answers each
request from a table and records what it received, body and framing
included, so the tests see exactly what goes over the wire.
"""

import http.server
import io
import json
import os
import threading
import time

import pytest

from cerise_actors.client import (
    DownloadFailed,
    InvalidJob,
    JobNotFound,
    Service,
    ServiceError,
    ServiceUnreachable,
    UploadFailed,
)
from cerise_actors.client.http import Http, remaining_size
from cerise_actors.client.local import free_port


class Stub:
    """Answers (method, path) from `routes`: a (status, body) pair, a list of them
    (used in turn, the last one repeated) or a function of the request."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), self._handler())
        self.server.handle_error = lambda request, address: None  # a client that gave up
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def on(self, method, path, *answers):
        self.routes[(method, path)] = list(answers)

    def _answer(self, method, path, request):
        answers = self.routes.get((method, path))
        if answers is None:
            return 404, {'title': 'Not found', 'description': f'there is nothing at {path}'}
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return answer(request) if callable(answer) else answer

    def _handler(self):
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def _body(self):
                if self.headers.get('Transfer-Encoding') == 'chunked':
                    data = b''
                    while True:
                        size = int(self.rfile.readline().strip(), 16)
                        chunk = self.rfile.read(size + 2)[:-2]
                        if size == 0:
                            return data, 'chunked'
                        data += chunk
                length = int(self.headers.get('Content-Length') or 0)
                return self.rfile.read(length), f'length {length}'

            def _serve(self):
                body, framing = self._body()
                request = {
                    'method': self.command,
                    'path': self.path,
                    'body': body,
                    'framing': framing,
                    'headers': dict(self.headers),
                }
                stub.requests.append(request)
                status, payload = stub._answer(self.command, self.path, request)
                if isinstance(payload, (dict, list)):
                    data, kind = json.dumps(payload).encode(), 'application/json'
                elif payload == 'HANG':
                    time.sleep(1.5)
                    data, kind = b'late', 'text/plain'
                else:
                    data, kind = (payload or b''), 'text/plain'
                    data = data.encode() if isinstance(data, str) else data
                self.send_response(status)
                self.send_header('Content-Type', kind)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_MKCOL = _serve

        return Handler

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    server = Stub()
    yield server
    server.close()


def job_json(job_id='j1', state='Waiting', name='n', output=None, workflow='w'):
    return {
        'id': job_id,
        'name': name,
        'workflow': workflow,
        'input': {},
        'state': state,
        'output': output or {},
        'log': f'/jobs/{job_id}/log',
    }


# --- uploads --------------------------------------------------------------------------
def test_put_sends_files_with_a_length_and_text_streams_chunked(stub, tmp_path):
    stub.on('PUT', '/files/a/data.bin', (201, b''))
    stub.on('PUT', '/files/a/text.txt', (201, b''))
    area = Service(stub.url).files
    big = tmp_path / 'data.bin'
    big.write_bytes(os.urandom(3 * 1024 * 1024 + 5))
    assert area.put('a/data.bin', big) == f'{stub.url}/files/a/data.bin'
    area.put('a/text.txt', io.StringIO('h\u00e9llo'))
    sent_file, sent_text = stub.requests
    assert sent_file['framing'] == f'length {big.stat().st_size}'
    assert sent_file['body'] == big.read_bytes()
    assert sent_text['framing'] == 'chunked' and sent_text['body'] == 'h\u00e9llo'.encode()


def test_put_of_a_pipe_streams_without_knowing_its_size(stub):
    stub.on('PUT', '/files/p', (201, b''))
    stub.on('PUT', '/files/in/q', (201, b''))
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, 'wb') as writer:
        writer.write(b'x' * 50_000)
    with os.fdopen(read_end, 'rb') as reader:
        assert remaining_size(reader) is None
        Service(stub.url).files.put('p', reader)
    read_end, write_end = os.pipe()
    os.close(write_end)
    with os.fdopen(read_end, 'rb') as reader:
        Service(stub.url).files.put('in/q', reader)
    assert [r['path'] for r in stub.requests][-2:] == ['/files/in/', '/files/in/q']
    put = [request for request in stub.requests if request['method'] == 'PUT']
    assert [r['path'] for r in stub.requests if r['method'] == 'MKCOL'] == ['/files/in/']
    assert put[0]['framing'] == 'chunked' and put[0]['body'] == b'x' * 50_000


def test_put_creates_parent_folders_after_a_409_and_retries(stub):
    stub.on('PUT', '/files/input/j/f.txt', (409, b'parent missing'), (201, b''))
    stub.on('MKCOL', '/files/input/', (405, b''))  # already there: fine
    stub.on('MKCOL', '/files/input/j/', (201, b''))
    Service(stub.url).files.put('input/j/f.txt', io.BytesIO(b'data'))
    assert [(r['method'], r['path']) for r in stub.requests] == [
        ('PUT', '/files/input/j/f.txt'),
        ('MKCOL', '/files/input/'),
        ('MKCOL', '/files/input/j/'),
        ('PUT', '/files/input/j/f.txt'),
    ]
    assert stub.requests[-1]['body'] == b'data'


def test_put_without_a_file_area_says_what_is_missing(stub):
    with pytest.raises(UploadFailed) as caught:
        Service(stub.url).files.put('input/x', b'data')
    message = str(caught.value)
    assert f'{stub.url}/files/input/x' in message and 'WebDAV' in message
    assert caught.value.status == 404


# --- the job API's answers ---------------------------------------------------------------
def test_job_not_found_and_invalid_job_carry_the_service_words(stub):
    stub.on(
        'GET',
        '/jobs/x',
        (404, {'title': 'Job not found', 'description': 'there is no job with id x'}),
    )
    stub.on(
        'POST',
        '/jobs',
        (400, {'title': 'Invalid job description', 'description': '"name" must be a string'}),
    )
    service = Service(stub.url)
    with pytest.raises(JobNotFound) as missing:
        service.get_job('x')
    assert missing.value.job_id == 'x' and 'job x not found' in str(missing.value)
    assert missing.value.description == 'there is no job with id x'
    job = service.create_job('n')
    job._workflow = 'http://example.org/wf.cwl'
    with pytest.raises(InvalidJob) as refused:
        job.run()
    assert str(refused.value) == 'the service refused the job: "name" must be a string'


def test_not_a_cerise_service(stub):
    stub.on('GET', '/jobs', (200, '<html>hello</html>'))
    with pytest.raises(ServiceError) as caught:
        Service(stub.url).list_jobs()
    assert 'cerise-actors service' in str(caught.value)
    with pytest.raises(ServiceError) as caught:  # no such route: not "job not found"
        Service(stub.url + '/wrong').get_job('j1')
    assert not isinstance(caught.value, JobNotFound) and 'does not exist' in str(caught.value)


def test_unavailable_service(stub):
    stub.on(
        'GET',
        '/jobs',
        (503, {'title': 'Service unavailable', 'description': 'the service is shutting down'}),
    )
    with pytest.raises(ServiceError) as caught:
        Service(stub.url).list_jobs()
    assert caught.value.status == 503 and 'shutting down' in str(caught.value)


def test_unreachable_and_silent_services(stub):
    url = f'http://127.0.0.1:{free_port()}'
    with pytest.raises(ServiceUnreachable) as caught:
        Service(url).list_jobs()
    assert str(caught.value) == f'cannot reach {url}: connection refused'
    stub.on('GET', '/jobs', (200, 'HANG'))
    with pytest.raises(ServiceUnreachable) as caught:
        Service(stub.url, timeout=0.3).list_jobs()
    assert 'did not answer within 0.3 s' in str(caught.value)
    with pytest.raises(ValueError):
        Service('127.0.0.1:29593')


def test_loopback_ignores_proxy_settings(stub, monkeypatch):
    monkeypatch.setenv('http_proxy', 'http://proxy.invalid:3128')
    monkeypatch.setenv('no_proxy', '')
    stub.on('GET', '/jobs', (200, [job_json()]))
    assert [job.id for job in Service(stub.url).list_jobs()] == ['j1']


# --- downloads -------------------------------------------------------------------------
def test_stream_and_missing_downloads(stub, tmp_path):
    stub.on('GET', '/files/output/j1/out.txt', (200, b'0123456789'))
    http = Http()
    assert list(http.stream(f'{stub.url}/files/output/j1/out.txt', chunk_size=4)) == [
        b'0123',
        b'4567',
        b'89',
    ]
    with pytest.raises(DownloadFailed) as caught:
        list(http.stream(f'{stub.url}/files/output/j1/gone.txt'))
    assert caught.value.status == 404 and 'gone.txt' in str(caught.value)
    with pytest.raises(DownloadFailed):
        list(http.stream((tmp_path / 'nothing').as_uri()))
