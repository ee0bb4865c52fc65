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
  same containment and symlink checks apply; the implicit folders ignore
  WebDAV locks (the PUT itself is still checked against them).
- No directory browser (GET on a folder answers 403; use PROPFIND), no CORS,
  no dead-property store; locks are kept in memory (some clients LOCK
  before they PUT).
- Logging: `verbose: 1` turns off WsgiDAV's per-request INFO lines and
  `logging.enable: False` stops it installing a console handler of its own.
  WsgiDAV's `wsgidav` logger does not propagate by default (so even the
  traceback of a 500 would be lost); we let it propagate at WARNING, so
  warnings and errors reach the service log and its chatty INFO lines (a
  skipped symlink, an OPTIONS on /) do not.
- Streaming: WsgiDAV reads request bodies and files in `block_size` pieces
  and answers GET with an iterator, and waitress spools large request bodies
  to a temporary file, so no request holds a whole file in memory.
"""

import logging
import os
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

from wsgidav import util
from wsgidav.error_printer import ErrorPrinter
from wsgidav.fs_dav_provider import FilesystemProvider
from wsgidav.mw.base_mw import BaseMiddleware
from wsgidav.request_resolver import RequestResolver
from wsgidav.wsgidav_app import WsgiDAVApp

from ..defaults import DAV_BLOCK_SIZE


def make_files_app(exchange_dir: Path, mount_path: str = '/files'):
    """A WSGI app serving `exchange_dir` over WebDAV, to be mounted at `mount_path`."""
    root = Path(exchange_dir)
    root.mkdir(parents=True, exist_ok=True)
    wsgidav_logger = logging.getLogger('wsgidav')
    wsgidav_logger.setLevel(logging.WARNING)
    wsgidav_logger.propagate = True
    fs_opts = {'follow_symlinks': False}
    config = {
        'provider_mapping': {'/': FilesystemProvider(str(root), fs_opts=fs_opts)},
        'fs_dav_provider': fs_opts,
        'mount_path': mount_path.rstrip('/') or None,
        'middleware_stack': [ErrorPrinter, _Anonymous, _CreateParentsOnPut, RequestResolver],
        'http_authenticator': {'accept_basic': False, 'accept_digest': False},
        'lock_storage': True,
        'property_manager': None,
        'block_size': DAV_BLOCK_SIZE,
        'verbose': 1,
        'logging': {'enable': False},
    }
    return _refuse_escapes(
        WsgiDAVApp(config), os.fsencode(os.path.realpath(root)), mount_path.rstrip('/').encode()
    )


def _refuse_escapes(app, root: bytes, mount: bytes):
    """Answer 403 to a request whose path or Destination would leave `root`."""

    def guarded(environ, start_response):
        path = _wsgi_bytes(environ.get('PATH_INFO', ''))
        destination = environ.get('HTTP_DESTINATION')
        if _escapes(root, path) or (destination and _destination_escapes(root, mount, destination)):
            return _answer(
                start_response, '403 Forbidden', 'the path leaves the file exchange area'
            )
        try:
            path.decode('utf-8')
        except UnicodeDecodeError:  # WsgiDAV would fail with a 500
            return _answer(start_response, '400 Bad Request', 'the path is not UTF-8')
        return app(environ, start_response)

    return guarded


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
    path = unquote_to_bytes(urlsplit(destination).path)
    if path == mount or path.startswith(mount + b'/'):
        return _escapes(root, path[len(mount) :])
    return b'\0' in path or b'..' in path.split(b'/')  # WsgiDAV refuses it with 502


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
