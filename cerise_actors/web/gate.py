"""A gate in front of the WSGI app that answers 503 until the service has started.

The HTTP port is bound when the service is built, so a port that is taken
is reported before anything is recovered or installed. Requests that arrive
while start-up is still recovering jobs and installing the specialisation
(which may take minutes) get a quick "starting, try again" instead of
waiting on a socket nobody reads.
"""

import json
import threading

_BODY = json.dumps(
    {
        'title': 'Service unavailable',
        'description': 'the service is starting (recovering jobs and installing the '
        'specialisation); try again shortly',
    }
).encode()


class StartGate:
    """WSGI middleware: 503 with Retry-After until `open()` is called."""

    def __init__(self, app, retry_after: int = 5):
        self._app = app
        self._open = threading.Event()
        self._retry_after = str(retry_after)

    def open(self) -> None:
        self._open.set()

    def __call__(self, environ, start_response):
        if self._open.is_set():
            return self._app(environ, start_response)
        start_response(
            '503 Service Unavailable',
            [
                ('Content-Type', 'application/json'),
                ('Content-Length', str(len(_BODY))),
                ('Retry-After', self._retry_after),
            ],
        )
        return [_BODY]
