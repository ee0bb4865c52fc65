"""Pages of the jobs users see: how GET /jobs and GET /ga4gh/wes/v1/runs read them.

Lists are read in the order of (created_at, id), a page at a time: the
front end asks the StoreActor for one page, writes it to the client and asks
for the next, so other asks are answered in between and no list is ever
held whole. A page ends after `limit` rows or, after at least one row, once
its rows hold `max_bytes` of text or reading them took `max_seconds`: with
2 MB of input in each job, 150 jobs made one GET /jobs answer of 300 MB,
built in one ask that held the store for seconds.

With an `owner`, a page holds that user's jobs only, read on an index of
their own (OWNER_INDEX), as fast as the list of all jobs; the internal
actors and a service without users pass None (every job).

A cursor is the (created_at, id) of a page's last row, given only when more
rows follow. Creation times only grow (JobStore.create), so a job created
while a client pages comes after every cursor handed out: each job is in
exactly one page. Functions over the store's connection, called only from
the StoreActor's thread (through JobStore).
"""

import functools
import math
import sqlite3
import time
import typing
from typing import Any, List, NamedTuple, Optional, Tuple, Type, TypeVar

from .sql import Params, SqlDatabase

Key = Tuple[float, str]
#: the NamedTuple of a page's rows (JobSummary, RunSummary, PageKey): its
#: fields name the columns read
R = TypeVar('R', bound=NamedTuple)

#: the index pages walk. Without it SQLite took the index of delete_requested
#: and sorted: every page read every job whole (150 jobs of 4 MB: 600 MB a
#: page). With it a page reads its own rows only, in order, and the keys
#: (`end`, `_any`), the state filter and deleted jobs come from the index.
INDEX = 'CREATE INDEX IF NOT EXISTS job_listing ON job (delete_requested, created_at, id, state)'
#: the same for one user's pages: the owner first, so a user's page reads
#: their rows only, whoever else has jobs
OWNER_INDEX = (
    'CREATE INDEX IF NOT EXISTS job_owner_listing '
    'ON job (owner, delete_requested, created_at, id, state)'
)

#: the fields of page rows that are not columns, and the SQL that gives them:
#: SQLite reads a run's tags out of its stored request (about a millisecond
#: for 2 MB), so the workflow_params beside them never leave the store
_COLUMNS = {'tags': "json_extract(wes_request, '$.tags')"}


class PageKey(NamedTuple):
    """A page row of the keys only (see `end`)."""

    created_at: float
    id: str


def read(
    db: SqlDatabase,
    row_type: Type[R],
    states: Optional[List[str]] = None,
    name: Optional[str] = None,
    limit: Optional[int] = None,
    after: Optional[Key] = None,
    until: Optional[Key] = None,
    max_bytes: Optional[int] = None,
    max_seconds: Optional[float] = None,
    owner: Optional[str] = None,
) -> Tuple[List[R], Optional[Key]]:
    """A page as `row_type` rows (JobSummary, RunSummary, PageKey: their
    fields name the columns), and the cursor of the next page (None if
    nothing follows).

    `states` (stored values), `name` and `owner` (None: any) filter; `after`
    is the cursor of the previous page and `until` the last (created_at, id)
    to include.
    """
    where, values = _where(states, name, after, until, owner)
    columns = ', '.join(_COLUMNS.get(field, field) for field in row_type._fields)
    sql = (
        f'SELECT {columns}, created_at, id FROM job{_indexed(owner)} WHERE {where} '
        'ORDER BY created_at, id LIMIT ?'
    )
    values.append(-1 if limit is None else limit)  # -1: all
    width = len(row_type._fields)
    result = db.execute_sql(sql, values)
    rows: List[Any]  # sqlite3's rows: the fields' values, then the key
    try:
        if max_bytes is None and max_seconds is None:
            rows, stopped = result.fetchall(), False
        else:
            rows, stopped = _take(result, _text_fields(row_type), max_bytes, max_seconds)
    finally:
        result.close()
    last: Optional[Key] = tuple(rows[-1][width:]) if rows else None
    more = (stopped or len(rows) == limit) and _any(db, states, name, last, until, owner)
    return [row_type._make(row[:width]) for row in rows], last if more else None


def _take(
    result: sqlite3.Cursor,
    text: Tuple[int, ...],
    max_bytes: Optional[int],
    max_seconds: Optional[float],
) -> Tuple[List[Any], bool]:
    """Rows of `result`, one by one, until those taken hold `max_bytes` in
    their `text` fields or `max_seconds` have passed (one row at least); and
    whether it stopped before the end."""
    most = math.inf if max_bytes is None else max_bytes
    deadline = math.inf if max_seconds is None else time.monotonic() + max_seconds
    rows: List[Any] = []
    size = 0
    for row in result:
        rows.append(row)
        for i in text:
            if row[i]:
                size += len(row[i])
        if size >= most or time.monotonic() >= deadline:
            return rows, True
    return rows, False


@functools.cache
def _text_fields(row_type: Type[NamedTuple]) -> Tuple[int, ...]:
    """The places of the text fields of `row_type` (str or Optional[str])."""
    hints = typing.get_type_hints(row_type)
    return tuple(
        i for i, field in enumerate(row_type._fields) if hints[field] in (str, Optional[str])
    )


def end(
    db: SqlDatabase,
    states: Optional[List[str]] = None,
    name: Optional[str] = None,
    limit: int = 1,
    after: Optional[Key] = None,
    owner: Optional[str] = None,
) -> Tuple[Optional[Key], Optional[Key]]:
    """The (created_at, id) of the last job of the page `read` gives with
    these arguments (None if it is empty), and the cursor of the page after
    it: what GET /jobs?limit= names in its headers before writing the page."""
    keys, cursor = read(db, PageKey, states, name, limit, after, owner=owner)
    return ((keys[-1].created_at, keys[-1].id) if keys else None), cursor


def _any(
    db: SqlDatabase,
    states: Optional[List[str]],
    name: Optional[str],
    after: Optional[Key],
    until: Optional[Key],
    owner: Optional[str],
) -> bool:
    """Whether a page after `after` would hold a job."""
    where, values = _where(states, name, after, until, owner)
    sql = f'SELECT 1 FROM job{_indexed(owner)} WHERE {where} LIMIT 1'
    return db.execute_sql(sql, values).fetchone() is not None


def _indexed(owner: Optional[str]) -> str:
    """The index a page of one user's jobs is read on. Named, so that the plan
    does not hang on SQLite's statistics: a page filtered by state could
    otherwise be read on the index of the state counts (schema.ACTIVE_INDEX)
    and every job of the user sorted for it."""
    return '' if owner is None else ' INDEXED BY job_owner_listing'


def _where(
    states: Optional[List[str]],
    name: Optional[str],
    after: Optional[Key],
    until: Optional[Key],
    owner: Optional[str] = None,
) -> Tuple[str, Params]:
    """The WHERE clause of a page of the jobs users see, and its values."""
    where = ['delete_requested = 0']
    values: Params = []
    if owner is not None:
        where.append('owner = ?')
        values.append(owner)
    if states is not None:
        where.append(f'state IN ({", ".join("?" * len(states))})')
        values += states
    if name is not None:
        where.append('name = ?')
        values.append(name)
    if after is not None:
        where.append('(created_at, id) > (?, ?)')
        values += [after[0], after[1]]
    if until is not None:
        where.append('(created_at, id) <= (?, ?)')
        values += [until[0], until[1]]
    return ' AND '.join(where), values
