"""The StoreActor's group commit (store/group_commit.py) and its view of
cancelled staging (StoreActor.stopping_view): nobody learns of a change
before it is committed, and a cancel is seen by stagers without an ask."""

import queue
import sqlite3

import peewee
import pytest

from cerise_actors.jobs.states import JobState as S
from cerise_actors.store.actor import StoreActor
from cerise_actors.store.group_commit import GroupCommit, StoreFuture

from ..helpers import wait_for


@pytest.fixture
def db(tmp_path):
    database = peewee.SqliteDatabase(str(tmp_path / 'db'), pragmas={'journal_mode': 'wal'})
    database.connect()
    database.execute_sql('CREATE TABLE t (x INTEGER)')
    yield database
    database.close()


def rows(tmp_path):
    """What another connection sees: only committed rows."""
    with sqlite3.connect(tmp_path / 'db') as other:
        return [x for (x,) in other.execute('SELECT x FROM t ORDER BY x')]


def test_answers_and_tells_wait_for_the_commit_in_their_order(db, tmp_path):
    inbox = queue.SimpleQueue()
    inbox.put('another ask waits')
    group = GroupCommit(db.transaction, inbox)
    told, answered = [], []
    first, second = StoreFuture(), StoreFuture()
    for value, future in ((1, first), (2, second)):
        group.begin()
        with db.atomic():  # a JobStore change: a savepoint inside the batch
            db.execute_sql('INSERT INTO t VALUES (?)', (value,))
        group.later(told.append, value)
        group.after()
        future.set(value)  # as pykka does once the method has returned
        if value == 1:
            assert group.open and rows(tmp_path) == [] and told == []
            with pytest.raises(Exception):  # noqa: B017 - pykka.Timeout: not given yet
                first.get(timeout=0.01)
            inbox.get()  # no one else waits now
        answered.append(future)
    assert not group.open and rows(tmp_path) == [1, 2]
    assert told == [1, 2] and [f.get(timeout=1) for f in answered] == [1, 2]


def test_a_failed_commit_fails_every_held_answer_and_drops_the_tells(db, tmp_path):
    inbox = queue.SimpleQueue()
    group = GroupCommit(db.transaction, inbox, translate=lambda exc: KeyError('translated'))
    group.begin()
    db.execute_sql('INSERT INTO t VALUES (1)')
    told, future = [], StoreFuture()
    group.later(told.append, 1)
    inbox.put('keep it open')
    group.after()
    future.set('done')

    class Broken:
        def __exit__(self, *exc):
            raise peewee.OperationalError('database or disk is full')

    group._open.__exit__(None, None, None)  # the real transaction ends here instead
    group._open = Broken()
    with pytest.raises(peewee.OperationalError):
        group.commit()
    with pytest.raises(KeyError, match='translated'):
        future.get(timeout=1)
    assert told == []


def test_an_abort_rolls_the_batch_back_and_fails_its_asks(db, tmp_path):
    inbox = queue.SimpleQueue()
    inbox.put('another ask waits')
    group = GroupCommit(db.transaction, inbox)
    group.begin()
    db.execute_sql('INSERT INTO t VALUES (1)')
    future = StoreFuture()
    future.set('held')  # the batch is open and others wait: held
    group.abort(ValueError('gone'))
    assert rows(tmp_path) == [] and not group.open
    with pytest.raises(ValueError, match='gone'):
        future.get(timeout=1)


def test_a_cancel_is_in_the_stopping_view_until_the_job_leaves_it(tmp_path):
    ref = StoreActor.start(tmp_path / 'jobs.db')
    try:
        store = ref.proxy()
        view = store.stopping_view().get(timeout=10)
        job = store.create_job('j', 'file:///x.cwl', '{}').get(timeout=10)
        assert store.claim(job.id, S.SUBMITTED, S.STAGING_IN).get(timeout=10) is not None
        assert job.id not in view
        store.cancel_job(job.id).get(timeout=10)  # answered: already in the view
        assert view.get(job.id) is S.STAGING_IN_CR
        store.transition(job.id, S.STAGING_IN_CR, S.CANCELLED, 'Cancelled.').get(timeout=10)
        assert job.id not in view
        with pytest.raises(TypeError):
            view['x'] = S.STAGING_IN_CR  # read-only for everyone but the store
    finally:
        ref.stop()
    wait_for(lambda: not ref.is_alive(), 10, message='the store to stop')
