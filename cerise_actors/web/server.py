"""Serving the WSGI app with waitress in a background thread.

Used both by `cerise-actors serve` and by the in-process context manager, so
tests exercise the same real HTTP server over loopback that users meet.
"""

import logging
import threading

import waitress.server

from ..defaults import HTTP_THREADS

logger = logging.getLogger(__name__)


class HttpServer:
    def __init__(self, app, host: str, port: int, threads: int = HTTP_THREADS):
        self._server = waitress.server.create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident='cerise-actors',
            clear_untrusted_proxy_headers=True,
        )
        self.host = host
        self.port = self._server.effective_port
        self._thread = threading.Thread(target=self._serve, name='cerise-http', daemon=True)

    def _serve(self) -> None:
        try:
            self._server.run()
        except OSError:  # closed while stopping
            pass

    def start(self) -> None:
        self._thread.start()

    @property
    def url(self) -> str:
        host = self.host
        if host in ('0.0.0.0', '', '::'):
            host = '127.0.0.1'
        if ':' in host:
            host = f'[{host}]'
        return f'http://{host}:{self.port}'

    def stop(self, timeout: float = 10.0) -> None:
        """Close the socket; wait for the serving thread if it was started."""
        self._server.close()
        if self._thread.ident is not None:
            self._thread.join(timeout)
