"""StoreActor: what it publishes to whom, and its asks (real SQLite file)."""

import pytest

from cerise_actors.jobs.states import JobState as S
from cerise_actors.store.actor import DELETABLE, LEFT_RESOURCE

from ..fakes import Recorder
from .actor_fixtures import ask, job_of, messages, new_job


@pytest.fixture
def heard(store):
    """topic -> Recorder of the job ids published on it, for every topic."""
    recorders = {topic: Recorder() for topic in [*S, DELETABLE, LEFT_RESOURCE]}
    for topic, recorder in recorders.items():
        ask(store.subscribe(topic, recorder))
    return recorders


def published(heard):
    """Every (topic, job id) published so far, grouped by topic."""
    return {topic: r.calls for topic, r in heard.items() if r.calls}


@pytest.mark.parametrize(
    'path,last',
    [
        ([S.STAGING_IN, S.WAITING], S.FINISHED),
        ([S.STAGING_IN, S.WAITING, S.RUNNING], S.SYSTEM_ERROR),
        ([S.STAGING_IN, S.WAITING, S.WAITING_CR], S.CANCELLED),
        ([S.STAGING_IN, S.WAITING, S.RUNNING, S.RUNNING_CR], S.CANCELLED),
    ],
)
def test_a_job_leaving_the_resource_is_published_as_left_resource(store, heard, path, last):
    job_id = new_job(store, *path)
    assert ask(store.transition(job_id, path[-1], last, 'moved'))
    assert heard[last].calls == [job_id]
    assert heard[LEFT_RESOURCE].calls == [job_id]


@pytest.mark.parametrize(
    'path,last',
    [
        ([], S.STAGING_IN),
        ([S.STAGING_IN], S.WAITING),
        ([S.STAGING_IN, S.WAITING], S.RUNNING),
        ([S.STAGING_IN, S.WAITING], S.WAITING_CR),
    ],
)
def test_moves_into_or_within_the_resource_are_not_left_resource(store, heard, path, last):
    job_id = new_job(store, *path)
    heard[S.SUBMITTED].calls.clear()
    assert ask(store.transition(job_id, path[-1] if path else S.SUBMITTED, last))
    assert published(heard) == {last: [job_id]}


def test_a_silent_transition_and_a_lost_race_publish_nothing(store, heard):
    job_id = new_job(store, S.STAGING_IN, S.WAITING)
    heard[S.SUBMITTED].calls.clear()
    assert ask(store.transition(job_id, S.WAITING, S.FINISHED, notify=False))
    assert not ask(store.transition(job_id, S.WAITING, S.FINISHED))
    assert published(heard) == {}


def test_republish_tells_the_current_state_again(store, heard):
    job_id = new_job(store, S.STAGING_IN)
    assert ask(store.transition(job_id, S.STAGING_IN, S.SUBMITTED, notify=False))
    ask(store.republish(job_id))
    assert heard[S.SUBMITTED].calls == [job_id, job_id]  # created, then told again
    ask(store.republish('no-such-job'))
    assert heard[S.SUBMITTED].calls == [job_id, job_id]


def test_republish_of_a_deleted_final_job_tells_the_cleaner_again(store, heard):
    job_id = new_job(store)
    assert ask(store.delete_job(job_id))
    assert heard[DELETABLE].calls == [job_id] and heard[S.CANCELLED].calls == [job_id]
    ask(store.republish(job_id))
    assert heard[DELETABLE].calls == [job_id, job_id]
    assert heard[S.CANCELLED].calls == [job_id, job_id]


def test_a_failing_subscriber_does_not_stop_the_others_or_the_store(store, caplog):
    def broken(job_id):
        raise RuntimeError('subscriber gone')

    after = Recorder()
    ask(store.subscribe(S.SUBMITTED, broken))
    ask(store.subscribe(S.SUBMITTED, after))
    job_id = ask(store.create_job('n', 'u', '{}')).id
    assert after.calls == [job_id]
    assert f'job {job_id}: could not notify about JobState.SUBMITTED' in caplog.text
    assert job_of(store, job_id).name == 'n'


def test_cancel_publishes_the_new_state_only_if_it_changed(store, heard):
    running = new_job(store, S.STAGING_IN, S.WAITING, S.RUNNING)
    assert ask(store.cancel_job(running)).state is S.RUNNING_CR
    assert ask(store.cancel_job(running)).state is S.RUNNING_CR
    assert heard[S.RUNNING_CR].calls == [running]
    assert ask(store.cancel_job('no-such-job')) is None


def test_deleting_a_running_job_cancels_it_and_cleans_up_only_once_final(store, heard):
    job_id = new_job(store, S.STAGING_IN, S.WAITING)
    assert ask(store.delete_job(job_id))
    assert heard[S.WAITING_CR].calls == [job_id] and heard[DELETABLE].calls == []
    assert ask(store.get_job(job_id)) is None, 'hidden from users at once'
    assert ask(store.transition(job_id, S.WAITING_CR, S.CANCELLED))
    assert heard[DELETABLE].calls == [job_id] and heard[LEFT_RESOURCE].calls == [job_id]
    assert ask(store.deletable_jobs()) == [job_id]
    assert not ask(store.delete_job('no-such-job'))


def test_the_asks_of_the_front_end_and_of_start_up(store):
    first = new_job(store, S.STAGING_IN)
    second = new_job(store, S.STAGING_IN, S.WAITING, S.FINISHED)
    ask(store.update_job(second, ['one', 'two'], 'WARNING', exit_code=3))
    ask(store.add_log(second, 'three'))
    assert messages(store, second)[-3:] == ['one', 'two', 'three']
    assert job_of(store, second).exit_code == 3
    assert [s.id for s in ask(store.list_jobs_page())[0]] == [first, second]
    assert [j.id for j in ask(store.jobs_in([S.FINISHED, S.WAITING]))] == [second]
    assert ask(store.job_log('no-such-job')) is None
    moved = ask(store.recover_interrupted('The service stopped'))
    assert moved == [(first, S.STAGING_IN, S.SUBMITTED)]
    assert messages(store, first)[-1] == (
        'The service stopped while staging this job; staging will start again.'
    )
    assert ask(store.claim(first, S.STAGING_IN, S.WAITING)) is None
    ask(store.remove_job(first))
    assert job_of(store, first) is None
