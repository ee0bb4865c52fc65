"""The StoreActor's group commit (store/group_commit.py) and its view of
cancelled staging (StoreActor.stopping_view): nobody learns of a change
before it is committed, and a cancel is seen by stagers without an ask."""

import queue
import sqlite3
import time

import peewee
import pytest

from cerise_actors.errors import StorageFull, TooManyActiveJobs
from cerise_actors.jobs.states import JobState as S
from cerise_actors.store.actor import StoreActor
from cerise_actors.store.group_commit import (
    GroupCommit,
    RolledBack,
    StoreFuture,
    in_group_commit,
)

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


# --- SQLite rolling the batch back on its own (found by review) ------------------


class _Blocking(StoreActor):
    """The real store, with a message that holds its thread so the next asks queue
    up behind it and are handled in one batch, and a way to fill its disk."""

    def block(self, seconds: float) -> None:
        time.sleep(seconds)

    def fill_disk(self) -> None:
        db = self._store._db
        pages = db.execute_sql('PRAGMA page_count').fetchone()[0]
        db.execute_sql(f'PRAGMA max_page_count = {pages}')


_Blocking = in_group_commit(_Blocking)


def _store_with_full_disk(tmp_path):
    ref = _Blocking.start(tmp_path / 'jobs.db')
    store = ref.proxy()
    published = []
    store.subscribe(S.STAGING_IN, lambda j: published.append(('STAGING_IN', j))).get(timeout=10)
    store.subscribe(S.SUBMITTED, lambda j: published.append(('SUBMITTED', j))).get(timeout=10)
    job_id = store.create_job('a', 'w', '{}').get(timeout=10).id
    published.clear()
    store.fill_disk().get(timeout=10)
    return ref, store, published, job_id


def _outcome(future):
    try:
        return future.get(timeout=10)
    except Exception as exc:  # noqa: BLE001 - the test looks at which
        return exc


def _on_disk(path):
    with sqlite3.connect(path) as con:
        return dict(con.execute('SELECT name, state FROM job').fetchall())


def test_a_told_line_on_a_full_disk_fails_the_batch_instead_of_answering_a_lost_change(
    tmp_path,
):
    """SQLITE_FULL in a told log line rolls SQLite's whole transaction back: the
    transition before it in the batch must not be answered True nor published."""
    ref, store, published, job_id = _store_with_full_disk(tmp_path)
    store.block(0.5)
    moved = store.transition(job_id, S.SUBMITTED, S.STAGING_IN)
    store.note(job_id, 'x' * 200_000)  # needs pages the disk has not got
    refused = store.create_job('c', 'w', '{}', owner='u', max_active=0)
    assert isinstance(_outcome(moved), StorageFull)
    assert isinstance(_outcome(refused), TooManyActiveJobs)
    assert published == []
    assert _on_disk(tmp_path / 'jobs.db') == {'a': 'Submitted'}
    assert store.get_job(job_id).get(timeout=10).state is S.SUBMITTED
    ref.stop()


def test_a_change_after_a_rolled_back_batch_is_kept_answered_and_published(tmp_path):
    """What follows the failure is not made outside a transaction and then reported
    as failed: it is made, answered and published, or not made at all."""
    ref, store, published, job_id = _store_with_full_disk(tmp_path)
    store.block(0.5)
    moved = store.transition(job_id, S.SUBMITTED, S.STAGING_IN)
    store.note(job_id, 'x' * 200_000)
    created = store.create_job('c', 'w', '{}')
    assert isinstance(_outcome(moved), StorageFull)
    answer = _outcome(created)
    on_disk = _on_disk(tmp_path / 'jobs.db')
    if isinstance(answer, Exception):
        assert 'c' not in on_disk and published == []
    else:
        assert on_disk.get('c') == 'Submitted' and published == [('SUBMITTED', answer.id)]
    assert on_disk['a'] == 'Submitted'
    ref.stop()


def test_the_batch_is_aborted_when_sqlite_left_its_transaction():
    """GroupCommit asks after each message whether SQLite still holds the batch."""
    opened = []

    class _Transaction:
        def __enter__(self):
            opened.append('begin')

        def __exit__(self, *exc):
            opened.append('rollback' if exc[0] else 'commit')

    inbox = queue.SimpleQueue()
    inbox.put('another message waits')
    group = GroupCommit(_Transaction, inbox, in_transaction=lambda: False)
    future = StoreFuture()
    group.begin()
    group.hold(future, lambda v: None, 'done')
    group.after()
    assert not group.open and opened == ['begin', 'rollback']
    with pytest.raises(RolledBack):
        future.get(timeout=1)
