"""Each job's owner in the job store, on a real SQLite file.

With an owner given, another owner's job must behave exactly as a job that
does not exist, in every read and change a user's request makes; and the
per-user limit of unfinished jobs is checked with the insert, in the store.
"""

import peewee
import pytest

from cerise_actors.errors import TooManyActiveJobs
from cerise_actors.jobs.states import JobState as S
from cerise_actors.jobs.views import JobSummary, RunSummary
from cerise_actors.store.job_store import JobStore


@pytest.fixture
def store(tmp_path):
    job_store = JobStore(tmp_path / 'jobs.db')
    yield job_store
    job_store.close()


def _job(store, owner, path=(), name='j'):
    """A job of `owner` moved along `path` (states after SUBMITTED)."""
    job_id = store.create(name, 'wf', '{}', owner=owner).id
    current = S.SUBMITTED
    for state in path:
        assert store.transition(job_id, current, state)
        current = state
    return job_id


def _snapshot(store, job_id):
    """The job as the store holds it, whoever owns it, with its log."""
    return store.get(job_id, full=True, include_deleted=True), store.log_lines(job_id)


def walk(store, limit, row_type=JobSummary, **filters):
    ids, cursor = [], None
    while True:
        rows, cursor = store.page(row_type, limit=limit, after=cursor, **filters)
        assert rows or cursor is None, 'a cursor only when more follow'
        ids += [row.id for row in rows]
        if cursor is None:
            return ids


def test_the_owner_is_recorded_and_shown_in_every_view(store):
    job = store.create('n', 'wf', '{}', owner='alice')
    assert job.owner == 'alice'
    assert store.get(job.id).owner == 'alice'
    assert store.get(job.id, full=True).owner == 'alice'
    assert store.in_states([S.SUBMITTED])[0].owner == 'alice'
    assert store.create('n', 'wf', '{}').owner == ''


def test_another_owners_job_is_as_if_absent(store):
    mine, theirs = _job(store, 'alice'), _job(store, 'bob')
    before = _snapshot(store, theirs)
    assert store.get(mine, owner='alice').id == mine
    assert store.run(mine, owner='alice').id == mine
    assert store.log_lines(mine, owner='alice')
    for ask in (store.get, store.run, store.log_lines, store.cancel, store.request_delete):
        assert ask(theirs, owner='alice') is None, ask
        assert ask(theirs, owner='alice') == ask('no-such-job', owner='alice'), ask
    assert store.get(theirs, full=True, include_deleted=True, owner='alice') is None
    assert _snapshot(store, theirs) == before, 'the refused cancel and delete changed nothing'
    # and None is any owner, as the internal actors ask
    assert store.get(theirs).owner == 'bob'
    assert store.run(theirs) is not None and store.log_lines(theirs)


def test_an_owners_cancel_and_delete_work_on_their_own_job(store):
    job_id = _job(store, 'alice')
    assert store.cancel(job_id, owner='alice').state is S.CANCELLED
    assert store.request_delete(job_id, owner='alice').delete_requested
    assert store.get(job_id, owner='alice') is None


def test_the_empty_owner_is_an_owner_like_any_other(store):
    """Jobs from before users (owner '') are not every user's."""
    old = _job(store, '')
    assert store.get(old, owner='alice') is None
    assert store.get(old, owner='').id == old
    assert walk(store, 10, owner='alice') == []
    assert walk(store, 10, owner='') == [old]


def test_lists_and_counts_leave_other_owners_out(store):
    made = {'alice': [], 'bob': []}
    for i in range(7):
        owner = 'alice' if i % 3 else 'bob'
        made[owner].append(_job(store, owner, [S.STAGING_IN] if i % 2 else ()))
    everyone = walk(store, 100)
    assert sorted(everyone) == sorted(made['alice'] + made['bob'])
    for owner, ids in made.items():
        for limit in (1, 2, 3, 100):
            assert walk(store, limit, owner=owner) == ids, (owner, limit)
        assert walk(store, 2, RunSummary, owner=owner) == ids
        assert walk(store, 2, owner=owner, max_bytes=1) == ids
        counts = store.state_counts(owner=owner)
        assert sum(counts.values()) == len(ids)
        staging = [i for i in ids if store.get(i).state is S.STAGING_IN]
        assert counts.get('StagingIn', 0) == len(staging)
        assert walk(store, 1, owner=owner, states=['StagingIn']) == staging
    assert walk(store, 1, owner='carol') == [] and store.state_counts(owner='carol') == {}
    assert store.state_counts() == {
        'Submitted': sum(store.get(i).state is S.SUBMITTED for i in everyone),
        'StagingIn': sum(store.get(i).state is S.STAGING_IN for i in everyone),
    }


def test_a_page_end_and_its_cursor_count_the_owners_jobs_only(store):
    alice = []
    for _ in range(3):
        alice.append(_job(store, 'alice'))
        _job(store, 'bob')
    keys = [(store.get(job_id).created_at, job_id) for job_id in alice]
    assert store.page_end(limit=2, owner='alice') == (keys[1], keys[1])
    assert store.page_end(limit=2, after=keys[1], owner='alice') == (keys[2], None)
    rows, cursor = store.page(owner='alice', after=keys[0], until=keys[2])
    assert [row.id for row in rows] == alice[1:] and cursor is None
    # a cursor handed out to alice leads to her next job, past bob's between
    rows, cursor = store.page(owner='alice', limit=1, after=keys[0])
    assert [row.id for row in rows] == alice[1:2] and cursor == keys[1]


def test_a_deleted_job_leaves_its_owners_lists_and_counts(store):
    kept, gone = _job(store, 'alice'), _job(store, 'alice')
    assert store.request_delete(gone, owner='alice') is not None
    assert walk(store, 1, owner='alice') == [kept]
    assert store.state_counts(owner='alice') == {'Submitted': 1}


@pytest.mark.parametrize(
    'page',
    [
        lambda s: s.page(limit=2, owner='alice'),
        lambda s: s.page(max_bytes=1, after=(0.0, ''), owner='alice'),
        lambda s: s.page(RunSummary, limit=2, until=(9e9, ''), owner='alice'),
        lambda s: s.page(states=['Submitted', 'Running'], limit=1, owner='alice'),
        lambda s: s.page(name='j', limit=1, owner='alice'),
        lambda s: s.page_end(limit=2, owner='alice'),
    ],
)
def test_an_owners_pages_walk_their_own_index_and_sort_nothing(store, page):
    for owner in ('alice', 'bob', 'alice', 'bob'):
        _job(store, owner)
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
        assert 'job_owner_listing' in plan, plan


def test_counting_unfinished_jobs_reads_the_owners_index_only(store):
    _job(store, 'alice')
    statements = []
    connection = store._db.connection()
    connection.set_trace_callback(statements.append)
    try:
        assert store.active_count('alice', 10) == 1
    finally:
        connection.set_trace_callback(None)
    plan = ' | '.join(row[3] for row in connection.execute(f'EXPLAIN QUERY PLAN {statements[0]}'))
    assert 'COVERING INDEX job_owner_state' in plan and 'SCAN job' not in plan, plan


# --- the limit ---------------------------------------------------------------
def test_the_limit_refuses_a_job_and_makes_nothing(store):
    for _ in range(2):
        store.create('n', 'wf', '{}', owner='alice', max_active=2)
    before = (store.page()[0], store._db.execute_sql('SELECT count(*) FROM logline').fetchone())
    with pytest.raises(TooManyActiveJobs) as refused:
        store.create('n', 'wf', '{}', owner='alice', max_active=2)
    assert (refused.value.owner, refused.value.limit) == ('alice', 2)
    assert refused.value.temporary
    assert "user 'alice' already has 2 unfinished jobs" in str(refused.value)
    with pytest.raises(TooManyActiveJobs):
        store.create('n', 'wf', '{}', job_id='given-id', owner='alice', max_active=2)
    assert store.get('given-id') is None
    after = (store.page()[0], store._db.execute_sql('SELECT count(*) FROM logline').fetchone())
    assert after == before
    # a lower limit than the jobs one has refuses too
    with pytest.raises(TooManyActiveJobs):
        store.create('n', 'wf', '{}', owner='alice', max_active=1)


def test_the_limit_is_each_owners_own(store):
    for _ in range(2):
        _job(store, 'alice')
    assert store.create('n', 'wf', '{}', owner='bob', max_active=2).owner == 'bob'
    assert store.create('n', 'wf', '{}', owner='', max_active=1).owner == ''
    with pytest.raises(TooManyActiveJobs) as refused:
        store.create('n', 'wf', '{}', owner='', max_active=1)
    assert str(refused.value).startswith('you already have 1 unfinished jobs')


@pytest.mark.parametrize(
    'path',
    [
        [S.CANCELLED],
        [S.STAGING_IN, S.PERMANENT_FAILURE],
        [S.STAGING_IN, S.WAITING, S.RUNNING, S.TEMPORARY_FAILURE],
        [S.STAGING_IN, S.SYSTEM_ERROR],
        [S.STAGING_IN, S.WAITING, S.FINISHED, S.STAGING_OUT, S.SUCCESS],
    ],
)
def test_a_finished_job_frees_a_place(store, path):
    done, _ = _job(store, 'alice', path), _job(store, 'alice')
    assert store.get(done).state.is_final
    assert store.create('n', 'wf', '{}', owner='alice', max_active=2)
    with pytest.raises(TooManyActiveJobs):
        store.create('n', 'wf', '{}', owner='alice', max_active=2)


@pytest.mark.parametrize(
    'path',
    [
        [],
        [S.STAGING_IN],
        [S.STAGING_IN, S.WAITING, S.RUNNING],
        [S.STAGING_IN, S.WAITING, S.FINISHED],
    ],
)
def test_an_unfinished_job_holds_its_place(store, path):
    _job(store, 'alice', path)
    with pytest.raises(TooManyActiveJobs):
        store.create('n', 'wf', '{}', owner='alice', max_active=1)


def test_a_job_being_deleted_frees_its_place(store):
    running = _job(store, 'alice', [S.STAGING_IN, S.WAITING, S.RUNNING])
    assert store.request_delete(running, owner='alice').state is S.RUNNING_CR
    assert store.create('n', 'wf', '{}', owner='alice', max_active=1)


def test_without_a_limit_nothing_is_counted(store):
    for _ in range(5):
        store.create('n', 'wf', '{}', owner='alice')
    assert store.create('n', 'wf', '{}', owner='alice', max_active=None)
    assert store.active_count('alice', 100) == 6
    assert store.active_count('alice', 4) == 4, 'counted no further than asked'


def test_creating_an_existing_id_again_is_not_counted_against_the_limit(store):
    """A repeated id is refused by the database as it always was, never as a
    new job over the limit: the id names a job that already holds its place."""
    store.create('n', 'wf', '{}', job_id='run-1', owner='alice', max_active=1)
    with pytest.raises(peewee.IntegrityError):
        store.create('n', 'wf', '{}', job_id='run-1', owner='alice', max_active=1)
    assert [row.id for row in store.page()[0]] == ['run-1']
    assert store.active_count('alice', 10) == 1
