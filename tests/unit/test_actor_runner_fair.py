"""RunnerActor with several users: free slots go round-robin over owners.

A real StoreActor tells the runner of staged jobs, as in test_actor_runner.py
(whose `make_runner` world this reuses); only the scheduler is scripted.
"""

from cerise_actors.jobs.states import JobState as S

from ..helpers import wait_for
from .actor_fixtures import ask, wait_log
from .test_actor_runner import make_runner  # noqa: F401 (a fixture)

WAITING_FOR_SLOT = 'Waiting for a free slot'


def _waiting_job(w, owner):
    """A job of `owner` the stager has just staged: the store tells the runner."""
    job_id = ask(w.store.create_job('t', 'u', '{}', owner=owner)).id
    assert ask(w.store.transition(job_id, S.SUBMITTED, S.STAGING_IN, notify=False))
    w.fs.mkdir(w.layout.job(job_id).dir)
    assert ask(w.store.transition(job_id, S.STAGING_IN, S.WAITING))
    return job_id


def _free_slot_and_wait_for(w, started, expected):
    """End the job that holds the one slot; wait until `expected` has started."""
    w.end(started)
    wait_for(lambda: w.scheduler.submitted_ids[-1:] == [expected], message=f'{expected} to start')
    w.barrier()


def test_another_users_first_job_starts_at_the_next_free_slot(make_runner):  # noqa: F811
    w = make_runner(max_running=1)
    first = _waiting_job(w, 'alice')  # starts at once
    burst = [_waiting_job(w, 'alice') for _ in range(4)]
    wait_log(w.store, burst[-1], WAITING_FOR_SLOT)
    bobs = _waiting_job(w, 'bob')
    wait_log(w.store, bobs, WAITING_FOR_SLOT)
    assert w.scheduler.submitted_ids == [first]

    _free_slot_and_wait_for(w, first, bobs)
    _free_slot_and_wait_for(w, bobs, burst[0])
    for before, after in zip(burst, burst[1:]):
        _free_slot_and_wait_for(w, before, after)
    assert w.scheduler.submitted_ids == [first, bobs, *burst]


def test_users_with_queued_jobs_take_turns(make_runner):  # noqa: F811
    w = make_runner(ready=False)
    jobs = [_waiting_job(w, owner) for owner in ('alice', 'alice', 'alice', 'bob', 'bob', '')]
    wait_log(w.store, jobs[-1], 'Waiting for the specialisation')
    ask(w.runner.api_ready())
    a1, a2, a3, b1, b2, anyone = jobs
    assert w.scheduler.submitted_ids == [a1, b1, anyone, a2, b2, a3]


def test_a_queued_job_of_a_user_can_be_cancelled(make_runner):  # noqa: F811
    w = make_runner(max_running=1)
    running = _waiting_job(w, 'alice')
    queued = [_waiting_job(w, 'bob'), _waiting_job(w, 'alice')]
    wait_log(w.store, queued[-1], WAITING_FOR_SLOT)
    assert ask(w.store.cancel_job(queued[0], owner='bob')).state is S.WAITING_CR
    wait_for(lambda: ask(w.store.get_job(queued[0])).state is S.CANCELLED, message='the cancel')
    _free_slot_and_wait_for(w, running, queued[1])
    assert w.scheduler.submitted_ids == [running, queued[1]]
