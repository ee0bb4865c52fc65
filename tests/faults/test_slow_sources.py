"""Slow and stuck sources hold up nobody but their own job.

A loopback server sends headers and then one byte every 0.3 s, for ever:
no per-read time-out fires. Jobs whose workflow comes from it stay in
StagingIn, yet other jobs are staged and run, cancel and delete act within
seconds, and the service stops promptly. Sources that could block for ever
(a FIFO in a Directory input) or that are not names at all (a NUL) end the
job with a message saying so.
"""

import http.server as http_server
import os
import threading
import time

import pytest

from .. import workflows as wf
from ..helpers import http, wait_for


class Trickle(http_server.BaseHTTPRequestHandler):
    stop = threading.Event()

    def do_GET(self):
        self.send_response(200)
        self.send_header('Content-Length', str(1 << 20))
        self.end_headers()
        while not self.stop.wait(0.3):
            try:
                self.wfile.write(b'#')
                self.wfile.flush()
            except OSError:
                return

    def log_message(self, *args):
        pass


@pytest.fixture
def trickle():
    server = http_server.ThreadingHTTPServer(('127.0.0.1', 0), Trickle)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{server.server_port}'
    Trickle.stop.set()
    server.shutdown()
    server.server_close()
    Trickle.stop.clear()


def submit_url(service, url, name='slow'):
    status, job, _ = http('POST', f'{service.base_url}/jobs', {'name': name, 'workflow': url})
    assert status == 201, job
    return job['id']


def test_stuck_sources_do_not_hold_up_other_jobs(service, trickle):
    client = service.client
    stuck = [submit_url(service, f'{trickle}/wf{i}.cwl') for i in range(3)]  # > 2 stagers
    for job_id in stuck:
        client.wait_state(job_id, 'Waiting', timeout=30)  # StagingIn shows as Waiting
    quick = client.submit(wf.ECHO, {'text': 'not held up'})
    done = client.wait_final(quick['id'], timeout=120)
    assert done['state'] == 'Success', client.log(quick['id'])
    assert all('Staging in' in client.log(job_id) for job_id in stuck)


def test_cancel_and_delete_interrupt_a_stuck_transfer_within_seconds(service, trickle):
    client = service.client
    cancelled, deleted = (submit_url(service, f'{trickle}/{n}.cwl') for n in ('c', 'd'))
    for job_id in (cancelled, deleted):
        wait_for(lambda j=job_id: 'Staging in' in client.log(j), 30, message='staging')
    asked = time.monotonic()
    assert client.cancel(cancelled)[0] == 200
    assert client.delete(deleted)[0] == 204
    assert client.wait_state(cancelled, 'Cancelled', timeout=30)
    wait_for(lambda: client.job(deleted) is None, 30, message='the deleted job to go')
    assert time.monotonic() - asked < 10
    status, jobs, _ = http('GET', f'{service.base_url}/jobs')
    assert deleted not in {job['id'] for job in jobs}


def test_the_service_stops_promptly_with_stuck_transfers(make_service, trickle):
    service = make_service()
    stuck = [submit_url(service, f'{trickle}/wf{i}.cwl') for i in range(3)]
    for job_id in stuck:
        wait_for(lambda j=job_id: 'Staging in' in service.client.log(j), 30, message='staging')
    started = time.monotonic()
    service.stop()
    assert time.monotonic() - started < 15
    service.stop()  # the fixture stops it again: harmless


def test_a_fifo_inside_a_directory_input_fails_the_job_clearly(service):
    client = service.client
    folder = client.exchange / 'input' / 'fifo' / 'folder'
    folder.mkdir(parents=True)
    (folder / 'ok.txt').write_text('fine\n')
    os.mkfifo(folder / 'pipe')  # nobody ever writes to it
    workflow = wf.single_step('test/hostname.cwl', inputs='{d: Directory}', in_map='{}', extra='')
    job = client.submit(workflow, {'d': {'class': 'Directory', 'location': folder.as_uri()}})
    done = client.wait_final(job['id'], timeout=60)
    log = client.log(job['id'])
    assert done['state'] == 'PermanentFailure', log
    assert 'is a named pipe (FIFO); only regular files can be inputs' in log


def test_a_nul_in_the_workflow_url_fails_the_job_clearly(service):
    job_id = submit_url(service, f'{service.client.exchange.as_uri()}/input/a\u0000b.cwl')
    done = service.client.wait_final(job_id, timeout=60)
    log = service.client.log(job_id)
    assert done['state'] == 'PermanentFailure', log
    assert 'NUL character' in log
