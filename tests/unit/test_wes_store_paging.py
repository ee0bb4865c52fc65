"""The job store's pages, filters and WES fields, on a real SQLite file.

Paging is what keeps GET /jobs and GET /runs usable on large stores; its
promise is that a client walking the pages sees every job exactly once, also
while jobs are being created (creation times only grow).
"""

import json
import time

import pytest

from cerise_actors.jobs.states import JobState as S
from cerise_actors.jobs.views import JobSummary, RunRecord, RunSummary
from cerise_actors.store.job_store import JobStore


@pytest.fixture
def store(tmp_path):
    job_store = JobStore(tmp_path / 'jobs.db')
    yield job_store
    job_store.close()


def walk(store, limit, row_type=JobSummary, between_pages=None, **filters):
    ids, cursor = [], None
    while True:
        rows, cursor = store.page(row_type, limit=limit, after=cursor, **filters)
        assert rows or cursor is None, 'a cursor only when more follow'
        assert len(rows) <= limit
        ids += [row.id for row in rows]
        if cursor is None:
            return ids
        if between_pages:
            between_pages()


def test_pages_hold_every_job_once_in_creation_order(store):
    made = [store.create(f'j{i}', 'wf', '{}').id for i in range(23)]
    for limit in (1, 5, 23, 100):
        assert walk(store, limit) == made
    rows, cursor = store.page()
    assert [row.id for row in rows] == made and cursor is None


def test_jobs_created_while_paging_come_once_and_after_the_others(store):
    made = [store.create('a', 'wf', '{}').id for _ in range(10)]

    def add():
        made.append(store.create('late', 'wf', '{}').id)

    seen = walk(store, 3, between_pages=add)
    assert len(seen) == len(set(seen))
    assert seen[:10] == made[:10]
    assert set(seen) <= set(made)


def test_creation_times_grow_even_when_the_clock_steps_back(store, monkeypatch):
    first = store.create('a', 'wf', '{}')
    monkeypatch.setattr(time, 'time', lambda: first.created_at - 100)
    second = store.create('b', 'wf', '{}')
    third = store.create('c', 'wf', '{}')
    assert first.created_at < second.created_at < third.created_at
    assert walk(store, 1) == [first.id, second.id, third.id]


def test_creation_times_grow_across_a_reopening(tmp_path, monkeypatch):
    store = JobStore(tmp_path / 'jobs.db')
    first = store.create('a', 'wf', '{}')
    store.close()
    monkeypatch.setattr(time, 'time', lambda: first.created_at - 100)
    store = JobStore(tmp_path / 'jobs.db')
    try:
        assert store.create('b', 'wf', '{}').created_at > first.created_at
    finally:
        store.close()


def test_state_and_name_filters(store):
    a = store.create('x', 'wf', '{}').id
    b = store.create('y', 'wf', '{}').id
    c = store.create('x', 'wf', '{}').id
    store.transition(b, S.SUBMITTED, S.STAGING_IN)
    store.transition(c, S.SUBMITTED, S.CANCELLED)
    ids = lambda **f: [row.id for row in store.page(**f)[0]]  # noqa: E731
    assert ids(name='x') == [a, c]
    assert ids(states=['Submitted', 'StagingIn']) == [a, b]
    assert ids(states=['Cancelled'], name='x') == [c]
    assert ids(states=[]) == []
    assert walk(store, 1, name='x') == [a, c]


def test_deleted_jobs_are_left_out(store):
    a = store.create('x', 'wf', '{}').id
    b = store.create('x', 'wf', '{}').id
    store.request_delete(a)
    assert [row.id for row in store.page()[0]] == [b]
    assert store.run(a) is None
    assert store.state_counts() == {'Submitted': 1}


def test_a_run_record_has_the_wes_request_and_the_start_time(store):
    request = json.dumps({'workflow_url': 'wf.cwl', 'tags': {'t': '1'}})
    job = store.create('x', 'wf', '{}', job_id='my-id', wes_request=request, notes=['a note'])
    assert job.id == 'my-id'
    assert [line[2] for line in store.log_lines('my-id')][-1] == 'a note'
    run = store.run('my-id')
    assert isinstance(run, RunRecord) and run.wes_request == request
    assert run.started_at is None
    store.transition('my-id', S.SUBMITTED, S.STAGING_IN)
    store.transition('my-id', S.STAGING_IN, S.WAITING)
    store.transition('my-id', S.WAITING, S.RUNNING)
    started = store.run('my-id').started_at
    assert started is not None
    store.transition('my-id', S.RUNNING, S.FINISHED)  # the first start is kept
    assert store.run('my-id').started_at == started
    rows, _ = store.page(RunSummary, limit=5)
    assert rows == [RunSummary('my-id', 'x', 'Finished', rows[0].updated_at, started, '{"t":"1"}')]
    assert rows[0].updated_at == store.run('my-id').updated_at


def test_a_run_summary_has_the_tags_of_the_request_and_nothing_large(store):
    params = {'blob': 'x' * 100_000, 'tags': 'not these'}
    request = {'workflow_params': params, 'tags': {'name': 'n', 'k': 'é'}, 'workflow_url': 'w'}
    store.create('n', 'wf', json.dumps(params), wes_request=json.dumps(request))
    store.create('plain', 'wf', json.dumps(params))
    made_through_wes, plain = store.page(RunSummary)[0]
    assert json.loads(made_through_wes.tags) == {'name': 'n', 'k': 'é'}
    assert plain.tags is None and plain.name == 'plain'
    assert max(len(str(field)) for field in made_through_wes + plain) < 100


def test_a_page_ends_once_its_rows_hold_max_bytes(store):
    made = [store.create(f'j{i}', 'wf', json.dumps({'s': 'x' * 1000})).id for i in range(10)]
    rows, cursor = store.page(max_bytes=2500)
    assert [row.id for row in rows] == made[:3] and cursor is not None
    rows, cursor = store.page(max_bytes=1, after=cursor)  # one row at least
    assert [row.id for row in rows] == made[3:4]
    assert walk(store, 100, max_bytes=1) == made
    rows, cursor = store.page(max_bytes=1, after=store.page(limit=9)[1])
    assert [row.id for row in rows] == made[9:] and cursor is None, 'no cursor to an empty page'


def test_a_page_ends_once_reading_took_max_seconds(store, monkeypatch):
    made = [store.create('j', 'wf', '{}').id for _ in range(6)]
    clock = iter(range(100))
    monkeypatch.setattr(time, 'monotonic', lambda: next(clock))
    rows, cursor = store.page(max_seconds=2.5)  # starts at 0; rows read at 1, 2, 3
    assert [row.id for row in rows] == made[:3] and cursor is not None
    assert walk(store, 100, max_seconds=0) == made


def test_a_page_ends_at_until_and_page_end_names_it(store):
    made = [store.create('j', 'wf', '{}').id for _ in range(5)]
    keys = [(store.get(job_id).created_at, job_id) for job_id in made]
    assert store.page_end(limit=2) == (keys[1], keys[1])
    assert store.page_end(limit=2, after=keys[2]) == (keys[4], None)
    assert store.page_end(limit=5) == (keys[4], None)
    assert store.page_end(limit=2, after=keys[4]) == (None, None)
    rows, cursor = store.page(after=keys[0], until=keys[2])
    assert [row.id for row in rows] == made[1:3] and cursor is None
    rows, cursor = store.page(limit=1, after=keys[0], until=keys[2])
    assert [row.id for row in rows] == made[1:2] and cursor == keys[1]
    store.create('late', 'wf', '{}')
    assert walk(store, 1, until=keys[4]) == made, 'a job created later is past the end'


@pytest.mark.parametrize(
    'page',
    [
        lambda s: s.page(limit=2),
        lambda s: s.page(max_bytes=1, after=(0.0, '')),
        lambda s: s.page(RunSummary, limit=2, until=(9e9, '')),
        lambda s: s.page(states=['Submitted', 'Running'], limit=1),
        lambda s: s.page(name='j', limit=1),
        lambda s: s.page_end(limit=2),
    ],
)
def test_pages_walk_the_listing_index_and_sort_nothing(store, page):
    """A page must read its own rows only: a sort (a temporary B-tree) reads every job whole."""
    for _ in range(3):
        store.create('j', 'wf', '{}')
    statements = []
    connection = store._db.connection()
    connection.set_trace_callback(statements.append)
    try:
        page(store)
    finally:
        connection.set_trace_callback(None)
    assert statements
    for sql in statements:
        plan = ' | '.join(row[3] for row in connection.execute(f'EXPLAIN QUERY PLAN {sql}'))
        assert 'TEMP B-TREE' not in plan and 'SCAN' not in plan, plan
        assert 'job_listing' in plan or 'boundjob_delete_requested' in plan, plan
