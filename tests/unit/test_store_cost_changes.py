"""A change is still one compare-and-swap with its log line on the store's own
savepoints and transactions (store/sql.py: Connection), and the indexes no
query needs are gone, also from a file made before (issue 21, item 4)."""

import contextlib
import sqlite3
import tempfile
from pathlib import Path

import peewee
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cerise_actors.errors import TooManyActiveJobs
from cerise_actors.jobs.states import JobState as S
from cerise_actors.store.actor import StoreActor
from cerise_actors.store.group_commit import in_group_commit
from cerise_actors.store.job_store import JobStore

from .test_store_group_commit import _Blocking

FIRST_LINE = 'Job submitted; waiting to be staged in.'


@pytest.fixture
def store(tmp_path):
    job_store = JobStore(tmp_path / 'jobs.db')
    yield job_store
    job_store.close()


def _on_disk(path):
    """What another connection sees: only what was committed."""
    with sqlite3.connect(path) as other:
        return dict(other.execute('SELECT id, state FROM job').fetchall())


def _statements(store, run):
    """The statements `run(store)` runs."""
    statements = []
    connection = store._db.connection()
    connection.set_trace_callback(statements.append)
    try:
        run(store)
    finally:
        connection.set_trace_callback(None)
    return statements


def _plans(store, read):
    """The query plans of the statements `read(store)` runs."""
    statements = _statements(store, read)
    connection = store._db.connection()
    return [
        ' | '.join(row[3] for row in connection.execute(f'EXPLAIN QUERY PLAN {sql}'))
        for sql in statements
    ]


# --- a change and its log line -------------------------------------------------------
def test_a_transition_whose_log_line_fails_is_not_kept(store):
    job = store.create('', 'u', '{}')
    with pytest.raises(peewee.IntegrityError):  # a line of None: NOT NULL
        store.transition(job.id, S.SUBMITTED, S.STAGING_IN, ['fine', None], cores=3)
    after = store.get(job.id)
    assert (after.state, after.cores) == (S.SUBMITTED, 0)
    assert [line[2] for line in store.log_lines(job.id)] == [FIRST_LINE]
    assert not store.in_transaction()
    assert store.transition(job.id, S.SUBMITTED, S.STAGING_IN, 'staging')  # and it goes on


def test_in_a_batch_only_the_change_that_failed_is_undone(store, tmp_path):
    first, second = store.create('', 'u', '{}'), store.create('', 'u', '{}')
    with store.transaction():
        assert store.transition(first.id, S.SUBMITTED, S.STAGING_IN, 'kept')
        with pytest.raises(peewee.IntegrityError):
            store.transition(second.id, S.SUBMITTED, S.STAGING_IN, [None])
        assert store.in_transaction()
        store.update(second.id, 'noted', cores=2)
        assert _on_disk(tmp_path / 'jobs.db')[first.id] == 'Submitted'  # not yet committed
    assert _on_disk(tmp_path / 'jobs.db') == {first.id: 'StagingIn', second.id: 'Submitted'}
    assert store.get(second.id).cores == 2
    assert [line[2] for line in store.log_lines(second.id)] == [FIRST_LINE, 'noted']


@pytest.mark.parametrize('batch', [False, True], ids=['alone', 'in a batch'])
def test_a_transition_whose_update_fails_takes_its_lines_out_again(store, tmp_path, batch):
    """In a batch the lines go first (no savepoint): the UPDATE failing after
    them (cores NOT NULL) leaves neither, and the batch's other changes stay."""
    other, job = store.create('', 'u', '{}'), store.create('', 'u', '{}')
    with store.transaction() if batch else contextlib.nullcontext():
        assert store.transition(other.id, S.SUBMITTED, S.STAGING_IN, 'kept')
        with pytest.raises(peewee.IntegrityError):
            store.transition(job.id, S.SUBMITTED, S.STAGING_IN, ['one', 'two'], cores=None)
        assert store.in_transaction() is batch
        store.add_log(job.id, 'after')
    assert _on_disk(tmp_path / 'jobs.db') == {other.id: 'StagingIn', job.id: 'Submitted'}
    assert [line[2] for line in store.log_lines(job.id)] == [FIRST_LINE, 'after']
    assert [line[2] for line in store.log_lines(other.id)] == [FIRST_LINE, 'kept']


@pytest.mark.parametrize('batch', [False, True], ids=['alone', 'in a batch'])
def test_a_creation_whose_lines_fail_leaves_no_job(store, tmp_path, batch):
    with store.transaction() if batch else contextlib.nullcontext():
        with pytest.raises(peewee.IntegrityError):
            store.create('', 'u', '{}', job_id='given', notes=['fine', None])
        assert store.get('given') is None and store.log_lines('given') is None
        made = store.create('', 'u', '{}', job_id='given', notes=['fine'])
    assert _on_disk(tmp_path / 'jobs.db') == {'given': 'Submitted'}
    assert store.get('given') == made
    assert [line[2] for line in store.log_lines('given')] == [FIRST_LINE, 'fine']


def test_in_a_batch_a_transition_is_two_statements_and_a_lost_race_one(store):
    """Its lines (all in one) and its UPDATE; a lost race writes no line."""
    job = store.create('', 'u', '{}')
    with store.transaction():
        seen = _statements(
            store, lambda s: s.transition(job.id, S.SUBMITTED, S.STAGING_IN, ['a', 'b'])
        )
        lost = _statements(store, lambda s: s.transition(job.id, S.SUBMITTED, S.STAGING_IN, 'c'))
    assert [sql.split()[0] for sql in seen] == ['INSERT', 'UPDATE'], seen
    assert [sql.split()[0] for sql in lost] == ['INSERT'], lost
    assert [line[2] for line in store.log_lines(job.id)] == [FIRST_LINE, 'a', 'b']


def test_a_refused_creation_leaves_nothing_and_the_errors_are_peewees(store):
    job = store.create('', 'u', '{}', job_id='given')
    with pytest.raises(peewee.IntegrityError):
        store.create('', 'u', '{}', job_id='given')
    assert store.get('given') == job and not store.in_transaction()
    assert len(store.log_lines('given')) == 1


def test_a_commit_that_fails_is_rolled_back_and_raised(store, tmp_path):
    """A deferred constraint fails at COMMIT: nothing of the batch is kept, the
    error is peewee's, and no transaction is left open."""
    job = store.create('', 'u', '{}')
    store._db.execute_sql(
        'CREATE TABLE later (job_id TEXT REFERENCES job (id) DEFERRABLE INITIALLY DEFERRED)'
    )
    with pytest.raises(peewee.IntegrityError):
        with store.transaction():
            store.transition(job.id, S.SUBMITTED, S.STAGING_IN, 'lost')
            store._db.execute_sql("INSERT INTO later VALUES ('no such job')")
    assert not store.in_transaction()
    assert store.get(job.id).state is S.SUBMITTED
    assert _on_disk(tmp_path / 'jobs.db') == {job.id: 'Submitted'}


# --- the indexes ---------------------------------------------------------------------
def _indexes(path):
    with sqlite3.connect(path) as db:
        return {
            name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }


def test_the_job_table_has_only_the_indexes_its_queries_read(store, tmp_path):
    """Every index that holds the state is written by every transition."""
    job_indexes = {'sqlite_autoindex_job_1', 'job_listing', 'job_owner_listing', 'job_owner_state'}
    assert _indexes(tmp_path / 'jobs.db') == job_indexes | {'boundlogline_job_id'}


def test_a_file_made_before_loses_the_indexes_no_query_reads(tmp_path):
    path = tmp_path / 'jobs.db'
    store = JobStore(path)
    job = store.create('', 'u', '{}')
    store.close()
    with sqlite3.connect(path) as db:  # as earlier versions made them
        db.execute('CREATE INDEX boundjob_state ON job (state)')
        db.execute('CREATE INDEX boundjob_delete_requested ON job (delete_requested)')
    store = JobStore(path)
    try:
        assert not {'boundjob_state', 'boundjob_delete_requested'} & _indexes(path)
        assert store.get(job.id) == job
    finally:
        store.close()


def test_jobs_in_states_are_read_on_the_listing_index_in_creation_order(store):
    jobs = [store.create('', 'u', '{}') for _ in range(4)]
    store.transition(jobs[1].id, S.SUBMITTED, S.STAGING_IN)
    store.request_delete(jobs[2].id)  # cancelled, and still there for the workers
    store.transition(jobs[3].id, S.SUBMITTED, S.STAGING_IN)
    found = store.in_states([S.STAGING_IN, S.CANCELLED])
    assert [job.id for job in found] == [jobs[1].id, jobs[2].id, jobs[3].id]
    (plan,) = _plans(store, lambda s: s.in_states([S.STAGING_IN]))
    assert 'job_listing' in plan, plan


@pytest.mark.parametrize(
    'read', [lambda s: s.deletable(), lambda s: s.expired(9e9, 10)], ids=['deletable', 'expired']
)
def test_the_cleaners_and_retentions_queries_read_the_listing_index(store, read):
    store.create('', 'u', '{}')
    (plan,) = _plans(store, read)
    assert 'job_listing' in plan and 'SCAN' not in plan, plan


# --- the per-user limit, counted only near it (job_facts.ActiveCounts) ---------------------
def _counts(store, make):
    """How many times `make(store)` counted unfinished jobs."""
    statements = []
    connection = store._db.connection()
    connection.set_trace_callback(statements.append)
    try:
        make(store)
    finally:
        connection.set_trace_callback(None)
    return sum('count(*)' in sql for sql in statements)


def test_below_the_limit_a_job_is_made_without_counting_again(store):
    assert _counts(store, lambda s: s.create('', 'u', '{}', owner='alice', max_active=5)) == 1
    assert _counts(store, lambda s: s.create('', 'u', '{}', owner='alice', max_active=5)) == 0


def test_the_limit_holds_as_jobs_finish_and_are_made(store):
    jobs = [store.create('', 'u', '{}', owner='alice', max_active=2) for _ in range(2)]
    with pytest.raises(TooManyActiveJobs):
        store.create('', 'u', '{}', owner='alice', max_active=2)
    store.transition(jobs[0].id, S.SUBMITTED, S.CANCELLED)
    store.create('', 'u', '{}', owner='alice', max_active=2)  # counted again: one place
    with pytest.raises(TooManyActiveJobs):
        store.create('', 'u', '{}', owner='alice', max_active=2)
    store.request_delete(jobs[1].id)
    store.create('', 'u', '{}', owner='alice', max_active=2)
    assert store.active_count('alice', 10) == 2


def test_the_limit_holds_after_a_batch_that_freed_places_is_undone(store):
    """Counted inside a batch that is then rolled back, the places it freed
    are taken again: what was counted then is forgotten."""
    jobs = [store.create('', 'u', '{}', owner='alice', max_active=2) for _ in range(2)]
    with pytest.raises(RuntimeError):
        with store.transaction():
            for job in jobs:
                store.transition(job.id, S.SUBMITTED, S.CANCELLED)
            store.create('', 'u', '{}', owner='alice', max_active=2)
            raise RuntimeError('the batch fails')
    assert store.active_count('alice', 10) == 2
    with pytest.raises(TooManyActiveJobs):
        store.create('', 'u', '{}', owner='alice', max_active=2)


def test_a_place_freed_by_an_end_or_a_deletion_is_taken_without_counting(store):
    jobs = [store.create('', 'u', '{}', owner='alice', max_active=2) for _ in range(2)]
    store.transition(jobs[0].id, S.SUBMITTED, S.CANCELLED)
    assert _counts(store, lambda s: s.create('', 'u', '{}', owner='alice', max_active=2)) == 0
    store.request_delete(jobs[1].id)  # counted out once, not again as it is cancelled
    assert _counts(store, lambda s: s.create('', 'u', '{}', owner='alice', max_active=2)) == 0
    with pytest.raises(TooManyActiveJobs):  # at the limit: counted, and refused
        store.create('', 'u', '{}', owner='alice', max_active=2)
    assert store.active_count('alice', 10) == 2


_OPS = st.lists(
    st.tuples(
        st.sampled_from(['create', 'create', 'end', 'delete', 'remove', 'undone batch']),
        st.sampled_from(['alice', 'alice', 'bob']),
        st.integers(0, 9),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(ops=_OPS)
def test_every_creation_is_allowed_exactly_when_the_count_is_below_the_limit(ops):
    """Whatever ends, is deleted, removed or undone in between, a creation is
    made iff the owner's unfinished jobs, counted, are fewer than the limit;
    the store's bound of them is never below their count; and what it keeps
    in mind of each job's owner and deletion is what the file says."""
    limit = 3
    with tempfile.TemporaryDirectory() as folder:
        store = JobStore(Path(folder) / 'jobs.db')
        try:
            for op, owner, n in ops:
                jobs = [job for job in store.in_states([S.SUBMITTED]) if job.owner == owner]
                if op == 'create':
                    room = store.active_count(owner, 100) < limit
                    try:
                        store.create('', 'u', '{}', owner=owner, max_active=limit)
                    except TooManyActiveJobs:
                        assert not room
                    else:
                        assert room
                elif op == 'end' and jobs:
                    store.transition(jobs[n % len(jobs)].id, S.SUBMITTED, S.CANCELLED)
                elif op == 'delete' and jobs:
                    store.request_delete(jobs[n % len(jobs)].id)
                elif op == 'remove' and jobs:
                    store.remove(jobs[n % len(jobs)].id)
                elif op == 'undone batch':
                    with contextlib.suppress(RuntimeError), store.transaction():
                        for job in jobs:
                            store.transition(job.id, S.SUBMITTED, S.CANCELLED)
                        store.create('', 'u', '{}', owner=owner, max_active=limit)
                        if jobs:
                            store.request_delete(jobs[0].id)
                        raise RuntimeError('rolled back')
                for known, bound in store._active._most.items():
                    assert bound >= store.active_count(known, 100)
                rows = store._db.execute_sql('SELECT id, owner, delete_requested FROM job')
                for job_id, job_owner, deleted in rows.fetchall():
                    assert store.owner_and_deletion(job_id) == (job_owner, bool(deleted))
        finally:
            store.close()


# --- asks that only read (StoreActor._reads_only) ---------------------------------------
class _Traced(StoreActor):
    """The real store, with the statements it runs written down on request."""

    def trace(self, on: bool) -> list:
        connection = self._store._db.connection()
        if on:
            self.seen = []
            connection.set_trace_callback(self.seen.append)
        else:
            connection.set_trace_callback(None)
        return list(getattr(self, 'seen', []))


_Traced = in_group_commit(_Traced)


def test_a_read_with_no_batch_open_begins_no_transaction(tmp_path):
    ref = _Traced.start(tmp_path / 'jobs.db')
    try:
        store = ref.proxy()
        job = store.create_job('j', 'w', '{}').get(timeout=10)
        store.trace(True).get(timeout=10)
        assert store.get_job(job.id).get(timeout=10).state is S.SUBMITTED
        seen = store.trace(False).get(timeout=10)
    finally:
        ref.stop()
    # the first trace's COMMIT, the read alone, the second trace's BEGIN
    assert seen[0] == 'COMMIT' and seen[-1] == 'BEGIN', seen
    assert not any(sql in ('BEGIN', 'COMMIT') for sql in seen[1:-1]), seen
    assert any('FROM job WHERE id = ' in sql for sql in seen), seen


def test_a_read_in_an_open_batch_is_answered_after_its_commit(tmp_path):
    """A read that follows a change in the same batch sees the change, and is
    answered only once it is committed (another connection sees it too)."""
    ref = _Blocking.start(tmp_path / 'jobs.db')
    try:
        store = ref.proxy()
        job = store.create_job('j', 'w', '{}').get(timeout=10)
        store.block(0.3)
        moved = store.transition(job.id, S.SUBMITTED, S.STAGING_IN)
        read = store.get_job(job.id)
        assert read.get(timeout=10).state is S.STAGING_IN
        assert _on_disk(tmp_path / 'jobs.db') == {job.id: 'StagingIn'}
        assert moved.get(timeout=10)
    finally:
        ref.stop()


def test_a_jobs_owner_and_deletion_are_known_without_a_read(store):
    job = store.create('', 'u', '{}', owner='alice')
    assert _counts_of(store, lambda s: s.owner_and_deletion(job.id)) == (('alice', False), 0)
    store.request_delete(job.id)
    assert _counts_of(store, lambda s: s.owner_and_deletion(job.id)) == (('alice', True), 0)
    store.remove(job.id)
    assert store.owner_and_deletion(job.id) == ('', False)


def _counts_of(store, read):
    """What `read(store)` answers and how many statements it ran."""
    answer = []
    seen = _statements(store, lambda s: answer.append(read(s)))
    return answer[0], len(seen)
