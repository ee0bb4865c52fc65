"""The answers of /files in the API's words: JSON errors, short JSON for what was created.

WsgiDAV answers errors and `201 Created` with HTML pages of its own ("add
WsgiDavDirBrowser to the middleware_stack option", a "201 Created" page
after `curl -T`), and our own checks answered in plain text. Here every
error answer of /files becomes the JSON of the /jobs API,
`{"title": ..., "description": ...}`, with a description that names the
path and says what to do, and a 201 becomes a short JSON object with the
URL of what was created (and the size of an uploaded file):

    {"url": "http://127.0.0.1:29593/files/input/demo/hello.txt", "size": 14}

Headers other than the body's own (Allow, Retry-After, Date, ...) are
kept, and so are XML error bodies: those carry the RFC 4918 pre- and
postcondition codes WebDAV clients read. Nothing else changes: listings,
downloads (also those the event loop sends) and multi-status answers pass
untouched.

WsgiDAV calls `start_response` only once its answer is iterated (its
ErrorPrinter is a generator), so the decision is made at the first chunk.
The exception WsgiDAV raised, which `ErrorNoted` (a WsgiDAV middleware)
puts in the environ, gives the reason behind an error.
"""

import http
import json
import os
from typing import (
    TYPE_CHECKING,
    Callable,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    TypedDict,
)
from urllib.parse import quote, unquote_to_bytes, urlsplit
from wsgiref.util import application_uri

from wsgidav.dav_error import DAVError
from wsgidav.mw.base_mw import BaseMiddleware

from ..boundary.confined import ConfinedRoot, Refused

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Headers = List[Tuple[str, str]]


class _Held(TypedDict, total=False):
    """What `json_answers` keeps of WsgiDAV's start_response: the answer it
    rewrites (`status`, `headers`), or `passed` when it lets the answer through."""

    status: str
    headers: Headers
    passed: bool


class _Url(TypedDict):
    url: str


class _Created(_Url, total=False):
    """The JSON of a 201: the URL of what was made, and an uploaded file's size."""

    size: int


#: where ErrorNoted leaves the exception behind an error answer
ERROR_KEY = 'cerise_actors.files_error'
#: where the guard of files.py leaves the request's path once resolved (`/output/.` is
#: `/output`); answers name that path, and PATH_INFO until the guard has run
PATH_KEY = 'cerise_actors.files_path'
#: the most bytes of an answer that is rewritten that are read (WsgiDAV's pages are small)
MAX_READ = 64 * 1024


class ErrorNoted(BaseMiddleware):
    """A WsgiDAV middleware that notes the exception of a failed request in the environ."""

    def __call__(
        self, environ: 'WSGIEnvironment', start_response: 'StartResponse'
    ) -> Iterator[bytes]:
        try:
            yield from self.next_app(environ, start_response)
        except Exception as exc:
            environ[ERROR_KEY] = exc
            raise


def json_answers(app: 'WSGIApplication', root: bytes) -> 'WSGIApplication':
    """`app` (serving the folder `root`), with JSON error and 201 answers."""

    def serve(environ: 'WSGIEnvironment', start_response: 'StartResponse') -> Iterable[bytes]:
        held: _Held = {}

        def start(
            status: str, headers: Headers, exc_info: Optional['OptExcInfo'] = None
        ) -> Callable[[bytes], object]:
            if not held and _rewritten(status, headers):
                held.update({'status': status, 'headers': headers})
                return lambda data: None
            held['passed'] = True
            return start_response(status, headers, exc_info)

        result = app(environ, start)
        if held.get('passed'):
            return result  # as it is: waitress must still recognise a file_wrapper
        request = _Request(environ, root)  # now: the guard has resolved the path
        if 'status' in held:
            return _replace(result, request, held, start_response)
        return _Deciding(result, request, held, start_response)

    return serve


def _rewritten(status: str, headers: Headers) -> bool:
    code = int(status[:3])
    content_type = _header(headers, 'content-type').lower()
    if code >= 400:
        return 'json' not in content_type and 'xml' not in content_type
    return code == 201


def _header(headers: Headers, name: str) -> str:
    return next((value for key, value in headers if key.lower() == name), '')


class _Deciding:
    """An answer whose start_response comes with its first chunk: rewritten then, or passed."""

    def __init__(
        self,
        result: Iterable[bytes],
        request: '_Request',
        held: _Held,
        start_response: 'StartResponse',
    ) -> None:
        self._result = result
        self._request = request
        self._held = held
        self._start_response = start_response

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._result)
        first = next(chunks, None)
        if 'status' in self._held:
            body = _read(first, chunks)
            yield from self._request.answer(self._held, body, self._start_response)
            return
        if first is not None:
            yield first
        yield from chunks

    def close(self) -> None:
        if hasattr(self._result, 'close'):
            self._result.close()


def _replace(
    result: Iterable[bytes], request: '_Request', held: _Held, start_response: 'StartResponse'
) -> List[bytes]:
    try:
        chunks = iter(result)
        body = _read(next(chunks, None), chunks)
    finally:
        if hasattr(result, 'close'):
            result.close()
    return list(request.answer(held, body, start_response))


def _read(first: Optional[bytes], chunks: Iterator[bytes]) -> bytes:
    body = first or b''
    for chunk in chunks:
        if len(body) < MAX_READ:
            body += chunk
    return body[:MAX_READ]


class _Request:
    """What an answer is rewritten from: the request as it came, before WsgiDAV saw it."""

    def __init__(self, environ: 'WSGIEnvironment', root: bytes) -> None:
        self.environ = environ
        self.method = environ.get('REQUEST_METHOD', '')
        self.root = root
        resolved = environ.get(PATH_KEY)
        if resolved is not None:
            self.path_bytes = resolved.encode('utf-8')
        else:
            self.path_bytes = _wsgi_bytes(environ.get('PATH_INFO', ''))
        script = environ.get('SCRIPT_NAME', '')
        self.shown = script + self.path_bytes.decode('utf-8', 'replace')
        self.url = application_uri(environ).rstrip('/') + quote(self.path_bytes)

    def answer(self, held: _Held, body: bytes, start_response: 'StartResponse') -> Iterator[bytes]:
        status, headers = held['status'], held['headers']
        code = int(status[:3])
        data: Mapping[str, object]
        if code == 201:
            data = created = self.created()
            headers = headers + [('Location', created['url'])]
        else:
            data = {'title': _title(code), 'description': self.description(code, headers, body)}
        text = (json.dumps(data) + '\n').encode()
        kept = [(k, v) for k, v in headers if k.lower() not in ('content-type', 'content-length')]
        length = 0 if self.method == 'HEAD' else len(text)
        start_response(
            status,
            kept + [('Content-Type', 'application/json'), ('Content-Length', str(length))],
        )
        yield b'' if self.method == 'HEAD' else text

    # --- 201 ----------------------------------------------------------------
    def created(self) -> _Created:
        if self.method in ('COPY', 'MOVE'):
            destination = self.environ.get('HTTP_DESTINATION', '')
            return {'url': destination}
        if self.method == 'MKCOL':
            return {'url': self.url.rstrip('/') + '/'}
        data: _Created = {'url': self.url}
        name = self.path_bytes.decode('utf-8', 'surrogateescape').strip('/')
        try:  # through boundary/confined.py: a folder swapped for a link is not followed
            data['size'] = ConfinedRoot(os.fsdecode(self.root)).locate(name).st_size
        except (OSError, Refused):
            pass
        return data

    # --- errors ---------------------------------------------------------------
    def description(self, code: int, headers: Headers, body: bytes) -> str:
        method, path = self.method, self.shown
        if _header(headers, 'content-type').startswith('text/plain') and body.strip():
            text = body.decode('utf-8', 'replace').strip()  # our own checks' answers
            reason = http.HTTPStatus(code).phrase if code in _CODES else ''
            return text[len(reason) + 2 :] if text.startswith(reason + ': ') else text
        error = self.environ.get(ERROR_KEY)
        context = error.context_info if isinstance(error, DAVError) else None
        if not isinstance(context, str):
            context = None
        if code == 403 and context and context.startswith('Symlink'):
            return f'{path} is a symbolic link; links are not served from /files'
        if context and os.fsdecode(self.root) in context:
            context = None  # it names the folder on the service's disk
        if code == 403:
            return f'{method} {path} is not allowed' + (f': {context}' if context else '')
        if code == 404:
            return f'there is no file or folder at {path}'
        if code == 405:
            return self._not_allowed(headers)
        if code == 409:
            return self._conflict()
        if code == 412:
            return (
                f'{method} {path}: a precondition failed (If-Match, If-None-Match, If or '
                f'Overwrite header)' + (f': {context}' if context else '')
            )
        if code == 502 and method in ('COPY', 'MOVE'):
            return 'the Destination must be on this server, below /files'
        if code == 507:
            return context or 'the disk of the file exchange is full'
        if code >= 500:
            return f'{method} {path} failed inside the service; its log says why'
        return context or f'{method} {path}: {http.HTTPStatus(code).phrase}'

    def _not_allowed(self, headers: Headers) -> str:
        method, path = self.method, self.shown
        if method in ('LOCK', 'UNLOCK'):
            return (
                'locks are not offered: /files is WebDAV class 1, and clients write without locking'
            )
        if method == 'MKCOL':
            return f'{path} already exists'
        if method == 'PUT':
            return f'{path} is a folder; PUT a file below it'
        allowed = _header(headers, 'allow')
        return f'{method} is not allowed on {path}' + (f'; allowed: {allowed}' if allowed else '')

    def _conflict(self) -> str:
        method, path = self.method, self.shown
        if method == 'PUT':
            return f'a parent of {path} is a file, not a folder'
        if method == 'MKCOL':
            return (
                f'the folder that would hold {path} does not exist; MKCOL makes one folder '
                f'at a time (a PUT makes the missing folders of a file)'
            )
        if method in ('COPY', 'MOVE'):
            target = unquote_to_bytes(urlsplit(self.environ.get('HTTP_DESTINATION', '')).path)
            return f'the folder that would hold {target.decode("utf-8", "replace")} does not exist'
        return f'{method} {path} conflicts with what is there'


_CODES = {status.value for status in http.HTTPStatus}


def _title(code: int) -> str:
    if code not in _CODES:
        return f'HTTP {code}'
    phrase = http.HTTPStatus(code).phrase
    return phrase[0] + phrase[1:].lower()


def _wsgi_bytes(text: str) -> bytes:
    """The bytes of a WSGI path string (PEP 3333 carries them as latin-1)."""
    try:
        return text.encode('latin-1')
    except UnicodeEncodeError:
        return text.encode('utf-8', 'surrogateescape')
