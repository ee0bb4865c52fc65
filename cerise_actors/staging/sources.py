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
import stat
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

from ..defaults import MAX_WORKFLOW_BYTES
from ..errors import InvalidInput, SourceUnavailable
from .bounded import BoundedSource, ShouldStop, SourceLimits, Transfer, never_stop, watch
from .exchange import Exchange

_KINDS = {
    stat.S_IFIFO: 'a named pipe (FIFO)',
    stat.S_IFSOCK: 'a socket',
    stat.S_IFCHR: 'a character device',
    stat.S_IFBLK: 'a block device',
    stat.S_IFDIR: 'a folder, not a file',
}


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
        path = self._exchange.local_path(url)
        transfer = Transfer(url, self._limits, self._should_stop)
        if path is not None:
            with self.open_file(path, url, transfer) as stream:
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
    def open_file(self, path: Path, url: str, transfer=None) -> Iterator[BoundedSource]:
        """A regular file of the exchange area; anything else is refused
        before it is read, since a FIFO or a device would block or never end."""
        transfer = transfer or Transfer(url, self._limits, self._should_stop)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0))
        except FileNotFoundError:
            raise InvalidInput(f'{url} does not exist') from None
        except OSError as exc:
            raise InvalidInput(f'{url} cannot be read ({exc.strerror or exc})') from None
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            os.close(fd)
            kind = _KINDS.get(stat.S_IFMT(opened.st_mode), 'not a regular file')
            raise InvalidInput(f'{url} is {kind}; only regular files can be inputs')
        os.set_blocking(fd, True)
        with os.fdopen(fd, 'rb') as stream:

            def changed() -> bool:
                now = os.fstat(fd)
                return (now.st_size, now.st_mtime_ns) != (opened.st_size, opened.st_mtime_ns)

            if opened.st_size > self._limits.max_bytes:
                raise InvalidInput(
                    f'{url} is larger than {self._limits.max_bytes} bytes (limits.source-bytes)'
                )
            yield BoundedSource(stream, transfer, opened.st_size, changed)

    def _open_http(self, url: str, transfer: Transfer):
        opener = urllib.request.build_opener(_watched_handler(transfer, 'http'))
        opener.add_handler(_watched_handler(transfer, 'https'))
        try:
            return opener.open(url, timeout=self._limits.silence)
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

    def directory(self, url: str) -> Path:
        """The exchange folder a Directory input names (http folders are refused)."""
        _refuse_nul(url)
        path = self._exchange.local_path(url)
        if path is None:
            raise InvalidInput(f'{url}: Directory inputs must be in the file exchange area')
        if not path.is_dir():
            raise InvalidInput(f'{url} is not an existing folder')
        return path

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


def _watched_handler(transfer: Transfer, scheme: str):
    """A urllib handler whose connections tell `transfer` their socket as soon
    as they are connected, so a watchdog can interrupt even the wait for
    the server's answer."""
    base = http.client.HTTPSConnection if scheme == 'https' else http.client.HTTPConnection

    class Connection(base):
        def connect(self):
            super().connect()
            transfer.uses_socket(self.sock)

    if scheme == 'https':

        class Handler(urllib.request.HTTPSHandler):
            def https_open(self, req):
                return self.do_open(Connection, req, context=self._context)

    else:

        class Handler(urllib.request.HTTPHandler):
            def http_open(self, req):
                return self.do_open(Connection, req)

    return Handler()
