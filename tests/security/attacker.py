"""What an attacker brings to the probes: a web server on loopback that serves a
"step" that would leave a mark if it ever ran, and records every request."""

import contextlib
import http.server
import threading
from pathlib import Path
from typing import Iterator, List

#: a CommandLineTool that proves it ran by creating the file named in MARK
EVIL_TOOL = """cwlVersion: v1.0
class: CommandLineTool
baseCommand: [touch, {mark}]
inputs: []
outputs:
  output: {{type: stdout}}
"""


class Attacker:
    """The server's address, what it was asked for, and the mark its tool leaves."""

    def __init__(self, port: int, requests: List[str], mark: Path):
        self.port = port
        self.url = f'http://127.0.0.1:{port}'
        self.requests = requests
        self.mark = mark

    def assert_untouched(self) -> None:
        assert self.requests == [], f'the attacker was asked for {self.requests}'
        assert not self.mark.exists(), "the attacker's tool ran"


@contextlib.contextmanager
def attacker_server(tmp_path: Path) -> Iterator[Attacker]:
    """A loopback HTTP server answering every GET with EVIL_TOOL."""
    mark = tmp_path / 'attacker-was-here'
    requests: List[str] = []
    body = EVIL_TOOL.format(mark=mark).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            requests.append(self.path)
            self.send_response(200)
            self.send_header('Content-Type', 'text/plain')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Attacker(server.server_address[1], requests, mark)
    finally:
        server.shutdown()
        server.server_close()
