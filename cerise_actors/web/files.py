"""The file exchange over HTTP: WebDAV on the `store-location-service` folder.

`make_files_app` returns a WSGI app that serves one folder with WsgiDAV, for
mounting at `/files` beside the /jobs API (see `dispatch.mount`). Clients
such as Cerise's upload inputs with PUT to `/files/input/<job name>/...`,
list with PROPFIND, download outputs with GET and clean up with DELETE.

What we configure, and why:

- One FilesystemProvider on the folder, shared at `/`; WsgiDAV's `mount_path`
  is the URL prefix the app is mounted at (the dispatcher moves that prefix
  into SCRIPT_NAME, as WSGI requires). WsgiDAV ignores SCRIPT_NAME and uses
  `mount_path` alone to build the hrefs of PROPFIND answers and to read
  COPY/MOVE Destination headers, so the two must agree.
- No authentication. Like Cerise's own WebDAV, the service is meant for
  loopback or a trusted network. We leave WsgiDAV's HTTPAuthenticator out and
  mark every request anonymous ourselves: the authenticator would log a
  warning about anonymous write access each time an app is built.
- `follow_symlinks: False`: WsgiDAV then resolves every path with realpath
  and answers 403 for anything outside the folder, refuses a symlink as the
  last path element (403) and leaves symlinks out of listings. A symlink in
  the folder, even one pointing inside it, is therefore not served.
- Before WsgiDAV sees a request, a path with a `..` segment (also when sent
  as `%2e%2e`, which the server decodes before we see it) or a NUL byte, or
  one whose realpath is outside the folder, is answered 403; so is such a
  path in a COPY/MOVE Destination header. WsgiDAV would answer 400 for `..`,
  and before 4.3.5 it followed a symlink in the middle of a path (`link/x`).
  A path that is not UTF-8 gets 400 (WsgiDAV would fail on it with a 500).
- PUT creates missing parent folders: WsgiDAV answers 409 for a PUT whose
  parent does not exist, but clients upload to `input/<job name>/a/b.txt` on
  an empty tree. Each missing folder is made through the provider, so the
  same containment and symlink checks apply.
- No locks: LOCK and UNLOCK answer 405 and OPTIONS says `DAV: 1`. Without
  authentication any client could lock a folder others use (a depth-infinity
  lock on `input/` held every upload off for 28 days), and a capped timeout
  would not help against a client that refreshes it. Our own client, like
  most simple WebDAV clients, never locks.
- Bounded paths: more than MAX_DEPTH segments, a segment longer than
  MAX_NAME_BYTES, or a path longer than the file system allows, answer 400
  at once (a PUT 2,100 folders deep used to make folders for minutes and
  then fail with a 500). The root and its `input` and `output` folders
  cannot be deleted, moved or overwritten (403).
- Uploads are atomic (`files_uploads.py`): a PUT writes a temporary file
  and renames it into place, so no reader sees a half-written file.
- Downloads hold no thread while the client reads (`files_downloads.py`):
  waitress's event loop sends the file.
- Readable answers: GET on a folder gives a listing, HTML or JSON
  (`files_listing.py`), in place of WsgiDAV's 403 and its optional browser;
  errors are the API's JSON and a 201 is a short JSON object with the URL
  (`files_answers.py`), in place of WsgiDAV's HTML pages.
- No CORS, no dead-property store.
- Logging: `verbose: 1` turns off WsgiDAV's per-request INFO lines and
  `logging.enable: False` stops it installing a console handler of its own.
  WsgiDAV's `wsgidav` logger does not propagate by default (so even the
  traceback of a 500 would be lost); we let it propagate at WARNING, so
  warnings and errors reach the service log and its chatty INFO lines (a
  skipped symlink, an OPTIONS on /) do not.
- Streaming: WsgiDAV reads request bodies in `block_size` pieces, waitress
  spools large request bodies to a temporary file and sends downloads from
  the file, so no request holds a whole file in memory.
"""

import logging
import os
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

from wsgidav import util
from wsgidav.error_printer import ErrorPrinter
from wsgidav.mw.base_mw import BaseMiddleware
from wsgidav.request_resolver import RequestResolver
from wsgidav.wsgidav_app import WsgiDAVApp

from ..defaults import DAV_BLOCK_SIZE
from .files_answers import ErrorNoted, json_answers
from .files_downloads import downloads_by_the_event_loop
from .files_listing import listings
from .files_uploads import AtomicUploads

#: the most path segments below /files (input/<job>/ and a deep input tree fit)
MAX_DEPTH = 64
#: the longest single name, in bytes (NAME_MAX of common Linux file systems)
MAX_NAME_BYTES = 255
#: the longest path on disk, in bytes, with room for a temporary upload name
MAX_PATH_BYTES = 4096 - 64
#: paths that no request may delete, move or overwrite
PROTECTED = ('', 'input', 'output')


def make_files_app(exchange_dir: Path, mount_path: str = '/files'):
    """A WSGI app serving `exchange_dir` over WebDAV, to be mounted at `mount_path`."""
    root = Path(exchange_dir)
    root.mkdir(parents=True, exist_ok=True)
    wsgidav_logger = logging.getLogger('wsgidav')
    wsgidav_logger.setLevel(logging.WARNING)
    wsgidav_logger.propagate = True
    fs_opts = {'follow_symlinks': False}
    config = {
        'provider_mapping': {'/': AtomicUploads(str(root), fs_opts=fs_opts)},
        'fs_dav_provider': fs_opts,
        'mount_path': mount_path.rstrip('/') or None,
        'middleware_stack': [
            ErrorPrinter,
            ErrorNoted,
            _Anonymous,
            _CreateParentsOnPut,
            RequestResolver,
        ],
        'http_authenticator': {'accept_basic': False, 'accept_digest': False},
        'lock_storage': None,
        'property_manager': None,
        'block_size': DAV_BLOCK_SIZE,
        'verbose': 1,
        'logging': {'enable': False},
    }
    real_root = os.fsencode(os.path.realpath(root))
    app = downloads_by_the_event_loop(listings(WsgiDAVApp(config), real_root), real_root)
    app = _refuse_escapes(app, real_root, mount_path.rstrip('/').encode())
    return json_answers(app, real_root)


def _refuse_escapes(app, root: bytes, mount: bytes):
    """Answer 403 to a request whose path or Destination would leave `root`."""

    def guarded(environ, start_response):
        path = _wsgi_bytes(environ.get('PATH_INFO', ''))
        destination = environ.get('HTTP_DESTINATION')
        target = destination and _destination_path(mount, destination)
        if _escapes(root, path) or (destination and _destination_escapes(root, mount, destination)):
            return _answer(
                start_response, '403 Forbidden', 'the path leaves the file exchange area'
            )
        for checked in (path, target):
            problem = checked and _too_long(root, checked)
            if problem:
                return _answer(start_response, '400 Bad Request', problem)
        method = environ.get('REQUEST_METHOD')
        if (method in ('DELETE', 'MOVE') and _protected(path)) or (target and _protected(target)):
            return _answer(start_response, '403 Forbidden', 'the exchange folders stay in place')
        try:
            path.decode('utf-8')
        except UnicodeDecodeError:  # WsgiDAV would fail with a 500
            return _answer(start_response, '400 Bad Request', 'the path is not UTF-8')
        return app(environ, _without_connection_header(start_response))

    return guarded


def _without_connection_header(start_response):
    """`start_response` that drops WsgiDAV's `Connection: close`.

    WsgiDAV adds it to an error answer that did not read the whole request
    body, and waitress refuses it (PEP 3333 forbids hop-by-hop headers) with
    a 500 and a traceback. Waitress has read the whole body before the app
    runs, so the connection can safely be kept.
    """

    def start(status, headers, exc_info=None):
        headers = [(name, value) for name, value in headers if name.lower() != 'connection']
        return start_response(status, headers, exc_info)

    return start


def _answer(start_response, status: str, text: str):
    body = f'{status.split(" ", 1)[1]}: {text}\n'.encode()
    start_response(
        status, [('Content-Type', 'text/plain; charset=utf-8'), ('Content-Length', str(len(body)))]
    )
    return [body]


def _wsgi_bytes(text: str) -> bytes:
    """The bytes of a WSGI path string (PEP 3333 carries them as latin-1)."""
    try:
        return text.encode('latin-1')
    except UnicodeEncodeError:
        return text.encode('utf-8', 'surrogateescape')


def _escapes(root: bytes, path: bytes) -> bool:
    """Whether `path`, below `root`, names a NUL, a `..` or a place outside `root`.

    Checked with realpath, so a symlink anywhere on the way counts. WsgiDAV
    checks the same since 4.3.5; this keeps the promise whatever its version.
    """
    parts = path.split(b'/')
    if b'\0' in path or b'..' in parts:
        return True
    real = os.path.realpath(os.path.join(root, *[p for p in parts if p not in (b'', b'.')]))
    return os.path.commonpath([root, real]) != root


def _destination_escapes(root: bytes, mount: bytes, destination: str) -> bool:
    path = _destination_path(mount, destination)
    if path is not None:
        return _escapes(root, path)
    path = unquote_to_bytes(urlsplit(destination).path)
    return b'\0' in path or b'..' in path.split(b'/')  # WsgiDAV refuses it with 502


def _destination_path(mount: bytes, destination: str):
    """The path below the mount point that a Destination header names, or None."""
    path = unquote_to_bytes(urlsplit(destination).path)
    if path == mount or path.startswith(mount + b'/'):
        return path[len(mount) :]
    return None


def _too_long(root: bytes, path: bytes):
    """Why `path` is too deep or too long to serve, or None.

    Checked before WsgiDAV sees the request, so the answer is quick.
    """
    names = [name for name in path.split(b'/') if name]
    if len(names) > MAX_DEPTH:
        return f'the path is deeper than {MAX_DEPTH} folders'
    if any(len(name) > MAX_NAME_BYTES for name in names):
        return f'a name is longer than {MAX_NAME_BYTES} bytes'
    if len(root) + len(path) > MAX_PATH_BYTES:
        return f'the path is longer than {MAX_PATH_BYTES - len(root)} bytes'
    return None


def _protected(path: bytes) -> bool:
    return b'/'.join(name for name in path.split(b'/') if name) in [
        name.encode() for name in PROTECTED
    ]


class _Anonymous(BaseMiddleware):
    """Marks every request as anonymous, in place of WsgiDAV's HTTPAuthenticator."""

    def __call__(self, environ, start_response):
        environ['wsgidav.auth.realm'] = environ.get('SCRIPT_NAME', '')
        environ['wsgidav.auth.user_name'] = ''
        environ['wsgidav.auth.roles'] = None
        environ['wsgidav.auth.permissions'] = None
        return self.next_app(environ, start_response)


class _CreateParentsOnPut(BaseMiddleware):
    """Makes the missing parent folders of a PUT target, as MKCOL would.

    Runs after WsgiDAV has normalised PATH_INFO and chosen the provider, just
    before the request is served. Containment errors (DAVError 403) propagate
    to ErrorPrinter, which answers them; a parent that exists but is a file is
    left for the PUT to answer 409.
    """

    def __call__(self, environ, start_response):
        provider = environ.get('wsgidav.provider')
        if environ['REQUEST_METHOD'] == 'PUT' and provider is not None:
            _make_parents(provider, environ['PATH_INFO'], environ)
        return self.next_app(environ, start_response)


def _make_parents(provider, path: str, environ: dict) -> None:
    parent = util.get_uri_parent(path)
    if parent is None:
        return
    current = provider.get_resource_inst('/', environ)
    current_path = '/'
    for name in [part for part in parent.split('/') if part]:
        child_path = util.join_uri(current_path, name)
        child = provider.get_resource_inst(child_path, environ)
        if child is None:
            try:
                current.create_collection(name)
            except FileExistsError:  # a concurrent PUT made it first
                pass
            child = provider.get_resource_inst(child_path, environ)
        if child is None or not child.is_collection:
            return
        current, current_path = child, child_path
