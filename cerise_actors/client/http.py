"""A tiny HTTP layer over urllib: JSON calls, streamed uploads and downloads.

Why urllib: the client must install and work on its own, with nothing but
the standard library. Why streaming: workflow inputs can be large, so an
upload reads its source in chunks (with Content-Length when the size is
known, chunked transfer encoding otherwise) and a download writes chunks as
they arrive; no file is ever held in memory whole.

This layer knows nothing about jobs. HTTP error statuses come back as a
`Response` for the caller to interpret (a 404 means "job not found" on
/jobs/<id> but "no such file" on /files); only failures to talk to the
server at all become exceptions here (`ServiceUnreachable`, or
`DownloadFailed` for a file:// URL that cannot be read), and a 401 from the
service itself (`NotAuthorized`), which means the same on every path.

It is also the one place the token is added: to requests for the service's
own origins only (`credentials.Origins`), as a header that urllib does not
copy when it follows a redirect; a redirect gets it again only if it stays
on those origins. Output or input URLs elsewhere never see it.
"""

import http.client as http_client
import io
import ipaddress
import json
import os
import socket
import stat
import urllib.error
import urllib.parse
import urllib.request
from typing import IO, Any, Dict, Iterator, Optional, Tuple, Union

from .. import __version__
from .credentials import Credential, Origins, how_to_give
from .errors import DownloadFailed, NotAuthorized, ServiceUnreachable

DEFAULT_TIMEOUT = 30.0
CHUNK_SIZE = 1024 * 1024
USER_AGENT = f'cerise-actors-client/{__version__}'

Body = Union[None, bytes, IO]


class Response:
    """Status, headers and (for non-streamed calls) the body of one answer."""

    def __init__(self, status: int, reason: str, headers, body: bytes, url: str):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.url = url

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body.decode('utf-8'))

    @property
    def text(self) -> str:
        return self.body.decode('utf-8', errors='replace')

    def error_fields(self) -> Tuple[Optional[str], Optional[str]]:
        """(title, description) of a falcon-style JSON error body, else (None, None)."""
        try:
            data = self.json()
        except ValueError:
            return None, None
        if not isinstance(data, dict):
            return None, None
        title, description = data.get('title'), data.get('description')
        return (
            title if isinstance(title, str) else None,
            description if isinstance(description, str) else None,
        )

    def error_message(self) -> str:
        """The service's own words for this error, or the HTTP status line."""
        title, description = self.error_fields()
        if description:
            return description
        if title:
            return title
        text = self.text.strip()
        if text and len(text) < 300 and '<' not in text:
            return f'HTTP {self.status} {self.reason}: {text}'
        return f'HTTP {self.status} {self.reason}'


class _BinaryReader(io.RawIOBase):
    """Reads bytes from a binary or text file object (text is sent as UTF-8).

    http.client would encode text chunks as ISO-8859-1; this wrapper makes
    file objects opened in text mode upload correctly too.
    """

    def __init__(self, source: IO):
        self._source = source

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size if size is not None and size >= 0 else CHUNK_SIZE)
        if isinstance(data, str):
            data = data.encode('utf-8')
        return data or b''

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def remaining_size(stream: IO) -> Optional[int]:
    """Bytes left to read in a binary stream, if that can be known cheaply."""
    if isinstance(stream, io.TextIOBase):
        return None  # bytes after encoding are unknown
    if isinstance(stream, io.BytesIO):
        return len(stream.getbuffer()) - stream.tell()
    try:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None
        return info.st_size - stream.tell()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pass
    try:
        if stream.seekable():
            here = stream.tell()
            end = stream.seek(0, io.SEEK_END)
            stream.seek(here)
            return end - here
    except (AttributeError, OSError, ValueError):
        pass
    return None


def _is_loopback(host: Optional[str]) -> bool:
    if not host:
        return False
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects as urllib does, giving the token again only to the
    service's own origins (urllib drops unredirected headers on the way)."""

    def __init__(self, http: 'Http') -> None:
        self._http = http

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http_client.HTTPMessage,
        newurl: str,
    ) -> Optional[urllib.request.Request]:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            self._http._authorize(new)
        return new


class Http:
    """Makes requests with a time-out; proxies from the environment are used
    except for loopback addresses (a local service must never go through a
    proxy, whatever `http_proxy` says). With a `credential`, requests to
    `origins` (and only those) carry it."""

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        credential: Optional[Credential] = None,
        origins: Optional[Origins] = None,
    ):
        self.timeout = timeout
        self.credential = credential
        self.origins = origins or Origins(())
        redirects = _Redirects(self)
        self._direct = urllib.request.build_opener(urllib.request.ProxyHandler({}), redirects)
        self._proxied = urllib.request.build_opener(redirects)

    def _authorize(self, request: urllib.request.Request) -> None:
        if self.credential is not None and self.origins.covers(request.full_url):
            request.add_unredirected_header('Authorization', self.credential.authorization)

    def _not_authorized(self, url: str, response: 'Response') -> NotAuthorized:
        where = f'the service at {_origin(url)}'
        if self.credential is None:
            reason = f'{where} needs a token, and none was found'
        else:
            reason = f'{where} refused the token from {self.credential.source}'
        return NotAuthorized(
            reason,
            how_to_give(),
            token_source=self.credential.source if self.credential else None,
            status=401,
            url=url,
            title=response.error_fields()[0],
            description=response.error_fields()[1],
        )

    def _opener(self, url: str):
        host = urllib.parse.urlsplit(url).hostname
        return self._direct if _is_loopback(host) else self._proxied

    def _open(
        self,
        method: str,
        url: str,
        data: Union[Body, io.RawIOBase] = None,
        headers: Optional[Dict[str, str]] = None,
        timeout: Optional[float] = None,
    ):
        """The raw urllib response, or a `Response` for an HTTP error status."""
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header('User-Agent', USER_AGENT)
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        self._authorize(request)
        try:
            return self._opener(url).open(request, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as exc:
            try:
                body = exc.read() if exc.fp is not None else b''
            except OSError:
                body = b''
            finally:
                exc.close()
            answer = Response(exc.code, exc.reason or '', exc.headers, body, url)
            if exc.code == 401 and self.origins.covers(exc.geturl() or url):
                raise self._not_authorized(url, answer) from None
            return answer
        except urllib.error.URLError as exc:
            raise self._failure(url, exc.reason) from exc
        except (socket.timeout, TimeoutError) as exc:
            raise ServiceUnreachable(
                f'{_origin(url)} did not answer within {timeout or self.timeout:g} s', url
            ) from exc
        except (ConnectionError, http_client.HTTPException) as exc:
            raise ServiceUnreachable(f'lost the connection to {_origin(url)}: {exc}', url) from exc

    def _failure(self, url: str, reason) -> Exception:
        if urllib.parse.urlsplit(url).scheme == 'file':
            return DownloadFailed(f'cannot read {url}: {reason}', url)
        if isinstance(reason, ConnectionRefusedError):
            why = 'connection refused'
        elif isinstance(reason, (socket.timeout, TimeoutError)):
            why = 'no answer in time'
        elif isinstance(reason, socket.gaierror):
            why = f'unknown host ({reason.strerror or reason})'
        else:
            why = str(getattr(reason, 'strerror', None) or reason)
        return ServiceUnreachable(f'cannot reach {_origin(url)}: {why}', url)

    def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        data: Body = None,
        headers: Optional[Dict[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> Response:
        """One request whose answer is read whole (API answers are small)."""
        headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode('utf-8')
            headers.setdefault('Content-Type', 'application/json')
        sent: Union[Body, io.RawIOBase] = data  # a file object is sent through _BinaryReader
        if data is not None and not isinstance(data, (bytes, bytearray)):
            size = remaining_size(data)
            sent = _BinaryReader(data)
            if size is not None:
                headers.setdefault('Content-Length', str(size))
        answer = self._open(method, url, sent, headers, timeout)
        if isinstance(answer, Response):
            return answer
        with answer:
            try:
                body = answer.read()
            except (socket.timeout, TimeoutError) as exc:
                raise ServiceUnreachable(
                    f'{_origin(url)} stopped answering (no data for {timeout or self.timeout:g} s)',
                    url,
                ) from exc
            except (OSError, http_client.HTTPException) as exc:
                raise ServiceUnreachable(
                    f'lost the connection to {_origin(url)}: {exc}', url
                ) from exc
            status = answer.status if answer.status is not None else 200
            return Response(status, getattr(answer, 'reason', '') or '', answer.headers, body, url)

    def stream(
        self, url: str, chunk_size: int = CHUNK_SIZE, timeout: Optional[float] = None
    ) -> Iterator[bytes]:
        """Yield the body of GET `url` in chunks; raises DownloadFailed on an error status."""
        answer = self._open('GET', url, timeout=timeout)
        if isinstance(answer, Response):
            raise DownloadFailed(
                f'cannot download {url}: {answer.error_message()}', url, answer.status
            )
        with answer:
            while True:
                try:
                    chunk = answer.read(chunk_size)
                except (socket.timeout, TimeoutError) as exc:
                    raise DownloadFailed(
                        f'download of {url} stalled (no data for {timeout or self.timeout:g} s)',
                        url,
                    ) from exc
                except (OSError, http_client.HTTPException) as exc:
                    raise DownloadFailed(f'download of {url} broke off: {exc}', url) from exc
                if not chunk:
                    return
                yield chunk


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f'{parts.scheme}://{parts.netloc}' if parts.netloc else url


def join_url(base: str, *parts: str) -> str:
    """`base` followed by URL-quoted path parts ('a b' -> 'a%20b'; '/' inside a part kept)."""
    quoted = [urllib.parse.quote(part.strip('/'), safe='/') for part in parts if part]
    return '/'.join([base.rstrip('/')] + quoted)
