"""The file exchange over HTTP: WebDAV on the `store-location-service` folder.

`make_files_app` returns a WSGI app that serves one folder with WsgiDAV, for
mounting at `/files` beside the /jobs API (see `dispatch.mount`). Clients
such as Cerise's upload inputs with PUT to `/files/input/<job name>/...`,
list with PROPFIND, download outputs with GET and clean up with DELETE.

What we configure, and why:

- One provider on the folder, shared at `/`; WsgiDAV's `mount_path`
  is the URL prefix the app is mounted at (the dispatcher moves that prefix
  into SCRIPT_NAME, as WSGI requires). WsgiDAV ignores SCRIPT_NAME and uses
  `mount_path` alone to build the hrefs of PROPFIND answers and to read
  COPY/MOVE Destination headers, so the two must agree.
- No authentication. Like Cerise's own WebDAV, the service is meant for
  loopback or a trusted network. We leave WsgiDAV's HTTPAuthenticator out and
  mark every request anonymous ourselves: the authenticator would log a
  warning about anonymous write access each time an app is built.
- The provider is ours (`files_provider.py`), not WsgiDAV's
  FilesystemProvider, which checked a path with realpath and then acted on
  the path again: a folder swapped for a symbolic link in between made it
  delete, overwrite, create or read files outside the folder. Every look
  and every change (GET, PUT, DELETE, MOVE, COPY, MKCOL, PROPFIND,
  PROPPATCH) goes through `boundary/confined.py`, one openat/O_NOFOLLOW
  walk from the folder, or a call relative to a folder descriptor it
  opened. A symbolic link anywhere on the way or at the end is refused
  (403), whether it points out or not, and listings leave links out.
- Paths are resolved before anything is checked (`_guarded`): the request
  path and a COPY/MOVE Destination are resolved once by
  `boundary.names.resolve` (dot segments, also sent as `%2e`, which the
  server decodes before we see it), PATH_INFO is replaced by the result,
  and every check and everything below sees those names: `/files/output/.`
  is `/files/output`. A `..` above the folder, or a path that is or passes
  through a symbolic link (walked with `boundary/confined.py`, whether the
  link leads out or not), answers 403; a NUL, a backslash or a name encoded twice
  (`%252e`) answers 400, and a path that is not UTF-8 too (WsgiDAV would
  fail on it with a 500). The Destination is parsed with WsgiDAV's own
  calls (it decodes before it splits off `;` and `?`), so a check never
  looks at another path than the one WsgiDAV acts on. WsgiDAV would answer
  400 for `..` above the root, and before 4.3.5 it followed a symlink in
  the middle of a path (`link/x`).
- The folder itself and its `input` and `output` folders cannot be
  deleted, moved or copied, nor be a COPY/MOVE Destination (403), however
  the path is spelled.
- `PROPFIND` with `Depth: infinity` answers 403 (RFC 4918's
  propfind-finite-depth): one such request over 50,000 files took 12 s and
  240 MB. A PROPFIND without Depth, which RFC 4918 reads as infinity, is
  served as Depth 1 (see `_finite_depth`).
- Bounded listings: one PROPFIND, GET of a folder or COPY shows (or walks)
  at most MAX_LISTING_ENTRIES files and folders; a folder with more is a
  403 (`files_members.py`, which says why it is refused, not cut short).
- PUT creates missing parent folders: WsgiDAV answers 409 for a PUT whose
  parent does not exist, but clients upload to `input/<job name>/a/b.txt` on
  an empty tree. Each missing folder is made by `boundary/confined.py`, one
  name at a time from the exchange folder, so a link on the way is refused.
- No locks: LOCK and UNLOCK answer 405 and OPTIONS says `DAV: 1`. Without
  authentication any client could lock a folder others use (a depth-infinity
  lock on `input/` held every upload off for 28 days), and a capped timeout
  would not help against a client that refreshes it. Our own client, like
  most simple WebDAV clients, never locks.
- Bounded paths: more than MAX_DEPTH names, a name longer than
  MAX_NAME_BYTES (both in `boundary/names.py`), or a path longer than the
  file system allows, answer 400 at once (a PUT 2,100 folders deep used to
  make folders for minutes and then fail with a 500).
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
import stat
from pathlib import Path
from urllib.parse import unquote, urlparse

from wsgidav import util
from wsgidav.dav_error import HTTP_CONFLICT, DAVError
from wsgidav.error_printer import ErrorPrinter
from wsgidav.mw.base_mw import BaseMiddleware
from wsgidav.request_resolver import RequestResolver
from wsgidav.wsgidav_app import WsgiDAVApp

from ..boundary.confined import ConfinedRoot, Outside, Refused, WrongKind
from ..boundary.names import LeavesRoot, NameRefused, resolve
from ..defaults import DAV_BLOCK_SIZE
from .files_answers import PATH_KEY, ErrorNoted, json_answers
from .files_downloads import downloads_by_the_event_loop
from .files_listing import listings
from .files_provider import ConfinedProvider, answered

#: the longest path on disk, in bytes, with room for a temporary upload name
MAX_PATH_BYTES = 4096 - 64
#: the folders that no request may delete, move, copy or overwrite: /files, input, output
PROTECTED = ((), ('input',), ('output',))
#: methods that remove or duplicate their source
TAKING = ('DELETE', 'MOVE', 'COPY')


def make_files_app(exchange_dir: Path, mount_path: str = '/files'):
    """A WSGI app serving `exchange_dir` over WebDAV, to be mounted at `mount_path`."""
    root = Path(exchange_dir)
    root.mkdir(parents=True, exist_ok=True)
    wsgidav_logger = logging.getLogger('wsgidav')
    wsgidav_logger.setLevel(logging.WARNING)
    wsgidav_logger.propagate = True
    config = {
        'provider_mapping': {'/': ConfinedProvider(str(root))},
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
    app = _guarded(app, real_root, resolve(mount_path))
    return json_answers(app, real_root)


class _Refused(Exception):
    """A request answered before WsgiDAV sees it: (status line, reason)."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status


def _guarded(app, root: bytes, mount: tuple):
    """`app`, seeing only requests whose paths were resolved first, then checked.

    The path (and a COPY/MOVE Destination) is resolved once with
    `boundary.names.resolve`, and PATH_INFO is replaced by the result, so
    every check here and everything below (WsgiDAV, listings, downloads)
    sees the same names: `/files/output/.` is `/files/output`.
    """

    def guarded(environ, start_response):
        try:
            _check(environ, root, mount)
        except _Refused as refused:
            return _answer(start_response, refused.status, str(refused))
        return app(environ, _without_connection_header(start_response))

    return guarded


def _check(environ: dict, root: bytes, mount: tuple) -> None:
    """Resolve the request's paths in `environ`; _Refused if it may not be served."""
    method = environ.get('REQUEST_METHOD', '')
    try:
        text = _wsgi_bytes(environ.get('PATH_INFO', '')).decode('utf-8')
    except UnicodeDecodeError:  # WsgiDAV would fail with a 500
        raise _Refused('400 Bad Request', 'the path is not UTF-8') from None
    names = _resolved(text, 'path')
    canonical = _url_path(names, _is_folder(text))
    environ['PATH_INFO'] = canonical.encode('utf-8').decode('latin-1')
    environ[PATH_KEY] = canonical
    target = None
    if 'HTTP_DESTINATION' in environ:
        target = _destination(environ['HTTP_DESTINATION'], mount)
    confined = ConfinedRoot(os.fsdecode(root))
    for checked in (names, target):
        if checked is not None:
            _inside(confined, root, checked)
    if method in TAKING and names in PROTECTED:
        raise _Refused(
            '403 Forbidden',
            f'{method} of {_shown(mount, names)} is not allowed: the exchange folders '
            '/files, /files/input and /files/output stay in place',
        )
    if target in PROTECTED:
        raise _Refused(
            '403 Forbidden',
            f'the Destination {_shown(mount, target)} is an exchange folder; '
            '/files, /files/input and /files/output stay in place',
        )
    if method == 'PROPFIND':
        _finite_depth(environ)


def _resolved(text: str, what: str) -> tuple:
    try:
        return resolve(text)
    except LeavesRoot:
        raise _Refused('403 Forbidden', f'the {what} leaves the file exchange area') from None
    except NameRefused as exc:
        raise _Refused('400 Bad Request', f'the {what} {exc}') from None


def _is_folder(text: str) -> bool:
    """Whether a path names a folder by its spelling: `a/`, `a/.` and `a/b/..` do."""
    return text.endswith('/') or text.rsplit('/', 1)[-1] in ('.', '..')


def _url_path(names: tuple, folder: bool) -> str:
    return '/' + '/'.join(names) + ('/' if folder and names else '')


def _shown(mount: tuple, names: tuple) -> str:
    return _url_path(mount + names, False)


def _destination(header: str, mount: tuple) -> tuple:
    """The names below the mount point that a COPY/MOVE Destination header designates.

    Parsed with the very calls WsgiDAV makes (unquote, then urlparse without
    fragments: `%3B`, `%3F` and `%23` are structure to it, and a decoded
    `%2F` in the host moves the path), then resolved; and compared with
    WsgiDAV's own normalisation, so the checks here see what WsgiDAV will
    act on, or the request is refused.
    """
    path = urlparse(unquote(header), allow_fragments=False).path
    names = _resolved(path, 'Destination')
    try:
        same = util.normalize_path(path) == _url_path(names, path.endswith('/'))
    except Exception:  # WsgiDAV refuses it: so do we, the same way
        same = False
    if not same:
        raise _Refused('400 Bad Request', 'the Destination is ambiguous; send a plain URL path')
    if names[: len(mount)] != mount:
        raise _Refused('502 Bad Gateway', 'the Destination must be on this server, below /files')
    return names[len(mount) :]


def _finite_depth(environ: dict) -> None:
    """Refuse PROPFIND with Depth: infinity (RFC 4918 "propfind-finite-depth").

    Listing a whole tree in one answer took 12 s and 240 MB for 50,000 files.
    RFC 4918 reads a missing Depth as infinity; clients that send none
    (webdav4's exists, isdir and info) read only the first response, so a
    missing Depth is taken as 1 instead, which answers them and stays bounded.
    """
    depth = environ.get('HTTP_DEPTH')
    if depth is None:
        environ['HTTP_DEPTH'] = '1'
    elif depth.strip().lower() == 'infinity':
        raise _Refused(
            '403 Forbidden',
            'PROPFIND with Depth: infinity is not offered (RFC 4918 propfind-finite-depth); '
            'send Depth: 1 and list folders one at a time',
        )


def _inside(confined: ConfinedRoot, root: bytes, names: tuple) -> None:
    """_Refused if root/names... is too long, or is or passes through a symbolic link.

    The way is walked with `boundary.confined` (openat, O_NOFOLLOW): a link
    met anywhere is refused, whether it points out of the folder or not.
    Something missing on the way is left to WsgiDAV (a PUT makes the
    folders); a look that fails otherwise refuses. This answers early and
    in words; what keeps a request inside is that the provider
    (files_provider.py) acts through the same walk again, so a swap after
    this check changes nothing.
    """
    name = '/'.join(names)
    if len(root) + 1 + len(name.encode('utf-8', 'surrogateescape')) > MAX_PATH_BYTES:
        raise _Refused(
            '400 Bad Request', f'the path is longer than {MAX_PATH_BYTES - len(root)} bytes'
        )
    try:
        found = confined.locate(name)
    except (FileNotFoundError, WrongKind):
        return  # nothing there, or a file where a folder would be: WsgiDAV answers 404/409
    except Outside as exc:
        raise _Refused('403 Forbidden', f'{exc.reason}; links are not served from /files') from None
    except (OSError, Refused) as exc:
        raise _Refused('403 Forbidden', f'the path cannot be checked ({exc})') from None
    if stat.S_ISLNK(found.st_mode):
        raise _Refused(
            '403 Forbidden',
            f'{name} is a symbolic link, which is never followed; links are not served from /files',
        )


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

    Runs after WsgiDAV has chosen the provider, just before the request is
    served. The folders are made by `boundary.confined`, one name at a time
    from the exchange folder, so a link on the way is refused (DAVError 403,
    answered by ErrorPrinter), never followed; a parent that exists but is a
    file is left for the PUT to answer 409.
    """

    def __call__(self, environ, start_response):
        provider = environ.get('wsgidav.provider')
        if environ['REQUEST_METHOD'] == 'PUT' and provider is not None:
            _make_parents(provider.confined, environ['PATH_INFO'])
        return self.next_app(environ, start_response)


def _make_parents(confined: ConfinedRoot, path: str) -> None:
    parent = util.get_uri_parent(path)
    if not parent or not parent.strip('/'):
        return
    try:
        with answered(parent.strip('/')):
            confined.mkdir(parent.strip('/'))
    except DAVError as exc:
        if exc.value != HTTP_CONFLICT:
            raise
        # a file where a folder would be: the PUT answers 409
