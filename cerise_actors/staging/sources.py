"""Reading what users point at: files in the exchange area or http(s) URLs.

Errors come out as our own exceptions: a missing file or an HTTP 4xx is a
permanent problem with the job (InvalidInput); a time-out, a refused
connection or an HTTP 5xx may pass (SourceUnavailable): the job then ends
TemporaryFailure, as the spec says, while an unreachable compute resource is
waited for instead (see the StagerActor).
"""

import contextlib
import http.client
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO, Iterator, Optional, Tuple

from ..defaults import HTTP_TIMEOUT, MAX_WORKFLOW_BYTES
from ..errors import InvalidInput, SourceUnavailable
from .exchange import Exchange


@contextlib.contextmanager
def open_source(url: str, exchange: Exchange) -> Iterator[Tuple[BinaryIO, Optional[int]]]:
    """Yield (binary stream, size if known) for a file URL a user gave."""
    path = exchange.local_path(url)
    if path is not None:
        if not path.is_file():
            what = 'is a folder, not a file' if path.is_dir() else 'does not exist'
            raise InvalidInput(f'{url} {what}')
        with open(path, 'rb') as stream:
            yield stream, path.stat().st_size
        return
    try:
        response = urllib.request.urlopen(url, timeout=HTTP_TIMEOUT)  # noqa: S310 (http(s) only)
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code in (408, 429):
            raise SourceUnavailable(f'{url}: HTTP {exc.code} {exc.reason}') from exc
        raise InvalidInput(f'{url}: HTTP {exc.code} {exc.reason}') from exc
    except (urllib.error.URLError, socket.timeout, OSError) as exc:
        raise SourceUnavailable(f'{url}: cannot connect ({exc})') from exc
    with response:
        length = response.headers.get('Content-Length')
        yield response, int(length) if length and length.isdigit() else None


def local_directory(url: str, exchange: Exchange) -> Path:
    """The exchange folder a Directory input names (http folders are refused)."""
    path = exchange.local_path(url)
    if path is None:
        raise InvalidInput(f'{url}: Directory inputs must be in the file exchange area')
    if not path.is_dir():
        raise InvalidInput(f'{url} is not an existing folder')
    return path


def read_workflow(url: str, exchange: Exchange) -> bytes:
    """The workflow document's bytes, refusing absurdly large ones."""
    with open_source(url, exchange) as (stream, _size):
        try:
            data = stream.read(MAX_WORKFLOW_BYTES + 1)
        except (OSError, http.client.HTTPException) as exc:  # a time-out or a cut connection
            raise SourceUnavailable(
                f'{url}: reading it failed ({exc or type(exc).__name__})'
            ) from exc
    if len(data) > MAX_WORKFLOW_BYTES:
        raise InvalidInput(f'{url}: workflow larger than {MAX_WORKFLOW_BYTES} bytes')
    return data
