"""The optional filters and paging of GET /jobs.

Cerise clients expect GET /jobs to answer every job as one JSON array, so
without parameters it still does. With `state`, `name`, `limit` or `cursor`
the answer is still an array (the same job objects), filtered and cut to a
page; the next page is named by the `Cerise-Next-Cursor` header and a
`Link: <...>; rel="next"` header, both absent on the last page.

- `state`: API states (`Waiting`, `Running`, `Success`, ...), repeated or
  comma-separated; each stands for the internal states it shows.
- `name`: the exact job name.
- `limit`: at most this many jobs (1 to MAX_PAGE_SIZE; larger is lowered).
- `cursor`: the `Cerise-Next-Cursor` of the previous page.
"""

import urllib.parse
from typing import Dict, List, NamedTuple, Optional

import falcon

from ..defaults import MAX_PAGE_SIZE
from ..jobs.states import JobState
from .paging import Cursor, decode_cursor, encode_cursor, page_size

#: API state (lower case) -> its name and the stored values of its internal states
_BY_API_STATE: Dict[str, tuple] = {}
for _state in JobState:
    _name, _values = _BY_API_STATE.get(_state.cwl_state.lower(), (_state.cwl_state, []))
    _BY_API_STATE[_state.cwl_state.lower()] = (_name, _values + [_state.value])

PARAMETERS = ('state', 'name', 'limit', 'cursor')
NEXT_CURSOR_HEADER = 'Cerise-Next-Cursor'


class JobsQuery(NamedTuple):
    states: Optional[List[str]]  # stored values
    name: Optional[str]
    limit: Optional[int]
    after: Optional[Cursor]


def _bad(description: str) -> falcon.HTTPBadRequest:
    return falcon.HTTPBadRequest(title='Invalid query', description=description)


def _one(params: dict, key: str) -> Optional[str]:
    value = params.get(key)
    if isinstance(value, list):
        raise _bad(f'give "{key}" at most once')
    return value


def jobs_query(params: dict) -> Optional[JobsQuery]:
    """The query of GET /jobs from falcon's `req.params`; None without any
    parameter of ours (the whole list, as Cerise answers it)."""
    if not any(key in params for key in PARAMETERS):
        return None
    states = None
    if 'state' in params:
        raw = params['state']
        names = [n.strip() for v in (raw if isinstance(raw, list) else [raw]) for n in v.split(',')]
        states = []
        for name in filter(None, names):
            if name.lower() not in _BY_API_STATE:
                known = ', '.join(n for n, _ in _BY_API_STATE.values())
                raise _bad(f'unknown state {name[:40]!r}; the states are {known}')
            states += _BY_API_STATE[name.lower()][1]
    limit = None
    if 'limit' in params:
        try:
            limit = page_size(_one(params, 'limit'), MAX_PAGE_SIZE, MAX_PAGE_SIZE, 'limit')
        except ValueError as exc:
            raise _bad(str(exc)) from None
    after = None
    cursor = _one(params, 'cursor')
    if cursor is not None:
        try:
            after = decode_cursor(cursor)
        except ValueError as exc:
            raise _bad(f'cursor: {exc}') from None
    return JobsQuery(states, _one(params, 'name'), limit, after)


def add_next_page(resp, base_url: str, params: dict, cursor: Optional[Cursor]) -> None:
    """Name the next page in the answer's headers, if there is one."""
    if cursor is None:
        return
    token = encode_cursor(cursor)
    query = {key: value for key, value in params.items() if key in PARAMETERS}
    query['cursor'] = token
    resp.set_header(NEXT_CURSOR_HEADER, token)
    link = f'{base_url}/jobs?{urllib.parse.urlencode(query, doseq=True)}'
    resp.set_header('Link', f'<{link}>; rel="next"')
