"""Many idle, slow or stuck clients cannot take the job API offline.

The probe behind issue 10 point 3: with waitress on its defaults, 100 idle
connections filled the connection limit and 8 slow readers of a large
/files download held all 8 threads, and GET /jobs then timed out. Here 200
connections (half idle, half with a request header sent only in part) and 8
readers that never read their 40 MiB download are held open together, and
GET /jobs, each on a fresh connection, must still answer within 1 s.
"""

import contextlib
import socket
import time

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
