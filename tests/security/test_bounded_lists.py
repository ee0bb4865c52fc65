"""Job lists stay small in memory however large the jobs are (issue 18).

With 150 jobs of 2 MB input each (each POST /jobs within the body limit),
one GET /jobs was a 300 MB answer built whole in one ask of the store: the
service grew from 200 MB to 1.3 GB, six lists at once took it to 2.5 GB, and
everyone else got 503 for 20 s. Now the lists are written as the store hands
them over, a small page at a time (web/paging.py, store/pages.py).

Runs the real command (`python -m cerise_actors serve`) in a subprocess, so
its memory is the service's alone; the jobs name an unreadable workflow and
end PermanentFailure at stage-in, keeping their input. The memory bound is
generous for a noisy machine (the streamed lists add tens of MiB) and still
far below what the old lists took.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

import pytest
import yaml

from ..helpers import REPO_DIR, TEST_API_DIR, http, processes_mentioning, wait_for

JOBS = 150
#: a string this long keeps each POST /jobs body just under its 2 MiB limit
INPUT_BYTES = 2_000_000
READERS = 6
#: more than the server's threads (limits.http-threads, 8)
SLOW_READERS = 10
#: MiB the service may grow by while six lists of 300 MB are read at once
GROWTH_BOUND = 300
#: seconds GET /jobs/{id} may take beside a list being written, and beside
#: twelve (before: 503 after 20 s, the store busy with one whole list after another)
QUICK = 3.0
BUSY_QUICK = 10.0


class Serve:
    """`cerise-actors serve` in a folder of its own, on a free loopback port."""

    def __init__(self, root: Path):
        self.root = root
        shutil.copytree(TEST_API_DIR, root / 'api')
        (root / 'config.yml').write_text(
            yaml.safe_dump(
                {
                    'database': {'file': 'run/cerise.db'},
                    'logging': {'file': 'run/cerise.log', 'level': 'WARNING'},
                    'pidfile': 'run/cerise.pid',
                    'client-file-exchange': {'store-location-service': 'run/files'},
                    'rest-service': {'hostname': '127.0.0.1', 'port': 0},
                }
            )
        )
        out = open(root / 'serve.out', 'wb')
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'cerise_actors', 'serve', '--config', 'config.yml']
            + ['--api', 'api'],
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONPATH=str(REPO_DIR), CERISE_AUTH='none'),  # tests/auth
        )
        out.close()
        url_file = root / 'run' / 'cerise.url'
        wait_for(lambda: url_file.exists() or self.proc.poll() is not None, 120, message='serve')
        assert self.proc.poll() is None, (root / 'serve.out').read_text()
        self.url = url_file.read_text().strip()
        self.port = int(self.url.rsplit(':', 1)[1])

    def rss_mib(self, field: str = 'VmRSS') -> float:
        for line in Path(f'/proc/{self.proc.pid}/status').read_text().splitlines():
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024
        raise AssertionError(f'no {field}')

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(60)


@pytest.fixture(scope='module')
def big_jobs(tmp_path_factory):
    """The service with JOBS ended jobs of INPUT_BYTES of input each, and their ids."""
    root = tmp_path_factory.mktemp('bounded-lists')
    serve = Serve(root)
    try:
        ids = []
        for i in range(JOBS):
            body = {
                'name': f'big{i}',
                'workflow': 'x',
                'input': {'blob': f'{i:04}' * (INPUT_BYTES // 4)},
            }
            status, job, _ = http('POST', f'{serve.url}/jobs', body, timeout=60)
            assert status == 201, job
            ids.append(job['id'])
        waiting = f'{serve.url}/jobs?state=Waiting&state=Running&limit=1'
        wait_for(lambda: http('GET', waiting, timeout=60)[1] == [], 300, 0.5, 'the jobs to end')
        yield serve, ids
    finally:
        serve.stop()
        for pid in processes_mentioning(str(root)):
            os.kill(pid, signal.SIGKILL)


def _read(port: int, path: str, digest=None, block: int = 1 << 20):
    """(status, length) of GET `path`, read in blocks (fed to `digest`), never held whole."""
    conn = HTTPConnection('127.0.0.1', port, timeout=120)
    try:
        conn.request('GET', path)
        resp = conn.getresponse()
        length = 0
        while True:
            chunk = resp.read(block)
            if not chunk:
                return resp.status, length
            length += len(chunk)
            if digest is not None:
                digest.update(chunk)
    finally:
        conn.close()


def test_the_streamed_list_is_the_json_of_every_job_in_the_old_shape(big_jobs):
    serve, ids = big_jobs
    expected = hashlib.sha256()
    for i, job_id in enumerate(ids):  # GET /jobs/{id} is job_json; the list was their json.dumps
        status, job, _ = http('GET', f'{serve.url}/jobs/{job_id}')
        assert status == 200 and job['state'] == 'PermanentFailure'
        expected.update((', ' if i else '[').encode() + json.dumps(job).encode())
    expected.update(b']')
    got = hashlib.sha256()
    status, length = _read(serve.port, '/jobs', got)
    assert status == 200 and length > JOBS * INPUT_BYTES
    assert got.hexdigest() == expected.hexdigest()


def test_a_page_of_big_jobs_names_the_next_one(big_jobs):
    serve, ids = big_jobs
    status, page, headers = http('GET', f'{serve.url}/jobs?limit=2', timeout=60)
    assert status == 200 and [job['id'] for job in page] == ids[:2]
    cursor = headers['Cerise-Next-Cursor']
    status, page, headers = http('GET', f'{serve.url}/jobs?limit=2&cursor={cursor}', timeout=60)
    assert [job['id'] for job in page] == ids[2:4]


def test_a_job_is_answered_while_a_slow_reader_holds_the_list_open(big_jobs):
    serve, ids = big_jobs
    slow = socket.create_connection(('127.0.0.1', serve.port), timeout=60)
    try:
        slow.sendall(b'GET /jobs HTTP/1.1\r\nHost: test\r\n\r\n')
        time.sleep(0.2)  # the list is being written (before: being built, in one ask)
        for job_id in (ids[0], ids[-1], ids[len(ids) // 2]):
            _get_quickly(serve, job_id)
        assert slow.recv(4096).startswith(b'HTTP/1.1 200')
        for job_id in (ids[1], ids[-2]):  # the list stays open, unread
            _get_quickly(serve, job_id)
        status, runs, _ = http('GET', f'{serve.url}/ga4gh/wes/v1/runs?page_size=3', timeout=30)
        assert status == 200 and len(runs['runs']) == 3
    finally:
        slow.close()


def _get_quickly(serve, job_id):
    started = time.monotonic()
    status, job, _ = http('GET', f'{serve.url}/jobs/{job_id}', timeout=30)
    assert status == 200 and job['id'] == job_id
    took = time.monotonic() - started
    assert took < QUICK, f'GET /jobs/{{id}} took {took:.1f} s beside a list being written'


def test_six_lists_at_once_keep_the_service_small(big_jobs):
    """Six GET /jobs at once, then six GET /runs (six lists fill the list slots)."""
    serve, ids = big_jobs
    _read(serve.port, '/jobs')  # once, so that what every list needs is there
    before = serve.rss_mib()
    runs_path = f'/ga4gh/wes/v1/runs?page_size={JOBS}'
    results = {'/jobs': [], runs_path: []}
    answers = []  # (status, seconds) of GET /jobs/{id} meanwhile
    with _Peak(serve) as peak:
        for path in results:
            readers = [
                threading.Thread(target=lambda p=path: results[p].append(_read(serve.port, p)))
                for _ in range(READERS)
            ]
            for reader in readers:
                reader.start()
            while any(reader.is_alive() for reader in readers):
                started = time.monotonic()
                status = http('GET', f'{serve.url}/jobs/{ids[7]}', timeout=60)[0]
                answers.append((status, time.monotonic() - started))
                time.sleep(0.2)
    jobs, runs = results['/jobs'], results[runs_path]
    assert jobs == [(200, jobs[0][1])] * READERS and jobs[0][1] > JOBS * INPUT_BYTES, jobs
    assert runs == [(200, runs[0][1])] * READERS, runs
    growth = peak.mib - before
    assert growth < GROWTH_BOUND, f'the service grew by {growth:.0f} MiB from {before:.0f} MiB'
    slowest = max(seconds for _, seconds in answers)
    assert {status for status, _ in answers} == {200} and slowest < BUSY_QUICK, answers


def test_slow_readers_of_lists_cannot_take_every_thread(big_jobs):
    """Each slow reader holds a server thread once 16 MiB wait for it: before,
    eight of them held all eight and GET /jobs/{id} went unanswered. Lists
    beyond the list slots (6 of 8 threads) are now refused at once."""
    serve, ids = big_jobs
    slow = []
    try:
        for _ in range(SLOW_READERS):
            conn = socket.create_connection(('127.0.0.1', serve.port), timeout=60)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            conn.sendall(b'GET /jobs HTTP/1.1\r\nHost: test\r\n\r\n')
            slow.append(conn)
        statuses = [conn.recv(12)[9:12] for conn in slow]  # b'HTTP/1.1 200'
        assert set(statuses) == {b'200', b'503'} and statuses.count(b'200') >= 1, statuses
        time.sleep(1)  # the writers of the others fill their buffers and wait
        for job_id in (ids[3], ids[-3]):
            _get_quickly(serve, job_id)
    finally:
        for conn in slow:
            conn.close()
    wait_for(lambda: _read(serve.port, '/jobs?limit=1')[0] == 200, 60, 0.5, 'slots freed')


class _Peak:
    """The service's peak resident memory while in the `with`: VmHWM after
    resetting it (Linux 4.0+), and samples every 10 ms where that is refused."""

    def __init__(self, serve: Serve):
        self.serve = serve
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        try:
            Path(f'/proc/{serve.proc.pid}/clear_refs').write_text('5')
            self.exact = True
        except OSError:
            self.exact = False

    def _sample(self):
        while not self._stop.wait(0.01):
            self.samples.append(self.serve.rss_mib())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.samples.append(self.serve.rss_mib('VmHWM') if self.exact else 0)

    @property
    def mib(self) -> float:
        return max(self.samples)
