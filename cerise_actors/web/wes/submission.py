"""From the fields of POST /runs to the job the store creates: pure functions.

A WES run becomes an ordinary job, so the workflow goes through the same
stage-in and the same installed-steps-only checks as one posted to /jobs.
What is translated here:

- `workflow_url`: http(s) URLs with a host and URLs of the exchange area are
  kept; a relative URL must name an attachment and becomes that attachment's
  exchange URL. Which URLs are the exchange area's, and which name below it
  each gives, is `boundary/exchange_names.py`, the rule stage-in reads files
  by (the client URL, the service's own /files URLs, the folder as
  configured and resolved). Anything it refuses is 400 now rather than a
  failed job later: a file URL or path outside the exchange area
  (`file:///etc/passwd`, and `file:///<exchange>/../cerise.db` or
  `http://127.0.0.1:<port>/files/input/%2e%2e/%2e%2e/cerise.db`, since names
  are resolved lexically before they are compared), a file URL with a host
  or a query, another scheme, a NUL or another control character, a name
  percent-encoded twice.
- `workflow_params` locations (`location` or `path` of File and Directory
  objects; a `path` without a `location` becomes the `location`, as on
  cwltool's command line): relative ones are resolved in the run's attachment folder; an
  absolute path or file URL outside the exchange area (not leaving it with
  `..`) whose last segments are an attached file or folder is taken to mean
  that attachment (wes-client sends the client's own absolute paths
  alongside the files they name); http(s) URLs with a host and locations
  inside the exchange area are kept; everything else, which no stage-in
  could read, is 400, as for `workflow_url`.
- `workflow_type` must be CWL and `workflow_type_version` v1.0, v1.1 or v1.2.
- `tags`: an object of strings; the tag `name` becomes the job's name.
- `workflow_engine_parameters`, `workflow_engine`, `workflow_engine_version`:
  accepted and ignored; the run's log says so.

Problems raise BadRun with a message for the client (the answer is 400).
"""

import dataclasses
import json
import urllib.parse
from typing import Any, Dict, List, Optional, Set

import falcon

from ...boundary import locations
from ...boundary.exchange_names import (
    ExchangeNames,
    LocationRefused,
    OutsideArea,
    Unreadable,
)
from ..own_urls import CredentialsInUrl, without_own_credentials
from ..request_body import check_storable
from .names import attachment_path, parents

WORKFLOW_TYPE = 'CWL'
TYPE_VERSIONS = ('v1.0', 'v1.1', 'v1.2')
TEXT_FIELDS = (
    'workflow_params',
    'workflow_type',
    'workflow_type_version',
    'tags',
    'workflow_engine',
    'workflow_engine_version',
    'workflow_engine_parameters',
    'workflow_url',
)


class BadRun(ValueError):
    """The run request cannot be accepted; the message says why."""


@dataclasses.dataclass(frozen=True)
class Place:
    """Where a run's files are: its attachment folder's URL and the exchange area."""

    run_url: str  # the exchange URL of input/wes/<run id>, no trailing slash
    exchange_url: str  # store-location-client, for messages
    names: ExchangeNames  # the exchange area as stage-in reads it


@dataclasses.dataclass(frozen=True)
class Submission:
    name: str
    workflow_url: str
    input: dict
    request: dict  # the RunRequest as the client gave it
    notes: List[str]


def _json_object(fields: Dict[str, str], key: str) -> dict:
    text = fields.get(key)
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise BadRun(f'{key} is nested too deeply') from None
    except ValueError as exc:
        raise BadRun(f'{key} is not valid JSON: {exc}') from None
    if not isinstance(value, dict):
        raise BadRun(f'{key} must be a JSON object')
    try:
        check_storable(value)
    except falcon.HTTPBadRequest as exc:
        raise BadRun(f'{key}: {exc.description}') from None
    return value


def _no_constant(name: str):
    raise ValueError(f'{name} is not a JSON number')


def _string_map(value: dict, key: str) -> Dict[str, str]:
    bad = [k for k, v in value.items() if not isinstance(v, str)]
    if bad:
        raise BadRun(f'{key} must map names to strings; {bad[0]!r} is not a string')
    return value


def build_submission(
    fields: Dict[str, str], attachments: Set[str], place: Place, engine: str
) -> Submission:
    """The job for a run request; BadRun if it cannot be one."""
    workflow_type = fields.get('workflow_type', '')
    if workflow_type.upper() != WORKFLOW_TYPE:
        raise BadRun(f'workflow_type must be {WORKFLOW_TYPE}, not {workflow_type[:40]!r}')
    version = fields.get('workflow_type_version', '')
    if version not in TYPE_VERSIONS and f'v{version}' not in TYPE_VERSIONS:
        raise BadRun(
            f'workflow_type_version must be one of {", ".join(TYPE_VERSIONS)}, not {version[:40]!r}'
        )
    url = fields.get('workflow_url', '')
    if not url.strip():
        raise BadRun('workflow_url is required: the workflow, or the name of an attachment')
    params = _json_object(fields, 'workflow_params')
    try:  # before anything is kept: the token a client put in our own URLs
        url, params = without_own_credentials(url, params, place.names)
    except CredentialsInUrl as exc:
        raise BadRun(str(exc)) from None
    tags = _string_map(_json_object(fields, 'tags'), 'tags')
    engine_params = _json_object(fields, 'workflow_engine_parameters')
    request: Dict[str, Any] = {
        'workflow_params': params,
        'workflow_type': workflow_type,
        'workflow_type_version': version,
        'tags': tags,
        'workflow_url': url,
    }
    notes = []
    if engine_params:
        request['workflow_engine_parameters'] = engine_params
        notes.append(
            'WES: workflow_engine_parameters were given and are ignored; this service '
            f'runs every workflow with {engine} as configured (names given: '
            f'{", ".join(sorted(engine_params))[:300]}).'
        )
    for key in ('workflow_engine', 'workflow_engine_version'):
        if fields.get(key):
            request[key] = fields[key]
            notes.append(f'WES: {key} {fields[key][:100]!r} is ignored; the engine is {engine}.')
    files = _with_folders(attachments)
    return Submission(
        name=tags.get('name', ''),
        workflow_url=resolve_workflow_url(url, attachments, place),
        input=rewrite_locations(params, files, place),
        request=request,
        notes=notes,
    )


def _with_folders(attachments: Set[str]) -> Set[str]:
    return set(attachments) | {folder for path in attachments for folder in parents(path)}


def _join(place: Place, path: str) -> str:
    """The exchange URL of the attachment `path`; BadRun if stage-in could not read it."""
    url = f'{place.run_url}/{urllib.parse.quote(path)}'
    try:
        place.names.name_of(url)
    except LocationRefused as exc:
        raise BadRun(f'attachment {path[:200]!r}: {exc}') from None
    return url


def _name_of(location: str, place: Place, what: str) -> Optional[str]:
    """The name below the exchange area `location` names, None for an http(s)
    URL of another place (with a host: BadRun without one), as stage-in reads
    it (`boundary/exchange_names.py`). BadRun for what no stage-in reads, but
    OutsideArea (not climbing) and Unreadable are left to the caller."""
    try:
        name = place.names.name_of(location)
    except OutsideArea as exc:
        if exc.climbs:
            raise BadRun(
                f'{what} {location[:200]!r} is outside the file exchange area: its .. '
                f'segments leave {place.exchange_url}/'
            ) from None
        raise
    except Unreadable:
        raise
    except LocationRefused as exc:
        raise BadRun(f'{what} {exc}') from None
    if name is None:
        try:
            host = urllib.parse.urlsplit(location).hostname
        except ValueError as exc:  # e.g. an unbalanced [ in the host
            raise BadRun(f'{what} {location[:200]!r} is not a valid URL ({exc})') from None
        if not host:
            raise BadRun(f'{what} {location[:200]!r} names no host')
    return name


def resolve_workflow_url(url: str, attachments: Set[str], place: Place) -> str:
    """The URL stage-in reads the workflow from; BadRun if it could never read one.

    Kept: a URL of the exchange area that stays inside it, and an http(s)
    URL with a host. Translated: the name of an attachment. Refused: any
    other file URL or absolute path (`file:///etc/passwd`, a file URL with a
    host), any other scheme, a NUL, a name encoded twice, a fragment.
    """
    shown = url[:200]
    if '#' in url:  # staging reads the file the URL names; a fragment is no file
        raise BadRun(
            f'workflow_url {shown!r}: a #fragment (a process inside a packed $graph '
            'document) is not supported; give the workflow file itself'
        )
    try:
        _name_of(url, place, 'workflow_url')
        return url
    except OutsideArea:
        raise BadRun(
            f'workflow_url {shown!r} names a file outside the file exchange area; the '
            f'service reads files only under {place.exchange_url}/ (attach the workflow, '
            f'or upload it under {place.exchange_url}/input/)'
        ) from None
    except Unreadable as exc:
        if exc.scheme:
            raise BadRun(
                f'workflow_url {shown!r}: {exc.scheme}: URLs are not read; give an attachment, '
                f'an http(s) URL or a URL under {place.exchange_url}/ (the file exchange area)'
            ) from None
    try:
        path = attachment_path(urllib.parse.unquote(url))
    except ValueError as exc:
        raise BadRun(f'workflow_url: {exc}') from None
    if path not in attachments:
        attached = ', '.join(sorted(attachments)[:10]) or 'none'
        raise BadRun(
            f'workflow_url {shown!r} names no attached file (attached: {attached}); '
            'give the name of a workflow_attachment, or an http(s) URL'
        )
    return _join(place, path)


def rewrite_locations(params: dict, files: Set[str], place: Place) -> dict:
    """A copy of `params` whose File and Directory locations name the attachments."""

    def walk(value):
        if isinstance(value, list):
            return [walk(item) for item in value]
        if not isinstance(value, dict):
            return value
        result = {key: walk(item) for key, item in value.items()}
        if value.get('class') in ('File', 'Directory'):
            for key in ('location', 'path'):
                if isinstance(result.get(key), str):
                    result[key] = _location(result[key], files, place)
            if 'location' not in result and isinstance(result.get('path'), str):
                # cwltool's command line turns `path` into `location`; staging reads
                # only `location` (a File with neither is a literal needing contents)
                result['location'] = result.pop('path')
        return result

    return walk(params)


def _location(location: str, files: Set[str], place: Place) -> str:
    what = 'workflow_params: location'
    try:
        _name_of(location, place, what)
        return location  # inside the exchange area, or http(s) with a host
    except OutsideArea:
        pass
    except Unreadable as exc:
        if exc.scheme:
            raise BadRun(
                f'{what} {location[:200]!r}: {exc.scheme}: URLs are not read; attach the '
                f'file, or give an http(s) URL or a URL under {place.exchange_url}/'
            ) from None
        try:
            path = attachment_path(urllib.parse.unquote(location))
        except ValueError as refused:
            message = f'workflow_params: {refused}'.replace('attachment name', 'location')
            raise BadRun(message) from None
        return _join(place, path)
    # the client's own path, outside the area: an attachment if one ends it
    local = locations.local_path(location) or ''
    segments = [s for s in local.split('/') if s]
    for start in range(len(segments)):
        candidate = '/'.join(segments[start:])
        if candidate in files:
            return _join(place, candidate)
    raise BadRun(
        f'{what} {location[:200]!r} names a file outside the file exchange area and no '
        f'attachment ends its path; attach the file, or put it under {place.exchange_url}/input/'
    )
