"""Reading a JSON request body that the service can store and serve back.

A job description is stored, then shown by every GET /jobs for the job's
lifetime. So what is accepted must be bounded (size, nesting) and must be
writable as strict JSON in UTF-8 again: `json.loads` happily returns lone
surrogates (from `"\\ud800"`) and, unless told not to, NaN and Infinity,
which would make the stored job unservable. Everything here is refused
with a 400 (413 for size) naming the problem, before anything is stored.
"""

import json
from typing import Any

import falcon

#: the deepest nesting of arrays and objects accepted in a request body
MAX_JSON_DEPTH = 64


def _not_json(constant: str):
    raise ValueError(f'{constant} is not a JSON number')


def _bad(description: str) -> falcon.HTTPBadRequest:
    return falcon.HTTPBadRequest(title='Invalid job description', description=description)


def read_body(req, limit: int) -> bytes:
    """The whole body, refused with 413 before reading if it is over `limit`."""
    length = req.content_length
    if length is not None and length > limit:
        raise _too_large(limit)
    raw = req.bounded_stream.read(limit + 1)
    if len(raw) > limit:  # no Content-Length (chunked): stop reading at the limit
        raise _too_large(limit)
    return raw


def _too_large(limit: int) -> falcon.HTTPError:
    # HTTPPayloadTooLarge was renamed in falcon 4
    too_large = getattr(falcon, 'HTTPContentTooLarge', None) or falcon.HTTPPayloadTooLarge
    return too_large(
        title='Request too large',
        description=f'the body is larger than {limit} bytes (limits.request-bytes); '
        'put large inputs in files and give their URLs',
    )


def parse_json(raw: bytes) -> Any:
    """Strict JSON: no NaN or Infinity, no lone surrogates, bounded nesting."""
    try:
        value = json.loads(raw or b'null', parse_constant=_not_json)
    except RecursionError:  # the C decoder stops at Python's recursion limit
        raise _too_deep() from None
    except ValueError as exc:
        raise _bad(f'the body is not valid JSON: {exc}') from exc
    check_storable(value)
    return value


def _too_deep() -> falcon.HTTPBadRequest:
    return _bad(f'the body is nested more than {MAX_JSON_DEPTH} levels deep')


def check_storable(value: Any) -> None:
    """Refuse deep nesting, infinite numbers, and strings that cannot be
    written as UTF-8."""
    containers = [(value, 0)] if isinstance(value, (dict, list)) else []
    while containers:  # only containers are walked: strings are checked below, in C
        node, depth = containers.pop()
        if depth >= MAX_JSON_DEPTH:
            raise _too_deep()
        children = node.values() if isinstance(node, dict) else node
        containers.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode('utf-8')
    except UnicodeEncodeError:
        _find_bad_text(value)
        raise
    except ValueError:  # 1e999 reads as infinity
        raise _bad('the body holds a number too large for a JSON double (such as 1e999)') from None


def _find_bad_text(value: Any) -> None:
    """Name the first string (or key) that is not valid Unicode."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            _check_text(node)
        elif isinstance(node, dict):
            for key in node:
                _check_text(key)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _check_text(text: str) -> None:
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        shown = text.encode('utf-8', 'backslashreplace').decode('ascii', 'replace')[:80]
        raise _bad(
            f'the body contains a lone UTF-16 surrogate (in {shown!r}); '
            'JSON text must be valid Unicode'
        ) from None
