"""A folder of 200,000 files costs /files no memory (issue 18).

A shell user on the exchange folder made `input/big/` with 200,000 empty
files; one `PROPFIND Depth: 1` of it was a 157 MB answer that took 18 s and
grew the service from 100 MB to 1.14 GB, never given back (four at once:
2.34 GB), and one GET of its listing took 60 s and 3.85 GB. WsgiDAV builds
a PROPFIND answer whole, and walks a whole tree into memory before a DELETE,
MOVE or COPY. Now one listing (PROPFIND, GET of a folder, the walk of a
COPY) answers at most MAX_LISTING_ENTRIES files and folders, and a folder
with more is refused with 403 and a JSON body that says why, after a scan
that stops at the cap; DELETE and MOVE of a folder no longer walk it.

Runs the real command (`python -m cerise_actors serve`) in a subprocess, so
its memory is the service's alone. The bound is generous for a noisy
machine and far below what one request took before.
"""

import json
import os
import signal
import threading
from http.client import HTTPConnection

import pytest

from cerise_actors.defaults import MAX_LISTING_ENTRIES

from ..helpers import processes_mentioning
from .test_bounded_lists import Serve, _Peak

BIG = 200_000
AT_ONCE = 4
#: MiB the service may grow by over every request of this module (before: 1 GB for one)
GROWTH_BOUND = 150


@pytest.fixture(scope='module')
def big_folder(tmp_path_factory):
    """The service, with input/big/ of BIG empty files and input/full/ of exactly
    MAX_LISTING_ENTRIES, made at once as a shell user would."""
    root = tmp_path_factory.mktemp('large-folders')
    serve = Serve(root)
    try:
        files = root / 'run' / 'files' / 'input'
        for name, count in (('big', BIG), ('full', MAX_LISTING_ENTRIES)):
            folder = files / name
            folder.mkdir(parents=True)
            for i in range(count):
                os.close(os.open(folder / f'f{i:06}.txt', os.O_CREAT | os.O_WRONLY, 0o644))
        yield serve, files
    finally:
        serve.stop()
        for pid in processes_mentioning(str(root)):
            os.kill(pid, signal.SIGKILL)


def _request(serve, method, path, headers=None):
    """(status, Content-Type, body) of one request; the body is read in blocks and
    kept only if small (the old answers were 157 MB)."""
    conn = HTTPConnection('127.0.0.1', serve.port, timeout=300)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        kept, length = b'', 0
        while True:
            block = resp.read(1 << 20)
            if not block:
                break
            length += len(block)
            if length <= 1 << 16:
                kept += block
        return resp.status, resp.getheader('Content-Type', ''), kept if length <= 1 << 16 else None
    finally:
        conn.close()


def _into(answers, serve, method, headers):
    answers.append(_request(serve, method, '/files/input/big/', headers))


def _refused(answer, method):
    status, content_type, body = answer
    assert status == 403, (method, status, body)
    assert content_type == 'application/json'
    description = json.loads(body)['description']
    assert f'more than {MAX_LISTING_ENTRIES} files and folders' in description, description
    assert '/files/input/big/' in description


def test_a_huge_folder_is_refused_at_once_and_the_service_stays_small(big_folder):
    serve, files = big_folder
    _request(serve, 'GET', '/files/input/full/')  # what every listing needs is there
    before = serve.rss_mib()
    listings = [
        ('PROPFIND', {'Depth': '1'}),
        ('PROPFIND', {}),  # a missing Depth is served as 1
        ('GET', {}),
        ('GET', {'Accept': 'application/json'}),
        ('HEAD', {}),
    ]
    with _Peak(serve) as peak:
        for method, headers in listings:
            answers = []
            readers = [
                threading.Thread(target=_into, args=(answers, serve, method, headers))
                for _ in range(AT_ONCE)
            ]
            for reader in readers:
                reader.start()
            for reader in readers:
                reader.join(300)
            assert len(answers) == AT_ONCE
            for answer in answers:
                if method == 'HEAD':
                    assert answer[0] == 403, answer
                else:
                    _refused(answer, method)
        copy = _request(serve, 'COPY', '/files/input/big/', {'Destination': '/files/input/copy/'})
        _refused(copy, 'COPY')  # a COPY walks the tree into memory: the same cap
        assert not (files / 'copy').exists()
    growth = peak.mib - before
    assert growth < GROWTH_BOUND, f'the service grew by {growth:.0f} MiB from {before:.0f} MiB'


def test_a_folder_at_the_cap_is_listed_whole(big_folder):
    serve, _ = big_folder
    status, _, body = _request(serve, 'PROPFIND', '/files/input/full/', {'Depth': '1'})
    assert status == 207
    status, content_type, body = _request(
        serve, 'GET', '/files/input/full/', {'Accept': 'application/json'}
    )
    assert status == 200 and content_type == 'application/json'


def test_a_huge_folder_is_moved_and_deleted_without_a_walk(big_folder):
    serve, files = big_folder
    before = serve.rss_mib()
    with _Peak(serve) as peak:
        status, _, body = _request(
            serve, 'MOVE', '/files/input/big/', {'Destination': '/files/input/moved/'}
        )
        assert status == 201, body
        assert len(os.listdir(files / 'moved')) == BIG and not (files / 'big').exists()
        status, _, body = _request(serve, 'DELETE', '/files/input/moved/')
        assert status == 204, body
        assert not (files / 'moved').exists()
    growth = peak.mib - before
    assert growth < GROWTH_BOUND, f'the service grew by {growth:.0f} MiB from {before:.0f} MiB'
