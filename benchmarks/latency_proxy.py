"""A TCP proxy on loopback that delays everything it passes by a fixed time.

The test bed's sshd answers on loopback in a fraction of a millisecond, where
a cluster's login node is some milliseconds away: round trips that cost
nothing here cost a job real time there. Pointed at the test bed's sshd, this
proxy adds `delay` seconds to each direction (a round trip gains twice that),
keeping the order and the bytes of both streams, so a benchmark can show what
the round trips of a job cost at a given distance without touching the
machine's network settings (which other users of the test bed share).
"""

import heapq
import socket
import threading
import time


class LatencyProxy:
    def __init__(self, target_port: int, delay: float, target_host: str = '127.0.0.1'):
        self.delay = delay
        self._target = (target_host, target_port)
        self._listener = socket.create_server(('127.0.0.1', 0))
        self.port = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._sockets = []
        threading.Thread(target=self._accept, name='latency-proxy', daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sockets += [client, server]
            _Pipe(client, server, self.delay)
            _Pipe(server, client, self.delay)

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass


class _Pipe:
    """One direction: a reader stamps each chunk with when it may go on, a
    writer sends it then."""

    def __init__(self, source: socket.socket, sink: socket.socket, delay: float):
        self._source, self._sink, self._delay = source, sink, delay
        self._queue = []  # (due, sequence, chunk); chunk b'' is the end
        self._count = 0
        self._ready = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._write, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = self._source.recv(65536)
            except OSError:
                chunk = b''
            with self._ready:
                self._count += 1
                heapq.heappush(self._queue, (time.monotonic() + self._delay, self._count, chunk))
                self._ready.notify()
            if not chunk:
                return

    def _write(self) -> None:
        while True:
            with self._ready:
                while not self._queue:
                    self._ready.wait()
                due, _, chunk = self._queue[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._ready.wait(wait)
                    continue
                heapq.heappop(self._queue)
            if not chunk:
                try:
                    self._sink.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            try:
                self._sink.sendall(chunk)
            except OSError:
                return
