"""No /files client can block others, hold a thread for long, or get a 500.

Issue 10 point 8 (and the upload half of point 5): /files has no
authentication, so a WebDAV lock would let any client block every other
one; a PUT thousands of folders deep held a thread for minutes; a name
longer than the file system allows, and DELETE of the root, answered 500;
and a PUT truncated the file in place, so a stager copying it read a
half-written file.
"""

import errno
import io
import os
import threading
import time

from ..helpers import http

LOCK_BODY = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
    b'<D:locktype><D:write/></D:locktype><D:owner>mallory</D:owner></D:lockinfo>'
)


def test_no_client_can_lock_others_out(service):
    files = f'{service.base_url}/files'
    status, _, _ = http(
        'LOCK',
        f'{files}/input/',
        raw=LOCK_BODY,
        headers={'Depth': 'infinity', 'Timeout': 'Infinite', 'Content-Type': 'text/xml'},
    )
    assert status == 405, status
    status, text, _ = http('PUT', f'{files}/input/job/a.txt', raw=b'a')
    assert status == 201, text
    status, _, headers = http('OPTIONS', f'{files}/')
    assert status == 200 and headers['DAV'].replace(' ', '') == '1'
    assert 'LOCK' not in headers['Allow']


def test_a_put_thousands_of_folders_deep_is_refused_at_once(service):
    files = f'{service.base_url}/files'
    deep = '/'.join(['d'] * 2100)
    start = time.monotonic()
    status, _, _ = http('PUT', f'{files}/input/{deep}/a.txt', raw=b'a', timeout=20)
    took = time.monotonic() - start
    assert 400 <= status < 500, status
    assert took < 2, f'took {took:.1f} s'
    assert not (service.root / 'files' / 'input' / 'd').exists()


def test_moderately_deep_uploads_still_work(service):
    files = f'{service.base_url}/files'
    deep = '/'.join(['d'] * 30)
    status, text, _ = http('PUT', f'{files}/input/{deep}/a.txt', raw=b'a')
    assert status == 201, text


def test_a_too_long_name_is_a_client_error(service):
    files = f'{service.base_url}/files'
    long_name = 'n' * 300
    for method, target in (
        ('PUT', f'/input/{long_name}'),
        ('PUT', f'/input/{long_name}/a.txt'),
        ('MKCOL', f'/input/{long_name}'),
        ('GET', f'/input/{long_name}'),
        ('PROPFIND', f'/input/{long_name}'),
        ('DELETE', f'/input/{long_name}'),
    ):
        status, text, _ = http(method, files + target, raw=b'x' if method == 'PUT' else None)
        assert 400 <= status < 500, (method, status, text)
    status, _, _ = http('PUT', f'{files}/input/{"n" * 255}', raw=b'x')
    assert status == 201


def test_the_root_and_its_two_folders_cannot_be_removed(service):
    files = f'{service.base_url}/files'
    exchange = service.root / 'files'
    (exchange / 'input' / 'keep.txt').write_text('keep')
    for target in ('', '/', '/input', '/input/', '/output', '/output/'):
        status, text, _ = http('DELETE', files + target)
        assert status == 403, (target, status, text)
        status, text, _ = http('MOVE', files + target, headers={'Destination': f'{files}/moved'})
        assert status == 403, (target, status, text)
    status, text, _ = http(
        'COPY', f'{files}/input/keep.txt', headers={'Destination': f'{files}/output'}
    )
    assert status == 403, (status, text)
    assert (exchange / 'input' / 'keep.txt').read_text() == 'keep'
    assert (exchange / 'output').is_dir()


def _watch_sizes(path, stop: threading.Event, seen: set):
    while not stop.is_set():
        try:
            seen.add(os.stat(path).st_size)
        except FileNotFoundError:
            seen.add(None)


def test_an_upload_appears_whole_or_not_at_all(service):
    """A reader of the target sees the old file, the new one, or nothing: never a part."""
    files = f'{service.base_url}/files'
    target = service.root / 'files' / 'input' / 'job' / 'data.bin'
    size = 32 * 1024 * 1024
    for content in (b'a' * size, b'b' * size):  # a new file, then a replaced one
        seen, stop = set(), threading.Event()
        watcher = threading.Thread(target=_watch_sizes, args=(target, stop, seen))
        watcher.start()
        try:
            status, text, _ = http('PUT', f'{files}/input/job/data.bin', raw=content)
        finally:
            stop.set()
            watcher.join()
        assert status in (201, 204), text
        partial = sorted(seen - {None, size})
        assert not partial, f'a reader saw {len(partial)} partial sizes, from {partial[0]}'
        assert target.read_bytes() == content
    leftovers = [p.name for p in target.parent.iterdir() if p.name != 'data.bin']
    assert leftovers == []
    status, text, _ = http('PROPFIND', f'{files}/input/job/', headers={'Depth': '1'})
    assert status == 207 and text.count('<d:response>') + text.count('<D:response>') <= 2


class _FullDisk(io.FileIO):
    """A file on a disk that fills up at the first write."""

    def write(self, data):
        raise OSError(errno.ENOSPC, 'No space left on device')


def test_a_failed_upload_leaves_no_file(service, monkeypatch):
    """The body goes to a temporary file, removed when writing it fails; 507 for a full disk."""
    files = f'{service.base_url}/files'
    folder = service.root / 'files' / 'input' / 'job'
    folder.mkdir(parents=True)
    (folder / 'old.txt').write_text('old')
    monkeypatch.setattr(
        'cerise_actors.web.files_uploads.open_for_upload',
        lambda name, dir_fd: _FullDisk(
            os.open(name, os.O_WRONLY | os.O_CREAT, dir_fd=dir_fd), 'wb'
        ),
    )
    for name in ('new.txt', 'old.txt'):
        status, _, _ = http('PUT', f'{files}/input/job/{name}', raw=b'x' * 100_000)
        assert status == 507
    assert sorted(p.name for p in folder.iterdir()) == ['old.txt']
    assert (folder / 'old.txt').read_text() == 'old'
