"""The transition table and the job store on a real SQLite file."""

import threading

import pytest

from cerise_actors.errors import IllegalTransition
from cerise_actors.jobs.states import FINAL_STATES
from cerise_actors.jobs.states import JobState as S
from cerise_actors.store import transitions
from cerise_actors.store.actor import DELETABLE, StoreActor
from cerise_actors.store.job_store import JobStore


@pytest.fixture
def store(tmp_path):
    job_store = JobStore(tmp_path / 'jobs.db')
    yield job_store
    job_store.close()


def test_table_covers_every_non_final_state_and_no_final_one():
    assert set(transitions.TRANSITIONS) == set(S) - FINAL_STATES
    for targets in transitions.TRANSITIONS.values():
        assert targets <= set(S)


def test_final_states_are_reachable_and_never_left():
    reachable = set().union(*transitions.TRANSITIONS.values())
    assert FINAL_STATES <= reachable
    for state in FINAL_STATES:
        assert not transitions.is_allowed(state, S.SUBMITTED)


def test_every_state_can_reach_a_final_state():
    for start in S:
        seen, todo = set(), [start]
        while todo:
            state = todo.pop()
            seen.add(state)
            todo.extend(transitions.TRANSITIONS.get(state, set()) - seen)
        assert seen & FINAL_STATES, start


def test_normal_path_is_allowed():
    path = [S.SUBMITTED, S.STAGING_IN, S.WAITING, S.RUNNING, S.FINISHED, S.STAGING_OUT, S.SUCCESS]
    for a, b in zip(path, path[1:]):
        assert transitions.is_allowed(a, b)


def test_cancel_targets_follow_the_spec():
    assert transitions.cancel_target(S.SUBMITTED) is S.CANCELLED
    assert transitions.cancel_target(S.FINISHED) is S.CANCELLED
    assert transitions.cancel_target(S.STAGING_IN) is S.STAGING_IN_CR
    assert transitions.cancel_target(S.WAITING) is S.WAITING_CR
    assert transitions.cancel_target(S.RUNNING) is S.RUNNING_CR
    assert transitions.cancel_target(S.STAGING_OUT) is S.STAGING_OUT_CR
    for state in list(FINAL_STATES) + [S.RUNNING_CR, S.WAITING_CR]:
        assert transitions.cancel_target(state) is None
    for state, target in ((s, transitions.cancel_target(s)) for s in S):
        if target is not None:
            assert transitions.is_allowed(state, target)


def test_recovery_moves_are_in_the_table():
    for a, b in transitions.RECOVERY.items():
        assert transitions.is_allowed(a, b)


def test_create_and_read(store):
    job = store.create('name', 'file:///x.cwl', '{"a": 1}')
    assert job.state is S.SUBMITTED and job.input == {'a': 1}
    assert store.get(job.id) == job
    assert store.get('no-such-id') is None
    assert [j.id for j in store.page()[0]] == [job.id]
    assert store.log_lines(job.id)[0][2].startswith('Job submitted')


def test_transition_is_compare_and_swap(store):
    job = store.create('', 'u', '{}')
    assert store.transition(job.id, S.SUBMITTED, S.STAGING_IN, 'staging')
    assert not store.transition(job.id, S.SUBMITTED, S.STAGING_IN)
    assert store.get(job.id).state is S.STAGING_IN
    assert store.log_lines(job.id)[-1][2] == 'staging'


def test_fields_and_lines_move_with_the_transition_or_not_at_all(store):
    job = store.create('', 'u', '{}')
    assert store.transition(
        job.id, S.SUBMITTED, S.STAGING_IN, ['one', 'two'], cores=3, remote_dir='/r'
    )
    assert not store.transition(job.id, S.SUBMITTED, S.STAGING_IN, 'lost', cores=9)
    after = store.get(job.id)
    assert (after.cores, after.remote_dir) == (3, '/r')
    assert [line[2] for line in store.log_lines(job.id)][-2:] == ['one', 'two']
    store.update(job.id, 'noted', exit_code=0)
    assert store.get(job.id).exit_code == 0
    assert store.log_lines(job.id)[-1][2] == 'noted'
    with pytest.raises(ValueError):
        store.update(job.id, state='Success')  # states move only by transition
    with pytest.raises(ValueError):
        store.transition(job.id, S.STAGING_IN, S.WAITING, delete_requested=True)


def test_claim_is_a_transition_that_returns_the_job(tmp_path):
    ref = StoreActor.start(tmp_path / 'claim.db')
    try:
        store = ref.proxy()
        job = store.create_job('n', 'u', '{}').get(timeout=10)
        claimed = store.claim(job.id, S.SUBMITTED, S.STAGING_IN, 'mine').get(timeout=10)
        assert claimed.state is S.STAGING_IN and claimed.name == 'n'
        assert store.claim(job.id, S.SUBMITTED, S.STAGING_IN).get(timeout=10) is None
    finally:
        ref.stop()


def test_illegal_transition_is_refused(store):
    job = store.create('', 'u', '{}')
    with pytest.raises(IllegalTransition):
        store.transition(job.id, S.SUBMITTED, S.SUCCESS)
    assert store.get(job.id).state is S.SUBMITTED


def test_two_threads_racing_for_one_transition_one_wins(tmp_path):
    """Each thread has its own connection to the same file, like two processes."""
    setup = JobStore(tmp_path / 'race.db')
    ids = [setup.create('', 'u', '{}').id for _ in range(50)]
    setup.close()
    barrier = threading.Barrier(2)
    wins = [[], []]

    def racer(index, target):
        store = JobStore(tmp_path / 'race.db')
        barrier.wait()
        for job_id in ids:
            if store.transition(job_id, S.SUBMITTED, target):
                wins[index].append(job_id)
        store.close()

    threads = [
        threading.Thread(target=racer, args=(0, S.STAGING_IN)),
        threading.Thread(target=racer, args=(1, S.CANCELLED)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins[0] + wins[1]) == sorted(ids), 'every job moved exactly once'
    check = JobStore(tmp_path / 'race.db')
    for job_id in ids:
        expected = S.STAGING_IN if job_id in wins[0] else S.CANCELLED
        assert check.get(job_id).state is expected
    check.close()


def test_store_actor_serialises_racing_asks(tmp_path):
    ref = StoreActor.start(tmp_path / 'actor.db')
    try:
        store = ref.proxy()
        job = store.create_job('', 'u', '{}').get(timeout=10)
        results = []
        barrier = threading.Barrier(8)

        def racer():
            barrier.wait()
            results.append(store.transition(job.id, S.SUBMITTED, S.STAGING_IN).get(timeout=10))

        threads = [threading.Thread(target=racer) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count(True) == 1
    finally:
        ref.stop()


def test_cancel_from_each_kind_of_state(store):
    job = store.create('', 'u', '{}')
    assert store.cancel(job.id).state is S.CANCELLED
    job = store.create('', 'u', '{}')
    store.transition(job.id, S.SUBMITTED, S.STAGING_IN)
    assert store.cancel(job.id).state is S.STAGING_IN_CR
    assert store.cancel(job.id).state is S.STAGING_IN_CR, 'a second cancel changes nothing'
    assert store.cancel('unknown') is None


def test_delete_hides_the_job(store):
    job = store.create('', 'u', '{}')
    after = store.request_delete(job.id)
    assert after.delete_requested and after.state is S.CANCELLED
    assert store.get(job.id) is None
    assert store.get(job.id, include_deleted=True) is not None
    assert store.page()[0] == []
    assert store.deletable() == [job.id]
    store.remove(job.id)
    assert store.get(job.id, include_deleted=True) is None


def test_recovery_after_interruption(store):
    jobs = {}
    for state_path in (
        [S.STAGING_IN],
        [S.STAGING_IN, S.STAGING_IN_CR],
        [S.STAGING_IN, S.WAITING, S.FINISHED, S.STAGING_OUT],
        [S.STAGING_IN, S.WAITING, S.FINISHED, S.STAGING_OUT, S.STAGING_OUT_CR],
        [S.STAGING_IN, S.WAITING, S.RUNNING],
    ):
        job = store.create('', 'u', '{}')
        current = S.SUBMITTED
        for state in state_path:
            assert store.transition(job.id, current, state)
            current = state
        jobs[job.id] = current
    moved = {job_id: after for job_id, _, after in store.recover_interrupted('restart')}
    for job_id, before in jobs.items():
        expected = transitions.RECOVERY.get(before)
        assert moved.get(job_id) is expected
        assert store.get(job_id).state is (expected or before)


def test_actor_notifies_subscribers(tmp_path):
    ref = StoreActor.start(tmp_path / 'notify.db')
    seen = []
    try:
        store = ref.proxy()
        for topic in (S.SUBMITTED, S.STAGING_IN, S.CANCELLED, DELETABLE):
            store.subscribe(topic, lambda job_id, t=topic: seen.append((t, job_id))).get(timeout=10)
        job = store.create_job('', 'u', '{}').get(timeout=10)
        store.transition(job.id, S.SUBMITTED, S.STAGING_IN).get(timeout=10)
        store.delete_job(job.id).get(timeout=10)  # -> STAGING_IN_CR, not final
        store.transition(job.id, S.STAGING_IN_CR, S.CANCELLED).get(timeout=10)
        assert seen == [
            (S.SUBMITTED, job.id),
            (S.STAGING_IN, job.id),
            (S.CANCELLED, job.id),
            (DELETABLE, job.id),
        ]
    finally:
        ref.stop()


def test_subscribers_that_share_work_between_users_are_told_the_owner(tmp_path):
    ref = StoreActor.start(tmp_path / 'notify.db')
    seen = []
    try:
        store = ref.proxy()
        for topic in (S.SUBMITTED, S.STAGING_IN, DELETABLE):
            store.subscribe(
                topic, lambda job_id, owner, t=topic: seen.append((t, job_id, owner)), True
            ).get(timeout=10)
        job = store.create_job('', 'u', '{}', owner='alice').get(timeout=10)
        store.transition(job.id, S.SUBMITTED, S.STAGING_IN).get(timeout=10)
        store.republish(job.id).get(timeout=10)
        assert seen == [
            (S.SUBMITTED, job.id, 'alice'),
            (S.STAGING_IN, job.id, 'alice'),
            (S.STAGING_IN, job.id, 'alice'),
        ]
    finally:
        ref.stop()


def test_database_of_an_older_version_gains_new_columns(tmp_path):
    import sqlite3

    old = JobStore(tmp_path / 'old.db')
    job = old.create('kept', 'u', '{}')
    old.close()
    with sqlite3.connect(tmp_path / 'old.db') as db:
        db.execute('ALTER TABLE job DROP COLUMN staged_input_json')
    store = JobStore(tmp_path / 'old.db')
    assert store.get(job.id).name == 'kept'
    store.update(job.id, staged_input_json='{}')
    assert store.get(job.id, full=True).staged_input_json == '{}'
    store.close()
