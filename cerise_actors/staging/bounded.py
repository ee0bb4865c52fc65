"""Reading one source with an overall deadline, a size cap and a way out.

A per-read time-out does not bound a server that trickles a byte every few
seconds, and a read blocked on a socket does not notice a cancel or a
shutdown. So every source is read through `BoundedSource`, which counts
bytes and time, and http(s) sources are read under `watch()`: a small
thread that, every tick, asks whether the job should stop and whether the
deadline has passed, and if so shuts the connection's socket down, which
wakes the blocked read at once. Exchange files are regular files (others
are refused before they are opened), whose reads do not block for long, so
for them the checks between reads suffice.
"""

import contextlib
import dataclasses
import http.client
import socket
import threading
import time
from typing import BinaryIO, Callable, Iterator, Optional

from ..boundary.network import DenyList
from ..defaults import CHUNK, FETCH_DEADLINE, FETCH_DENY, HTTP_TIMEOUT, MAX_FETCH_BYTES
from ..errors import CeriseError, InvalidInput, SourceUnavailable, StagingAborted, StopReason

#: seconds between the watchdog's looks at a transfer (how soon a cancel acts)
WATCH_TICK = 0.5


@dataclasses.dataclass(frozen=True)
class SourceLimits:
    """What one source may take: `seconds` in all, `max_bytes` in size,
    `silence` seconds without a byte (an http server that stopped sending),
    and the addresses an http(s) source may not be fetched from (`deny`)."""

    seconds: float = FETCH_DEADLINE
    max_bytes: int = MAX_FETCH_BYTES
    silence: float = HTTP_TIMEOUT
    deny: DenyList = DenyList.parse(FETCH_DENY)


ShouldStop = Callable[[], Optional[StopReason]]


def never_stop() -> Optional[StopReason]:
    return None


class Transfer:
    """The state of reading one source, shared by the reader and its watchdog."""

    def __init__(self, url: str, limits: SourceLimits, should_stop: ShouldStop):
        self.url = url
        self.limits = limits
        self._should_stop = should_stop
        self._deadline = time.monotonic() + limits.seconds
        self._next_look = 0.0
        self._lock = threading.Lock()
        self._sockets: list = []
        self.failure: Optional[CeriseError] = None  # why it was stopped from outside
        self.bytes_read = 0

    def check(self, force: bool = False) -> None:
        """Raise if the job should stop or the deadline has passed; the store
        is asked at most once per WATCH_TICK."""
        if self.failure is not None:
            raise self.failure
        now = time.monotonic()
        if now > self._deadline:
            raise SourceUnavailable(
                f'{self.url}: not read within {self.limits.seconds:g} s '
                f'(limits.source-seconds); {self.bytes_read} bytes had arrived'
            )
        if force or now >= self._next_look:
            self._next_look = now + WATCH_TICK
            reason = self._should_stop()
            if reason:
                raise StagingAborted(reason)

    def uses_socket(self, sock: socket.socket) -> None:
        """Called when a connection for this source is opened (also redirects)."""
        with self._lock:
            self._sockets.append(sock)
            stopped = self.failure is not None
        if stopped:
            _shut(sock)

    def stop_from_outside(self, failure: CeriseError) -> None:
        """Wake a read blocked on a socket; it then raises `failure`."""
        with self._lock:
            self.failure = failure
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def done(self) -> None:
        """The transfer is over: nothing may be shut down for it any more."""
        with self._lock:
            self._sockets.clear()


def _shut(sock: socket.socket) -> None:
    """Shut a connection down through its own socket object: one that was
    closed meanwhile (a redirect's first leg) has no descriptor any more, so
    a number since reused by another connection is never touched."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed, or not connected


@contextlib.contextmanager
def watch(transfer: Transfer) -> Iterator[None]:
    """Run a watchdog over `transfer` while the body of the `with` runs."""
    done = threading.Event()

    def look() -> None:
        while not done.wait(WATCH_TICK):
            try:
                transfer.check(force=True)
            except CeriseError as failure:
                if not done.is_set():  # the transfer may have ended during the look
                    transfer.stop_from_outside(failure)
                return
            except Exception:  # noqa: BLE001 - a store that does not answer: look again
                continue

    thread = threading.Thread(target=look, name='cerise-source-watch', daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        transfer.done()  # a look still running finds no socket to shut
        thread.join(WATCH_TICK * 4)


class BoundedSource:
    """A binary stream over `stream` that enforces the transfer's limits.

    `size` is the size the source announced (Content-Length, or the file's
    size when it was opened); a source that ends before or after it was
    cut off or changed while it was copied, which is an error rather than a
    truncated input.
    """

    def __init__(
        self,
        stream: BinaryIO,
        transfer: Transfer,
        size: Optional[int],
        changed: Optional[Callable[[], bool]] = None,
    ):
        """`changed()`, for files, says whether the file differs from when it
        was opened (size or modification time)."""
        self._stream = stream
        self._transfer = transfer
        self._size = size
        self._changed = changed
        self.size = size

    def read(self, n: int = -1) -> bytes:
        transfer = self._transfer
        transfer.check()
        want = CHUNK if n is None or n < 0 else n
        try:
            data = self._stream.read(want)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            transfer.check(force=True)  # a cancel or the deadline explains it better
            raise SourceUnavailable(
                f'{transfer.url}: reading it failed after {transfer.bytes_read} bytes '
                f'({_describe(exc)})'
            ) from exc
        if transfer.failure is not None:
            raise transfer.failure
        transfer.bytes_read += len(data)
        if transfer.bytes_read > transfer.limits.max_bytes:
            raise InvalidInput(
                f'{transfer.url} is larger than {transfer.limits.max_bytes} bytes '
                f'(limits.source-bytes)'
            )
        if self._size is not None and (
            transfer.bytes_read > self._size or (not data and transfer.bytes_read != self._size)
        ):
            raise self._inconsistent()
        if not data and self._changed is not None and self._changed():
            raise self._inconsistent()
        return data

    def _inconsistent(self) -> SourceUnavailable:
        transfer = self._transfer
        if self._changed is None:  # a server
            return SourceUnavailable(
                f'{transfer.url}: the server sent {transfer.bytes_read} bytes or more '
                f'where it announced {self._size}'
            )
        return SourceUnavailable(
            f'{transfer.url} changed while it was being copied ({self._size} bytes when '
            f'opened, {transfer.bytes_read} read); submit the job again once the file '
            f'is complete'
        )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return 'the server stopped sending'
    return str(exc) or type(exc).__name__
