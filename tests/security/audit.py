"""The oracle of the property tests: what Python's audit hooks saw.

While a document is handled, every file opened, socket used and process
started is recorded (sys.addaudithook), and anything outside the allowed
folders is an escape. It is not the code under test that says so.
"""

import os
import sys
import threading
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]


class Watch:
    """Python's audit events while `active`, from this thread only."""

    def __init__(self):
        self.active = False
        self.thread = None
        self.events = []
        sys.addaudithook(self._hook)

    def _hook(self, event, args):
        if not self.active or threading.get_ident() != self.thread:
            return
        if event == 'open' and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.fsdecode(args[0])
            if not path.startswith('/') and _from_confined_root():
                return  # one component below a folder the confined root opened (openat)
            self.events.append(('open', path))
        elif event.startswith(('socket.connect', 'socket.getaddrinfo', 'urllib.Request')):
            self.events.append((event, str(args[1:2])))
        elif event.startswith(('subprocess.Popen', 'os.system', 'os.exec', 'os.posix_spawn')):
            self.events.append((event, str(args[:2])))
        elif event == 'os.fork':
            self.events.append((event, ''))

    def __enter__(self):
        self.events = []
        self.thread = threading.get_ident()
        self.active = True
        return self

    def __exit__(self, *exc):
        self.active = False


WATCH = Watch()
CONFINED = str(REPO_DIR / 'cerise_actors' / 'boundary' / 'confined.py')


def _from_confined_root() -> bool:
    """Whether the open comes from boundary/confined.py, which opens each name
    relative to a folder it holds open, never following a link (tested on its
    own in tests/unit/test_boundary_confined.py and test_exchange_races.py)."""
    frame = sys._getframe(2)
    for _ in range(4):
        if frame is None:
            return False
        if frame.f_code.co_filename == CONFINED:
            return True
        frame = frame.f_back
    return False


def _allowed_open(path: str, allowed: tuple) -> bool:
    if not path.startswith('/'):
        return False
    real = os.path.realpath(path)
    return any(real == root or real.startswith(root + os.sep) for root in allowed)


def escapes(events, allowed: tuple) -> list:
    return [
        (kind, what) for kind, what in events if kind != 'open' or not _allowed_open(what, allowed)
    ]
