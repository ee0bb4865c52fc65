"""Small helpers shared by the tests: HTTP calls and waiting on conditions.

Plain urllib so the tests need nothing the service does not; every wait is
on a condition with a generous time-out, never a fixed sleep.
"""

import json
import os
import signal
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

FINAL = {'Success', 'Cancelled', 'PermanentFailure', 'TemporaryFailure', 'SystemError'}
TESTS_DIR = Path(__file__).resolve().parent
TEST_API_DIR = TESTS_DIR / 'api'
REPO_DIR = TESTS_DIR.parent


def http(method, url, body=None, raw=None, headers=None, timeout=30):
    """(status, parsed JSON or text, headers) of one request."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and 'Content-Type' not in (headers or {}):
        req.add_header('Content-Type', 'application/json')
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, text, hdrs = resp.status, resp.read().decode(), resp.headers
    except urllib.error.HTTPError as exc:
        status, text, hdrs = exc.code, exc.read().decode(), exc.headers
    if 'json' in (hdrs.get('Content-Type') or '') and text:
        return status, json.loads(text), hdrs
    return status, text, hdrs


def wait_for(condition, timeout=90.0, interval=0.05, message='condition'):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out after {timeout} s waiting for {message}')
        time.sleep(interval)


class Client:
    """A tiny REST client for the tests."""

    def __init__(self, base_url, exchange_dir):
        self.base = base_url.rstrip('/')
        self.exchange = Path(exchange_dir)

    def put_input(self, job_name, relpath, content):
        path = self.exchange / 'input' / job_name / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + '.uploading')  # replace atomically: a job
        tmp.write_bytes(content if isinstance(content, bytes) else content.encode())
        os.replace(tmp, path)  # may be reading the old one
        return path.as_uri()

    def submit(self, workflow_text, inputs=None, name='test', workflow_name=None):
        # the service reads the workflow when it stages the job, not when it is
        # submitted: each submission gets its own file, as a real client would
        workflow_name = workflow_name or f'workflow-{uuid.uuid4().hex[:8]}.cwl'
        url = self.put_input(name, workflow_name, workflow_text)
        body = {'name': name, 'workflow': url, 'input': inputs or {}}
        status, job, headers = http('POST', f'{self.base}/jobs', body)
        assert status == 201, job
        assert headers['Location'].endswith(f'/jobs/{job["id"]}')
        return job

    def job(self, job_id):
        status, job, _ = http('GET', f'{self.base}/jobs/{job_id}')
        return job if status == 200 else None

    def state(self, job_id):
        job = self.job(job_id)
        return job and job['state']

    def log(self, job_id):
        return http('GET', f'{self.base}/jobs/{job_id}/log')[1]

    def wait_state(self, job_id, states, timeout=120.0):
        states = {states} if isinstance(states, str) else set(states)
        return wait_for(
            lambda: (self.job(job_id) or {}).get('state') in states and self.job(job_id),
            timeout,
            message=f'job {job_id} to reach {states}',
        )

    def wait_final(self, job_id, timeout=120.0):
        return self.wait_state(job_id, FINAL, timeout)

    def cancel(self, job_id):
        return http('POST', f'{self.base}/jobs/{job_id}/cancel')

    def delete(self, job_id):
        return http('DELETE', f'{self.base}/jobs/{job_id}')

    def output_text(self, job, name):
        location = job['output'][name]['location']
        assert location.startswith('file://'), location
        return Path(urllib.request.url2pathname(location[len('file://') :])).read_text()


def kill_all(pids) -> None:
    """SIGKILL each of `pids`. Killing one (an sshd connection's child) can make
    another leave on its own before its turn: that is no error here."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def processes_mentioning(text):
    """PIDs of live (non-zombie) processes whose command line contains `text`."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/cmdline', 'rb') as f:
                cmdline = f.read().replace(b'\0', b' ').decode(errors='replace')
            with open(f'/proc/{entry}/stat') as f:
                state = f.read().rsplit(')', 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != 'Z':
            found.append(int(entry))
    return found
