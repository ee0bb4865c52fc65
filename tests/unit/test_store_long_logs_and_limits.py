"""Two cases the store's cheaper changes (issue 21) first got wrong, found in
review: a log message longer than one statement may carry, and a user already
over a lowered per-user limit when a job of theirs ends."""

import sqlite3

import peewee
import pytest

from cerise_actors.errors import TooManyActiveJobs
from cerise_actors.jobs.states import JobState as S
from cerise_actors.store.job_store import JobStore
from cerise_actors.store.sql import LINES_PER_INSERT

from .test_store_cost_changes import FIRST_LINE


@pytest.fixture
def store(tmp_path):
    job_store = JobStore(tmp_path / 'jobs.db')
    yield job_store
    job_store.close()


def _in_batch(store, change):
    """`change()` as the StoreActor runs an ask: in its group commit's
    transaction, where the ask's error is its answer, not the batch's end."""
    with store.transaction():
        try:
            return change()
        except TooManyActiveJobs as refused:
            error = refused
    raise error


def test_a_message_longer_than_a_statement_may_carry_is_kept_whole(store):
    """SQLite caps the parameters of one statement (32,766 in a default
    build): the lines go in several statements, and the batch goes on."""
    if not hasattr(sqlite3.Connection, 'setlimit'):  # Python 3.11+
        pytest.skip('sqlite3.Connection.setlimit needs Python 3.11')
    store._db.connection().setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 1000)
    job, other = store.create('', 'u', '{}'), store.create('', 'u', '{}')
    lines = [f'[step s{n}] completed success' for n in range(5000)]
    with store.transaction():
        store.add_log(job.id, lines)
        assert store.transition(other.id, S.SUBMITTED, S.STAGING_IN, 'staging')
        assert store.transition(job.id, S.SUBMITTED, S.STAGING_IN, lines)
    assert [line[2] for line in store.log_lines(job.id)] == [FIRST_LINE, *lines, *lines]
    assert store.get(other.id).state is S.STAGING_IN


@pytest.mark.parametrize('failing_at', [1, LINES_PER_INSERT, LINES_PER_INSERT * 2 + 3])
def test_a_long_message_that_fails_part_way_leaves_none_of_its_lines(store, failing_at):
    job = store.create('', 'u', '{}')
    lines = ['fine'] * failing_at + [None] + ['after'] * 10  # None: NOT NULL fails
    for run in (
        lambda: store.transition(job.id, S.SUBMITTED, S.STAGING_IN, lines),
        lambda: store.add_log(job.id, lines),
    ):
        with store.transaction(), pytest.raises(peewee.IntegrityError):
            run()
        assert [line[2] for line in store.log_lines(job.id)] == [FIRST_LINE]
        assert store.get(job.id).state is S.SUBMITTED


def test_a_user_over_a_lowered_limit_waits_until_under_it(tmp_path):
    """Five jobs made before the limit was lowered to two: each ending one
    leaves the user over it, until only one is left unfinished."""
    store = JobStore(tmp_path / 'jobs.db')
    ids = [store.create('', 'u', '{}', owner='alice').id for _ in range(5)]
    store.close()
    store = JobStore(tmp_path / 'jobs.db')  # the service restarted with the limit at 2
    try:
        for job_id in ids[:4]:  # 5, 4, 3 and 2 unfinished: refused
            with pytest.raises(TooManyActiveJobs):
                _in_batch(store, lambda: store.create('', 'u', '{}', owner='alice', max_active=2))
            _in_batch(store, lambda job_id=job_id: store.cancel(job_id))
        assert _in_batch(store, lambda: store.create('', 'u', '{}', owner='alice', max_active=2))
        with pytest.raises(TooManyActiveJobs):
            _in_batch(store, lambda: store.create('', 'u', '{}', owner='alice', max_active=2))
    finally:
        store.close()
