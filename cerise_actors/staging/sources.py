"""Reading what users point at: files in the exchange area or http(s) URLs.

Errors come out as our own exceptions: a missing file, a file that is not a
regular file, or an HTTP 4xx is a permanent problem with the job
(InvalidInput); a time-out, a refused connection, an HTTP 5xx or a file
that changed while it was copied may pass (SourceUnavailable): the job then
ends TemporaryFailure, as the spec says, while an unreachable compute
resource is waited for instead (see the StagerActor).

Every read is bounded (see bounded.py): a deadline and a size cap per
source, and a cancel, delete or shutdown interrupts even a read that is
blocked on a silent server.
"""

import contextlib
import http.client
import os
import socket
import ssl
import stat
import urllib.error
import urllib.parse
import urllib.request
from typing import IO, Any, Iterator, List, Optional

from ..boundary.confined import Entry, Refused, WrongKind, kind_of
from ..boundary.network import (
    DenyList,
    FetchDenied,
    connect_allowed,
    redirect_refusal,
    url_refusal,
    without_credentials,
)
from ..defaults import MAX_REDIRECTS, MAX_WORKFLOW_BYTES
from ..errors import InvalidInput, SourceUnavailable
from .bounded import BoundedSource, ShouldStop, SourceLimits, Transfer, never_stop, watch
from .exchange import Exchange


class Sources:
    """The sources of one job, read within `limits` until `should_stop()`."""

    def __init__(
        self,
        exchange: Exchange,
        limits: SourceLimits = SourceLimits(),
        should_stop: ShouldStop = never_stop,
    ):
        self._exchange = exchange
        self._limits = limits
        self._should_stop = should_stop

    @contextlib.contextmanager
    def open(self, url: str) -> Iterator[BoundedSource]:
        """A bounded binary stream of the file or URL a user gave; its `size`
        is the announced size, if any."""
        _refuse_nul(url)
        name = self._exchange.name_of(url)
        transfer = Transfer(url, self._limits, self._should_stop)
        if name is not None:
            with self.open_file(name, url, transfer) as stream:
                yield stream
            return
        with watch(transfer):
            response = self._open_http(url, transfer)
            with response:
                length = response.headers.get('Content-Length')
                size = int(length) if length and length.isdigit() else None
                if size is not None and size > self._limits.max_bytes:
                    raise InvalidInput(
                        f'{url} is larger than {self._limits.max_bytes} bytes (limits.source-bytes)'
                    )
                yield BoundedSource(response, transfer, size)

    @contextlib.contextmanager
    def open_file(self, name: str, url: str, transfer=None) -> Iterator[BoundedSource]:
        """The regular file `name` of the exchange area (relative to it),
        opened through its confined root: no link is followed on the way,
        so a folder swapped for a link meanwhile is refused, never read
        through. A FIFO or a device is refused before it is read, since it
        would block or never end. `url` is what the user named, for
        messages."""
        transfer = transfer or Transfer(url, self._limits, self._should_stop)
        try:
            stream = self._exchange.root.open_read(name)
        except FileNotFoundError:
            raise InvalidInput(f'{url} does not exist') from None
        except WrongKind as exc:
            raise InvalidInput(f'{url} is {exc.kind}; only regular files can be inputs') from None
        except Refused as exc:
            raise self._exchange.refused(url, exc) from None
        except OSError as exc:
            raise InvalidInput(f'{url} cannot be read ({exc.strerror or exc})') from None
        with stream:
            fd = stream.fileno()
            opened = os.fstat(fd)

            def changed() -> bool:
                now = os.fstat(fd)
                return (now.st_size, now.st_mtime_ns) != (opened.st_size, opened.st_mtime_ns)

            if opened.st_size > self._limits.max_bytes:
                raise InvalidInput(
                    f'{url} is larger than {self._limits.max_bytes} bytes (limits.source-bytes)'
                )
            yield BoundedSource(stream, transfer, opened.st_size, changed)

    def _open_http(self, url: str, transfer: Transfer):
        """The response to GET `url`. A URL that can never be fetched as
        given (credentials in it, a host that is no valid name) is refused
        before anything is resolved or sent, naming it without its
        credentials."""
        refusal = url_refusal(url)
        if refusal is not None:
            raise InvalidInput(f'{without_credentials(url)} {refusal}')
        route = _Route(url)
        opener = _opener(transfer, route, self._limits.deny)
        try:
            return opener.open(url, timeout=self._limits.silence)
        except FetchDenied as exc:  # a denied address: nothing was sent to it
            raise InvalidInput(route.explain(exc)) from None
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code >= 500 or exc.code in (408, 429):
                raise SourceUnavailable(f'{url}: HTTP {exc.code} {exc.reason}') from exc
            raise InvalidInput(f'{url}: HTTP {exc.code} {exc.reason}') from exc
        except urllib.error.URLError as exc:  # before or while connecting
            transfer.check(force=True)
            raise SourceUnavailable(f'{url}: cannot connect ({exc.reason})') from exc
        except (socket.timeout, TimeoutError) as exc:  # connected, then nothing came
            transfer.check(force=True)
            raise SourceUnavailable(
                f'{url}: the server accepted the connection but did not answer within '
                f'{self._limits.silence:g} s'
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            transfer.check(force=True)
            raise SourceUnavailable(
                f'{url}: the server closed the connection without a valid answer '
                f'({str(exc) or type(exc).__name__})'
            ) from exc
        except ValueError as exc:  # e.g. a control character in the URL
            raise InvalidInput(f'{url!r} is not a valid URL ({exc})') from exc

    def directory(self, url: str) -> str:
        """The name (relative to the exchange area) of the folder a Directory
        input names, looked at without following a link; http folders are
        refused. Walk it with `self.walk`."""
        _refuse_nul(url)
        name = self._exchange.checked_name(url)
        if name is None:
            raise InvalidInput(f'{url}: Directory inputs must be in the file exchange area')
        try:
            found = self._exchange.root.locate(name)
        except FileNotFoundError:
            raise InvalidInput(f'{url} is not an existing folder') from None
        except Refused as exc:
            raise self._exchange.refused(url, exc) from None
        except OSError as exc:
            raise InvalidInput(f'{url} cannot be read ({exc.strerror or exc})') from None
        if not stat.S_ISDIR(found.st_mode):
            raise InvalidInput(f'{url} is not an existing folder')
        return name

    def walk(self, name: str, url: str) -> Iterator[Entry]:
        """Everything in the exchange folder `name` (see `directory`),
        parents first; a link or anything but files and folders is refused
        with InvalidInput naming it below `url`, as is a folder swapped for
        a link while it is walked."""
        try:
            for entry in self._exchange.root.walk(name):
                if entry.is_link:
                    raise InvalidInput(
                        f'{url}/{entry.name} is a symbolic link; a Directory input may hold '
                        f'only files and folders (links are never followed)'
                    )
                if not (entry.is_dir or entry.is_file):
                    kind = kind_of(entry.stat.st_mode)
                    raise InvalidInput(
                        f'{url}/{entry.name} is {kind}; only regular files can be inputs'
                    )
                yield entry
        except Refused as exc:
            raise self._exchange.refused(url, exc) from None
        except FileNotFoundError:
            raise InvalidInput(f'{url} changed while it was read: a part of it is gone') from None
        except OSError as exc:
            raise InvalidInput(f'{url} cannot be read ({exc.strerror or exc})') from None

    def read_workflow(self, url: str) -> bytes:
        """The workflow document's bytes, refusing absurdly large ones."""
        with self.open(url) as stream:
            data = stream.read(MAX_WORKFLOW_BYTES + 1)
            if len(data) <= MAX_WORKFLOW_BYTES:
                while True:  # a stream may return less than asked
                    more = stream.read(MAX_WORKFLOW_BYTES + 1 - len(data))
                    if not more:
                        break
                    data += more
                    if len(data) > MAX_WORKFLOW_BYTES:
                        break
        if len(data) > MAX_WORKFLOW_BYTES:
            raise InvalidInput(f'{url}: workflow larger than {MAX_WORKFLOW_BYTES} bytes')
        return data


def _refuse_nul(url: str) -> None:
    if '\x00' in url:
        raise InvalidInput(f'{url!r} contains a NUL character, which no file name can hold')


class _Route:
    """Where the fetch of one source went: the URL asked for, and each
    redirect followed, for messages that show the way to a refusal."""

    def __init__(self, url: str):
        self.url = url
        self.redirects: List[str] = []

    def _way(self) -> str:
        return ', which redirects to '.join(self.redirects)

    def explain(self, denied: FetchDenied) -> str:
        """'<url>: <host> resolves to <address>, which ...' (after the redirects)."""
        if not self.redirects:
            return f'{self.url}: {denied}'
        return f'{self.url} redirects to {self._way()}: {denied}'

    def refused_redirect(self, refusal: str) -> InvalidInput:
        """'<url> redirects to ftp://...; only ...' (after the redirects followed)."""
        if not self.redirects or len(self.redirects) >= MAX_REDIRECTS:
            return InvalidInput(f'{self.url} {refusal}')
        return InvalidInput(f'{self.url} redirects to {self._way()}, which {refusal}')


def _opener(transfer: Transfer, route: _Route, deny: DenyList) -> urllib.request.OpenerDirector:
    """A urllib opener for http and https only: no ftp, file or data URLs, no
    proxy from the environment (a proxy would connect where `deny` cannot
    look), and redirects by the rule of boundary/network.py."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        _watched_handler(transfer, 'http', deny),
        _watched_handler(transfer, 'https', deny),
        _Redirects(route),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
        urllib.request.UnknownHandler(),
    ):
        opener.add_handler(handler)
    return opener


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to http(s), at most MAX_REDIRECTS times."""

    # urllib's own loop guard (4 visits of one URL, 10 in all) never acts first
    max_repeats = max_redirections = MAX_REDIRECTS + 1

    def __init__(self, route: _Route) -> None:
        self._route = route

    def http_error_302(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
    ) -> Optional[http.client.HTTPResponse]:
        target = headers.get('location') or headers.get('uri')
        if target:
            try:
                target = urllib.parse.urljoin(req.full_url, target)
            except ValueError:
                pass  # redirect_refusal says it is not a valid URL
            refusal = redirect_refusal(target, len(self._route.redirects), MAX_REDIRECTS)
            if refusal is not None:
                fp.close()
                raise self._route.refused_redirect(refusal)
            self._route.redirects.append(target)
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _watched_handler(
    transfer: Transfer, scheme: str, deny: DenyList
) -> urllib.request.AbstractHTTPHandler:
    """A urllib handler whose connections are made only to addresses `deny`
    allows, checked on the resolved address of each connection (the first
    and every redirect), and tell `transfer` their socket as soon as they
    are connected, so a watchdog can interrupt even the wait for the
    server's answer."""
    base = http.client.HTTPSConnection if scheme == 'https' else http.client.HTTPConnection

    class Connection(base):  # type: ignore[valid-type,misc]  # HTTP or HTTPS, by the scheme
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._create_connection = self._connect_allowed  # http.client's hook

        def _connect_allowed(self, address, timeout=None, source_address=None):
            host, port = address
            seconds = timeout if isinstance(timeout, (int, float)) else None
            return connect_allowed(host, port, deny, seconds, source_address)

        def connect(self) -> None:
            super().connect()
            transfer.uses_socket(self.sock)

    if scheme == 'https':

        class HttpsHandler(urllib.request.HTTPSHandler):
            _context: Optional[ssl.SSLContext]  # set by HTTPSHandler, not in its stubs

            def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
                return self.do_open(Connection, req, context=self._context)

        return HttpsHandler()

    class HttpHandler(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(Connection, req)

    return HttpHandler()
