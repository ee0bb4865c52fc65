"""Reading the body of POST /runs: the text fields, and the attachments to disk.

The spec's body is multipart/form-data. A client without attachments (say
`requests` with only `data=`) sends application/x-www-form-urlencoded
instead, and curl users like JSON, so both are read too. Attachments are
streamed to the run's folder in the exchange area as they arrive (no whole
file in memory), each written through the exchange area's ConfinedRoot
(`boundary/confined.py`: no link followed on the way from the exchange
folder itself, `input/wes` included, none written through); a name given twice or both as a
file and a folder is refused.

Limits: text fields as a POST /jobs body (limits.request-bytes), at most
MAX_WES_ATTACHMENTS files; the whole body is bounded by the HTTP server.
Everything wrong with the body raises BadRun (400) or falcon's own 400/413;
the caller removes what was written.
"""

import errno
import json
import urllib.parse
from typing import Dict, Set, Tuple

import falcon
from falcon.media import MultipartFormHandler

from ...boundary.confined import ConfinedRoot, Refused, WrongKind
from ...defaults import CHUNK, MAX_WES_ATTACHMENTS
from ...errors import StorageFull
from ..request_body import read_body
from .names import attachment_path
from .submission import TEXT_FIELDS, BadRun

ATTACHMENT = 'workflow_attachment'


def multipart_handler(text_limit: int) -> MultipartFormHandler:
    """falcon's multipart parser with our limits (its defaults: 64 parts, 1 MiB text)."""
    handler = MultipartFormHandler()
    handler.parse_options.max_body_part_count = MAX_WES_ATTACHMENTS + len(TEXT_FIELDS) + 16
    handler.parse_options.max_body_part_buffer_size = text_limit
    return handler


def read_run_form(
    req, exchange: ConfinedRoot, run_name: str, text_limit: int
) -> Tuple[Dict[str, str], Set[str]]:
    """(text fields, relative paths of the attachments written under the
    folder `run_name` of the exchange area `exchange`)."""
    kind = (req.content_type or '').split(';')[0].strip().lower()
    if kind == falcon.MEDIA_MULTIPART:
        return _multipart(req, exchange, run_name)
    if kind == falcon.MEDIA_URLENCODED:
        text = _utf8(read_body(req, text_limit), 'the form')
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, max_num_fields=100)
        return _fields(pairs), set()
    if kind == falcon.MEDIA_JSON:
        try:
            body = json.loads(_utf8(read_body(req, text_limit), 'the body') or 'null')
        except (ValueError, RecursionError) as exc:
            raise BadRun(f'the body is not valid JSON: {exc}') from None
        if not isinstance(body, dict):
            raise BadRun('a JSON body must be a RunRequest object')
        pairs = [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in body.items()]
        return _fields(pairs), set()
    raise BadRun(
        f'POST /runs takes multipart/form-data (as the WES spec says), not {kind or "no body"}'
    )


def _utf8(raw: bytes, what: str) -> str:
    try:
        return raw.decode('utf-8')
    except UnicodeDecodeError:
        raise BadRun(f'{what} is not UTF-8 text') from None


def _fields(pairs) -> Dict[str, str]:
    fields: Dict[str, str] = {}
    for key, value in pairs:
        if key in TEXT_FIELDS:
            if key in fields:
                raise BadRun(f'{key} is given twice')
            fields[key] = value
    return fields


def _multipart(req, exchange: ConfinedRoot, run_name: str) -> Tuple[Dict[str, str], Set[str]]:
    fields: Dict[str, str] = {}
    written: Set[str] = set()
    for part in req.get_media():
        name = part.name or ''
        if name in TEXT_FIELDS:
            if name in fields:
                raise BadRun(f'{name} is given twice')
            fields[name] = _utf8(part.get_data(), name)
        elif name.startswith(ATTACHMENT):
            if len(written) >= MAX_WES_ATTACHMENTS:
                raise BadRun(f'more than {MAX_WES_ATTACHMENTS} attachments')
            try:
                path = attachment_path(part.filename or '')
            except ValueError as exc:
                raise BadRun(str(exc)) from None
            if path in written:
                raise BadRun(f'attachment {path!r} is given twice')
            _save(part.stream, exchange, run_name, path)
            written.add(path)
        # other parts are skipped, as the spec's fields are all that count
    return fields, written


def _save(stream, exchange: ConfinedRoot, run_name: str, path: str) -> None:
    """Write one attachment below the run's folder `run_name`, following no link
    on the way from the exchange folder itself (`boundary/confined.py`): someone
    with a shell on the exchange folder cannot make `input/wes`, the run's
    folder or one of its folders a link and have an attachment written elsewhere."""
    folder, _, _ = f'{run_name}/{path}'.rpartition('/')
    try:
        exchange.mkdir(folder)
    except WrongKind:
        raise BadRun(f'attachment {path!r} lies in a folder that is also a file') from None
    except Refused as exc:
        raise BadRun(f'attachment {path!r}: {exc.reason}') from None
    try:
        with exchange.create(f'{run_name}/{path}', 0o644) as out:
            while True:
                block = stream.read(CHUNK)
                if not block:
                    break
                out.write(block)
    except (IsADirectoryError, FileExistsError):
        raise BadRun(f'attachment {path!r} is also a folder') from None
    except WrongKind:
        raise BadRun(f'attachment {path!r} lies in a folder that is also a file') from None
    except Refused as exc:
        raise BadRun(f'attachment {path!r}: {exc.reason}') from None
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageFull('the file exchange area is full; the run was not made') from exc
        if exc.errno == errno.ENAMETOOLONG:
            raise BadRun(f'attachment {path[:100]!r}: the path is too long') from None
        if exc.errno in (errno.EISDIR, errno.EPERM):  # unlinking a folder in its place
            raise BadRun(f'attachment {path!r} is also a folder') from None
        raise
