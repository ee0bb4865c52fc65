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
- Paths containing a `..` segment (also when sent as `%2e%2e`, which the
  server decodes before we see it) or a NUL byte are answered 403 before
  WsgiDAV sees them; WsgiDAV on its own would answer 400 for escapes.
  The same goes for the path in a COPY/MOVE Destination header.
- PUT creates missing parent folders: WsgiDAV answers 409 for a PUT whose
  parent does not exist, but clients upload to `input/<job name>/a/b.txt` on
  an empty tree. Each missing folder is made through the provider, so the
  same containment and symlink checks apply; the implicit folders ignore
  WebDAV locks (the PUT itself is still checked against them).
- No directory browser (GET on a folder answers 403; use PROPFIND), no CORS,
  no dead-property store; locks are kept in memory (some clients LOCK
  before they PUT).
- Quiet: `verbose: 1` turns off WsgiDAV's per-request INFO lines,
  `logging.enable: False` stops it configuring logging itself, and the
  `wsgidav` logger is set to WARNING so its chatty module loggers stay out
  of the service log while real problems still reach it.
- Streaming: WsgiDAV reads request bodies and files in `block_size` pieces
  and answers GET with an iterator, and waitress spools large request bodies
  to a temporary file, so no request holds a whole file in memory.
"""
import logging
from pathlib import Path
from urllib.parse import unquote, urlsplit

from wsgidav import util
from wsgidav.error_printer import ErrorPrinter
from wsgidav.fs_dav_provider import FilesystemProvider
from wsgidav.mw.base_mw import BaseMiddleware
from wsgidav.request_resolver import RequestResolver
from wsgidav.wsgidav_app import WsgiDAVApp

BLOCK_SIZE = 256 * 1024


def make_files_app(exchange_dir: Path, mount_path: str = '/files'):
    """A WSGI app serving `exchange_dir` over WebDAV, to be mounted at `mount_path`."""
    root = Path(exchange_dir)
    root.mkdir(parents=True, exist_ok=True)
    logging.getLogger('wsgidav').setLevel(logging.WARNING)
    fs_opts = {'follow_symlinks': False}
    config = {
        'provider_mapping': {'/': FilesystemProvider(str(root), fs_opts=fs_opts)},
        'fs_dav_provider': fs_opts,
        'mount_path': mount_path.rstrip('/') or None,
        'middleware_stack': [ErrorPrinter, _Anonymous, _CreateParentsOnPut,
                             RequestResolver],
        'http_authenticator': {'accept_basic': False, 'accept_digest': False},
        'lock_storage': True,
        'property_manager': None,
        'block_size': BLOCK_SIZE,
        'verbose': 1,
        'logging': {'enable': False},
    }
    return _refuse_escapes(WsgiDAVApp(config))


def _escapes(path: str) -> bool:
    return '\0' in path or '..' in path.split('/')


def _refuse_escapes(app):
    """Answer 403 to a request whose path or Destination tries to leave the folder."""
    def guarded(environ, start_response):
        destination = environ.get('HTTP_DESTINATION')
        if _escapes(environ.get('PATH_INFO', '')) or (
                destination and _escapes(unquote(urlsplit(destination).path))):
            body = b'Forbidden: the path leaves the file exchange area\n'
            start_response('403 Forbidden', [('Content-Type', 'text/plain; charset=utf-8'),
                                             ('Content-Length', str(len(body)))])
            return [body]
        return app(environ, start_response)
    return guarded


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
            except FileExistsError:     # a concurrent PUT made it first
                pass
            child = provider.get_resource_inst(child_path, environ)
        if child is None or not child.is_collection:
            return
        current, current_path = child, child_path
