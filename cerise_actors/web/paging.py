"""Page tokens, page sizes and streamed answers for GET /jobs and GET /ga4gh/wes/v1/runs.

The store pages in (created_at, id) order and hands back the (created_at, id)
of a page's last row. Clients get it as an opaque token: URL-safe base64 of
`<created_at as repr> <id>`, so the float comes back bit for bit (`repr`
round-trips) and the next page starts exactly after that row. Anything that
does not decode to such a pair is refused with ValueError, which the
resources answer with 400 naming the parameter.

Both lists are written as they are read: the backend asks the store for one
small page after another (at most about STORE_PAGE_BYTES of text, at most
about STORE_PAGE_SECONDS of the store's time) and each is sent before the
next is asked for, so the service's memory stays flat however large the
jobs are, and the store answers others in between. `started` makes the first
ask before the answer starts, while a store that does not answer can still
be told as a 503; a failure later can only cut the answer short (the client
sees the connection close before the end of the chunked body).
"""

import base64
import binascii
import math
from typing import Generator, Iterator, Optional, Tuple

Cursor = Tuple[float, str]

#: text in one page asked of the store while writing a list (plus one job)
STORE_PAGE_BYTES = 1 << 20
#: seconds after which the store ends such a page (after one job at least)
STORE_PAGE_SECONDS = 0.05

#: the longest job id a token may carry (ids are UUIDs, 36 characters)
_MAX_ID = 64


def encode_cursor(cursor: Cursor) -> str:
    created_at, job_id = cursor
    text = f'{float(created_at)!r} {job_id}'
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip('=')


def decode_cursor(token: str) -> Cursor:
    """The (created_at, id) a token names; ValueError if it is not a token."""
    if not token or len(token) > 200:
        raise ValueError('not a page token this service handed out')
    try:
        text = base64.urlsafe_b64decode(token + '=' * (-len(token) % 4)).decode('ascii')
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError('not a page token this service handed out') from None
    stamp, _, job_id = text.partition(' ')
    try:
        created_at = float(stamp)
    except ValueError:
        raise ValueError('not a page token this service handed out') from None
    if not math.isfinite(created_at) or not job_id or len(job_id) > _MAX_ID:
        raise ValueError('not a page token this service handed out')
    return created_at, job_id


def page_size(text: Optional[str], default: int, maximum: int, name: str) -> int:
    """A page size from a query parameter: 1 to `maximum`, `default` if absent.

    A size over `maximum` is lowered to it (the specs let a service return
    fewer items than asked); zero, negative or non-numbers raise ValueError.
    """
    if text is None or text == '':
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f'{name} must be a whole number, not {text[:40]!r}') from None
    if value < 1:
        raise ValueError(f'{name} must be at least 1, not {value}')
    return min(value, maximum)


def started(chunks: Iterator[bytes]) -> Generator[bytes, None, None]:
    """`chunks` (which yield at least one) with the first made now, in the
    resource, where its errors still become HTTP errors."""
    first = next(chunks)

    def all_chunks() -> Generator[bytes, None, None]:
        yield first
        yield from chunks  # so that closing the answer closes `chunks`

    return all_chunks()
