"""StoreActor with owners: the limit holds under racing asks, a refusal reaches
the asker as itself, and another owner's job is neither changed nor published."""

import threading

import pytest

from cerise_actors.errors import TooManyActiveJobs
from cerise_actors.jobs.states import JobState as S
from cerise_actors.store.actor import DELETABLE

from ..fakes import Recorder
from .actor_fixtures import TIMEOUT, ask, job_of


def _create(store, owner, max_active=None, **extra):
    return ask(store.create_job('n', 'wf', '{}', owner=owner, max_active=max_active, **extra))


def test_racing_creates_never_pass_the_limit(store):
    """Each request counts and inserts in the store's one thread, in one
    transaction: of twenty racing for three places, exactly three get one."""
    made, refused, start = [], [], threading.Barrier(20)

    def submit():
        start.wait(TIMEOUT)
        try:
            made.append(_create(store, 'alice', max_active=3).id)
        except TooManyActiveJobs as exc:
            refused.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert len(made) == 3 and len(refused) == 17
    assert {(exc.owner, exc.limit) for exc in refused} == {('alice', 3)}
    assert sorted(row.id for row in ask(store.list_jobs_page(owner='alice'))[0]) == sorted(made)


def test_a_refused_create_publishes_nothing(store):
    heard = Recorder()
    ask(store.subscribe(S.SUBMITTED, heard))
    first = _create(store, 'alice', max_active=1)
    with pytest.raises(TooManyActiveJobs):
        _create(store, 'alice', max_active=1)
    assert heard.calls == [first.id]
    assert _create(store, 'bob', max_active=1).owner == 'bob'


def test_the_users_asks_answer_another_owners_job_as_missing(store):
    theirs = _create(store, 'bob').id
    for name in ('get_job', 'get_run', 'job_log', 'cancel_job', 'delete_job'):
        method = getattr(store, name)
        assert ask(method(theirs, owner='alice')) == ask(method('no-such-job', owner='alice'))
    assert ask(store.list_jobs_page(owner='alice')) == ([], None)
    assert ask(store.jobs_page_end(owner='alice')) == (None, None)
    assert ask(store.list_runs(10, owner='alice')) == ([], None)
    assert ask(store.state_counts(owner='alice')) == {}
    assert ask(store.state_counts(owner='bob')) == {'Submitted': 1}
    job = job_of(store, theirs)
    assert job.state is S.SUBMITTED and not job.delete_requested


def test_an_owners_own_cancel_and_delete_are_published(store):
    heard = {topic: Recorder() for topic in (S.CANCELLED, DELETABLE)}
    for topic, recorder in heard.items():
        ask(store.subscribe(topic, recorder))
    job_id = _create(store, 'alice').id
    assert ask(store.cancel_job(job_id, owner='alice')).state is S.CANCELLED
    assert ask(store.delete_job(job_id, owner='alice')) is True
    assert heard[S.CANCELLED].calls == [job_id] and heard[DELETABLE].calls == [job_id]
    assert ask(store.get_job(job_id, owner='alice')) is None
