"""Downloads from /files that hold no thread while the client reads.

WsgiDAV answers a GET with a generator that reads the file block by block.
Waitress runs it in one of its threads, and once 16 MiB wait to be sent to
a slow client that thread waits too: 8 slow readers held all 8 threads and
/jobs went unanswered. Here a GET of a regular file (whole or a range) is
answered by WsgiDAV as a HEAD, for its checks, conditional answers and
headers, and the bytes are handed to waitress as a `wsgi.file_wrapper`,
which its event loop sends straight from the file as fast as the client
reads; the thread is free at once. Anything else, or a file that changed
in between, goes to WsgiDAV as usual.
"""

import os
import stat
from typing import TYPE_CHECKING, Callable, Iterable, List, Optional, Tuple, TypedDict

from ..boundary.confined import ConfinedRoot, Refused
from ..defaults import DAV_BLOCK_SIZE
from .dispatch import spending_thread_budget

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Headers = List[Tuple[str, str]]


class _Started(TypedDict, total=False):
    """What WsgiDAV gave start_response for the HEAD."""

    status: str
    headers: Headers


def downloads_by_the_event_loop(app: 'WSGIApplication', root: bytes) -> 'WSGIApplication':
    """Answer GET of a regular file with `wsgi.file_wrapper`, so no thread waits on the client.

    WsgiDAV answers the request as a HEAD first, so its checks, conditional
    headers (304, 412), ranges and errors apply unchanged. Then the file,
    opened below `root` without following any symlink, is handed to the
    server, unless it changed in between (it then goes the usual way).
    Every other request, which may hold its thread for long, is served
    within the server's thread budget (`dispatch.ThreadBudget`); that quick
    HEAD is not, so parallel downloads are never refused for want of one.
    """
    budgeted = spending_thread_budget(app)
    confined = ConfinedRoot(os.fsdecode(root))

    def serve(environ: 'WSGIEnvironment', start_response: 'StartResponse') -> Iterable[bytes]:
        wrapper = environ.get('wsgi.file_wrapper')
        if environ.get('REQUEST_METHOD') != 'GET' or wrapper is None:
            return budgeted(environ, start_response)
        name = os.fsdecode(_path_bytes(environ))
        try:
            fd = _open_below(confined, name)
        except (OSError, ValueError, Refused):
            return budgeted(environ, start_response)
        try:
            answer = _head(app, environ, fd, confined, name)
        except BaseException:
            os.close(fd)
            raise
        if answer is None:
            os.close(fd)
            return budgeted(environ, start_response)
        status, headers, offset = answer
        os.lseek(fd, offset, os.SEEK_SET)
        start_response(status, headers)
        return wrapper(os.fdopen(fd, 'rb'), DAV_BLOCK_SIZE)

    return serve


def _open_below(confined: ConfinedRoot, path: str) -> int:
    """A read-only descriptor of the regular file at `path` (PATH_INFO) below
    the root, reached without following any link (boundary/confined.py)."""
    name = path.lstrip('/')
    if not name.strip('/'):
        raise ValueError('the root is a folder')
    return confined.open_fd(name)


def _head(
    app: 'WSGIApplication', environ: 'WSGIEnvironment', fd: int, confined: ConfinedRoot, name: str
) -> Optional[Tuple[str, Headers, int]]:
    """(status, headers, offset) WsgiDAV gives the request as a HEAD, if `fd` is what it saw."""
    opened = os.fstat(fd)
    if not stat.S_ISREG(opened.st_mode):
        return None
    answer: _Started = {}

    def start_response(
        status: str, headers: Headers, exc_info: Optional['OptExcInfo'] = None
    ) -> Callable[[bytes], object]:
        answer.update({'status': status, 'headers': headers})
        return lambda data: None

    result = app(dict(environ, REQUEST_METHOD='HEAD'), start_response)
    try:
        for _ in result:
            pass
    finally:
        if hasattr(result, 'close'):
            result.close()
    status = answer.get('status', '')
    headers = {name.lower(): value for name, value in answer.get('headers', [])}
    try:
        now = confined.locate(name.lstrip('/'))
    except (OSError, Refused):
        return None
    unchanged = (now.st_ino, now.st_dev, now.st_size, now.st_mtime_ns) == (
        opened.st_ino,
        opened.st_dev,
        opened.st_size,
        opened.st_mtime_ns,
    )
    if not unchanged or 'content-length' not in headers:
        return None
    if status.startswith('200 '):
        offset = 0
        if int(headers['content-length']) != opened.st_size:
            return None
    elif status.startswith('206 '):  # Content-Range: bytes <first>-<last>/<size>
        first = headers.get('content-range', '').partition(' ')[2].partition('-')[0]
        if not first.isdigit():
            return None
        offset = int(first)
    else:
        return None
    return status, answer['headers'], offset


def _path_bytes(environ: 'WSGIEnvironment') -> bytes:
    """The bytes of PATH_INFO (PEP 3333 carries them as latin-1)."""
    path = environ.get('PATH_INFO', '')
    try:
        return path.encode('latin-1')
    except UnicodeEncodeError:
        return path.encode('utf-8', 'surrogateescape')
