"""Each user's own /files: one WebDAV app per user's folder, chosen per request.

The URLs stay the same for everyone (`/files/input/...`); which folder
they reach is decided by the user the auth gate let the request in as
(`identity.py`), never by anything in the URL. So no path, however spelled,
leads from one user's files to another's: each app's root is its user's
folder, and `boundary/confined.py` opens nothing above a root. With one user
(no users file) there is one app, on the whole exchange folder.
"""

import threading
from typing import Callable, Dict

from .identity import user_in


class FilesPerUser:
    """A WSGI app that serves each request with `app_for(user)`, made once per user."""

    def __init__(self, app_for: Callable[[str], Callable]):
        self._app_for = app_for
        self._apps: Dict[str, Callable] = {}
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        user = user_in(environ)  # raises without a user: a 500, never someone else's files
        app = self._apps.get(user)
        if app is None:
            with self._lock:
                app = self._apps.get(user)
                if app is None:
                    app = self._apps[user] = self._app_for(user)
        return app(environ, start_response)
