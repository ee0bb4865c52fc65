"""/files acts on what it checked, even while a folder is swapped for a link.

Issue 18 (docs/security.md, promise 5): a user with a shell on the exchange
folder gets nothing more than a user of the API. The old /files checked a
request's path and then let WsgiDAV act on the path again (unlink, rmtree,
open, shutil.move, copy2, mkdir, listdir): whoever swaps a folder under
`input/` for a symbolic link in between (renameat2 RENAME_EXCHANGE in a
loop) makes the service delete, overwrite, create or read files outside the
exchange area with its own account.

Here an attacker's process swaps `input/race` (a real folder) with a link
to a folder outside the exchange, as fast as it can, for a few seconds,
while the test sends one kind of request after another for names inside
`input/race`. Afterwards the outside folder is exactly as it was, no answer
ever carried its content or its names, and every answer is a 2xx or a 4xx.
"""

import ctypes
import http.client
import os
import stat
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from cerise_actors.app import running_service
from cerise_actors.config import service_config_from_dict

from ..helpers import TEST_API_DIR
from ..service_setup import api_config_for_tests, service_config_dict

#: how long the attacker swaps for each kind of request, in seconds
SWAP_SECONDS = 4.0
CANARY = b'CANARY: the service account must never touch this\n'
INSIDE = b'inside the exchange\n'
MINE = b'an upload of my own\n'
#: a name only the outside folder holds: a listing that shows it has followed the link
ONLY_OUTSIDE = 'only-outside-the-exchange.txt'

#: the attacker: exchanges two names with renameat2(RENAME_EXCHANGE) until time is up
SWAPPER = r"""
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
first, second = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2])
end = time.monotonic() + float(sys.argv[3])
print('ready', flush=True)
while time.monotonic() < end:
    for _ in range(100):
        if libc.renameat2(-100, first, -100, second, 2) != 0:
            sys.exit('renameat2: ' + os.strerror(ctypes.get_errno()))
"""


def _has_renameat2() -> bool:
    return sys.platform.startswith('linux') and hasattr(ctypes.CDLL(None), 'renameat2')


pytestmark = pytest.mark.skipif(not _has_renameat2(), reason='needs Linux renameat2')


@pytest.fixture(scope='module')
def files_service(tmp_path_factory):
    root = tmp_path_factory.mktemp('webdav-races')
    config = service_config_from_dict(service_config_dict(root), env={})
    with running_service(config, TEST_API_DIR, api_config=api_config_for_tests(root)) as service:
        service.exchange = Path(config.exchange_service_dir)
        yield service


class Scene:
    """input/race (a real folder) and input/race-swap (a link to `outside`),
    which the attacker exchanges; and the outside folder as it was."""

    def __init__(self, exchange: Path, outside: Path):
        self.exchange = exchange
        self.outside = outside
        for name, data in (('data.txt', CANARY), (ONLY_OUTSIDE, CANARY), ('sub/c.txt', CANARY)):
            (outside / name).parent.mkdir(parents=True, exist_ok=True)
            (outside / name).write_bytes(data)
        self.before = _snapshot(outside)
        inside = exchange / 'input' / 'race'
        inside.mkdir(parents=True)
        self.inside_fd = os.open(inside, os.O_RDONLY | os.O_DIRECTORY)
        self.refill()
        (exchange / 'input' / 'race-swap').symlink_to(outside, target_is_directory=True)
        (exchange / 'input' / 'mine.txt').write_bytes(MINE)

    def refill(self) -> None:
        """Put back what a request removed from the real folder, wherever it is now."""
        _ensure_file(self.inside_fd, 'data.txt', INSIDE)
        try:
            os.mkdir('sub', dir_fd=self.inside_fd)
        except FileExistsError:
            pass
        sub = os.open('sub', os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=self.inside_fd)
        try:
            _ensure_file(sub, 'inner.txt', INSIDE)
        finally:
            os.close(sub)
        _remove_tree_at(self.inside_fd, 'newdir')
        mine = self.exchange / 'input' / 'mine.txt'
        if not mine.exists():
            mine.write_bytes(MINE)

    def close(self) -> None:
        os.close(self.inside_fd)
        for name in ('race', 'race-swap'):
            path = self.exchange / 'input' / name
            if path.is_symlink():
                path.unlink()
        for name in ('race', 'race-swap'):
            path = self.exchange / 'input' / name
            if path.exists():
                _remove_tree_at(os.open(path.parent, os.O_RDONLY), name, close=True)


def _ensure_file(dir_fd: int, name: str, data: bytes) -> None:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644, dir_fd=dir_fd)
        with os.fdopen(fd, 'wb') as file:
            file.write(data)


def _remove_tree_at(dir_fd: int, name: str, close: bool = False) -> None:
    try:
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if not stat.S_ISDIR(info.st_mode):
            os.unlink(name, dir_fd=dir_fd)
            return
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
        try:
            for entry in os.listdir(fd):
                _remove_tree_at(fd, entry)
        finally:
            os.close(fd)
        os.rmdir(name, dir_fd=dir_fd)
    finally:
        if close:
            os.close(dir_fd)


def _snapshot(folder: Path) -> dict:
    """Every name below `folder` with its content (None for a folder), links not followed."""
    found = {}
    for parent, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(parent) / name
            found[str(path.relative_to(folder))] = None if path.is_dir() else path.read_bytes()
    return found


@pytest.fixture
def scene(files_service, tmp_path):
    outside = tmp_path / 'outside'
    outside.mkdir()
    made = Scene(files_service.exchange, outside)
    yield made
    made.close()
    _clear_destinations(files_service.exchange)


def _clear_destinations(exchange: Path) -> None:
    """Remove what a MOVE or COPY made, so each probe starts afresh."""
    for name in ('moved.txt', 'copied.txt', 'moved-sub'):
        path = exchange / 'input' / name
        if path.is_symlink() or path.exists():
            _remove_tree_at(os.open(path.parent, os.O_RDONLY), name, close=True)


class Connection:
    """One keep-alive connection to the service; reopened after the server closes it."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.port = urllib.parse.urlsplit(base_url).port
        self.conn = None

    def request(self, method: str, target: str, headers=None, body=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=30)
            try:
                self.conn.request(method, target, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self.close()
                return resp.status, data
            except (http.client.RemoteDisconnected, ConnectionError):
                self.close()
                if attempt:
                    raise
        raise AssertionError('unreachable')

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _requests(method: str, base_url: str):
    """(method, target, headers, body) of the requests one probe sends, in turn."""
    destination = {'Destination': f'{base_url}/files/input/', 'Overwrite': 'T'}
    into = dict(destination, Destination=f'{base_url}/files/input/race/data.txt')
    return {
        'DELETE': [
            ('DELETE', '/files/input/race/data.txt', {}, None),
            ('DELETE', '/files/input/race/sub', {}, None),
        ],
        'PUT': [('PUT', '/files/input/race/data.txt', {}, b'attacker wrote this\n')],
        'MOVE': [
            ('MOVE', '/files/input/race/data.txt', _to(destination, 'moved.txt'), None),
            ('MOVE', '/files/input/mine.txt', into, None),
            ('MOVE', '/files/input/race/sub', _to(destination, 'moved-sub'), None),
        ],
        'COPY': [
            ('COPY', '/files/input/race/data.txt', _to(destination, 'copied.txt'), None),
            ('COPY', '/files/input/mine.txt', into, None),
        ],
        'GET': [
            ('GET', '/files/input/race/data.txt', {}, None),
            ('GET', '/files/input/race/data.txt', {'Range': 'bytes=0-9'}, None),
            ('GET', '/files/input/race/', {'Accept': 'application/json'}, None),
        ],
        'PROPFIND': [('PROPFIND', '/files/input/race/', {'Depth': '1'}, None)],
        'MKCOL': [('MKCOL', '/files/input/race/newdir', {}, None)],
    }[method]


def _to(headers: dict, name: str) -> dict:
    return dict(headers, Destination=headers['Destination'] + name)


def _breached(problems: list) -> bool:
    """Whether the outside folder was reached: no need to go on then."""
    return any(' answered 5' not in problem for problem in problems)


def _leaks(scene: Scene, status: int, body: bytes) -> list:
    """What an answer, or the exchange after it, shows of the outside folder."""
    found = []
    if CANARY in body or CANARY[:10] in body or ONLY_OUTSIDE.encode() in body:
        found.append(f'an answer ({status}) carried the outside folder: {body[:120]!r}')
    for name in ('moved.txt', 'copied.txt', 'moved-sub/c.txt'):
        path = scene.exchange / 'input' / name
        try:
            if not path.is_symlink() and path.is_file() and path.read_bytes() == CANARY:
                found.append(f'input/{name} holds the outside file')
        except OSError:
            pass
    return found


@pytest.mark.parametrize('method', ['DELETE', 'PUT', 'MOVE', 'COPY', 'GET', 'PROPFIND', 'MKCOL'])
def test_a_folder_swapped_for_a_link_leads_nowhere(files_service, scene, method):
    requests = _requests(method, files_service.base_url)
    swapper = subprocess.Popen(
        [
            sys.executable,
            '-c',
            SWAPPER,
            str(scene.exchange / 'input' / 'race'),
            str(scene.exchange / 'input' / 'race-swap'),
            str(SWAP_SECONDS),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    connection = Connection(files_service.base_url)
    statuses, problems, sent = {}, [], 0
    try:
        assert swapper.stdout.readline().strip() == b'ready'
        while swapper.poll() is None and not _breached(problems):
            for request_method, target, headers, body in requests:
                status, answer = connection.request(request_method, target, headers, body)
                sent += 1
                statuses[status] = statuses.get(status, 0) + 1
                if status >= 500:
                    problems.append(
                        f'{request_method} {target} answered {status}: {answer[:300]!r}'
                    )
                problems.extend(_leaks(scene, status, answer))
                if _snapshot(scene.outside) != scene.before:
                    problems.append(f'{request_method} {target} changed the outside folder')
                    break
                scene.refill()
                _clear_destinations(scene.exchange)
    finally:
        connection.close()
        if swapper.poll() is None:
            swapper.kill()
        _, errors = swapper.communicate(timeout=30)
    assert swapper.returncode == 0 or problems, errors.decode()
    after = _snapshot(scene.outside)
    breaches = [problem for problem in problems if ' answered 5' not in problem]
    assert not problems, f'after {sent} requests {statuses}: {(breaches + problems)[:4]}'
    assert after == scene.before, f'the outside folder changed: {sorted(after)}'
    assert sent > 20, f'only {sent} requests were sent while the folder was swapped'
    # both sides of the swap were met: served while a folder, refused while a link
    assert 403 in statuses and any(200 <= status < 300 for status in statuses), statuses
