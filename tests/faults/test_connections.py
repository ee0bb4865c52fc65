"""Many idle, slow or stuck clients cannot take the job API offline.

The probe behind issue 10 point 3: with waitress on its defaults, 100 idle
connections filled the connection limit and 8 slow readers of a large
/files download held all 8 threads, and GET /jobs then timed out. Here 200
connections (half idle, half with a request header sent only in part) and 8
readers that never read their 40 MiB download are held open together, and
GET /jobs, each on a fresh connection, must still answer within 1 s.
"""

import concurrent.futures
import contextlib
import socket
import threading
import time

from cerise_actors.web.dispatch import mount, spending_thread_budget
from cerise_actors.web.server import HttpServer, bulk_slots

from ..helpers import http, wait_for

IDLE = 100
PARTIAL = 100
SLOW_READERS = 8
BIG = 40 * 1024 * 1024  # well past waitress's 16 MiB outbuf_high_watermark
LATENCY_BOUND = 1.0  # seconds, the bound, generous on loopback


def _connect(port, receive_buffer=None):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer:  # set before connecting, so the window stays small
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(30)
    sock.connect(('127.0.0.1', port))
    return sock


def _start_download(port, path):
    """A client that asks for `path` and then reads only the status line."""
    sock = _connect(port, receive_buffer=4096)
    sock.sendall(f'GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.encode())
    return sock


def _answer_started(sock) -> bool:
    head = sock.recv(12, socket.MSG_PEEK)
    assert head.startswith(b'HTTP/1.1 '), head
    assert head[9:12] == b'200', head
    return True


def _jobs_latency(base_url) -> float:
    """Seconds for one GET /jobs on a fresh connection (inf if it fails)."""
    start = time.monotonic()
    try:
        status, body, _ = http('GET', f'{base_url}/jobs', timeout=10)
    except OSError:
        return float('inf')
    assert status == 200 and isinstance(body, list), (status, body)
    return time.monotonic() - start


def test_jobs_answers_within_a_second_beside_200_idle_connections_and_8_slow_readers(service):
    port = int(service.http.port)
    big = service.root / 'files' / 'output' / 'big.bin'
    big.parent.mkdir(parents=True, exist_ok=True)
    with open(big, 'wb') as f:
        f.truncate(BIG)
    assert _jobs_latency(service.base_url) < LATENCY_BOUND  # answers when unloaded

    with contextlib.ExitStack() as held:
        for _ in range(IDLE):
            held.enter_context(_connect(port))
        for _ in range(PARTIAL):  # a slowloris: the header never ends
            sock = held.enter_context(_connect(port))
            sock.sendall(b'GET /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')
        readers = [
            held.enter_context(_start_download(port, '/files/output/big.bin'))
            for _ in range(SLOW_READERS)
        ]
        for reader in readers:
            wait_for(lambda r=reader: _answer_started(r), 30, message='a download to start')

        latencies = [_jobs_latency(service.base_url) for _ in range(5)]
        print('GET /jobs under load, s:', ' '.join(f'{t:.4f}' for t in latencies))
        assert max(latencies) < LATENCY_BOUND, f'GET /jobs took {latencies} s'

        # /files itself still answers, beside its own slow readers
        status, text, _ = http('PUT', f'{service.base_url}/files/input/t/a.txt', raw=b'a')
        assert status == 201, text
        assert http('GET', f'{service.base_url}/files/input/t/a.txt')[1] == 'a'


def _read_answer(sock, expected: bytes) -> None:
    received = b''
    while b'\r\n\r\n' not in received:
        received += sock.recv(65536)
    head, body = received.split(b'\r\n\r\n', 1)
    assert f'Content-Length: {len(expected)}'.encode() in head, head
    chunks, length = [body], len(body)
    while length < len(expected):
        chunk = sock.recv(1 << 20)
        assert chunk, f'the download ended after {length} bytes'
        chunks.append(chunk)
        length += len(chunk)
    assert b''.join(chunks) == expected


def test_stalled_downloads_hold_no_thread_and_then_arrive_whole(service):
    """8 readers stall mid-download: /jobs answers, and each later gets every byte."""
    port = int(service.http.port)
    big = service.root / 'files' / 'output' / 'big.bin'
    big.parent.mkdir(parents=True, exist_ok=True)
    content = bytes(range(256)) * (BIG // 256)
    big.write_bytes(content)
    with contextlib.ExitStack() as held:
        readers = [
            held.enter_context(_start_download(port, '/files/output/big.bin'))
            for _ in range(SLOW_READERS)
        ]
        for reader in readers:
            wait_for(lambda r=reader: _answer_started(r), 30, message='a download to start')
        latencies = [_jobs_latency(service.base_url) for _ in range(5)]
        assert max(latencies) < LATENCY_BOUND, f'GET /jobs took {latencies} s'
        for reader in readers:
            _read_answer(reader, content)


def test_files_requests_never_take_the_last_threads():
    """/files requests that hold their thread leave some for /jobs; more get 503 at once."""
    release = threading.Event()
    entered = []

    def stuck_files(environ, start_response):  # a /files request that holds its thread
        entered.append(1)
        release.wait(60)
        start_response('200 OK', [('Content-Length', '0')])
        return [b'']

    def jobs(environ, start_response):
        start_response('200 OK', [('Content-Type', 'application/json'), ('Content-Length', '2')])
        return [b'[]']

    threads = 8
    files = spending_thread_budget(stuck_files)  # as files.py serves all but downloads
    server = HttpServer(mount(jobs, '/files', files), '127.0.0.1', 0, threads=threads)
    server.start()
    base = f'http://127.0.0.1:{server.port}'
    try:
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            answers = [
                pool.submit(http, 'GET', f'{base}/files/f{i}', timeout=60) for i in range(threads)
            ]
            wait_for(lambda: len(entered) == bulk_slots(threads), 30, message='/files to fill')
            refused = wait_for(
                lambda: [a for a in answers if a.done()] if sum(a.done() for a in answers) else 0,
                30,
                message='the refusals',
            )
            assert {a.result()[0] for a in refused} == {503}
            assert all(a.result()[2]['Retry-After'] for a in refused)
            assert _jobs_latency(base) < LATENCY_BOUND
            release.set()
            assert sorted(a.result()[0] for a in answers) == [200] * bulk_slots(threads) + [503] * (
                threads - bulk_slots(threads)
            )
    finally:
        release.set()
        server.stop()


def test_parallel_downloads_are_never_refused(service):
    """Downloads spend no thread budget: 32 at once all get their file."""
    small = service.root / 'files' / 'output' / 'small.txt'
    small.parent.mkdir(parents=True, exist_ok=True)
    small.write_text('small')
    start = threading.Barrier(32)

    def download(_):
        start.wait(30)
        return http('GET', f'{service.base_url}/files/output/small.txt', timeout=30)[:2]

    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(download, range(32)))
    assert answers == [(200, 'small')] * 32
