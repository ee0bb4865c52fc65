"""Helpers shared by the actor tests: a real StoreActor and jobs in chosen states.

The store is the real one on a SQLite file under tmp_path; it is stopped,
with every other actor, by the autouse `stop_all_actors` fixture in
conftest.py. Jobs are walked into the state a test needs with
`notify=False`, so no subscriber hears of the set-up moves. The `store`
fixture is registered in tests/conftest.py (pytest_plugins), so test modules need not import it.
"""

import pytest

from cerise_actors.jobs.states import JobState as S
from cerise_actors.store.actor import StoreActor

from ..helpers import wait_for

#: seconds a test waits for an answer or a condition; generous, never slept
TIMEOUT = 30.0


@pytest.fixture
def store(tmp_path):
    """The proxy of a real StoreActor on tmp_path/jobs.db."""
    return StoreActor.start(tmp_path / 'jobs.db').proxy()


def ask(future):
    """The answer of an actor's future, without waiting forever."""
    return future.get(timeout=TIMEOUT)


def new_job(store, *path, workflow_url='u', input_json='{}', **fields) -> str:
    """Create a job and move it along `path` (states after SUBMITTED) silently;
    `fields` are set with the last move."""
    job_id = ask(store.create_job('test', workflow_url, input_json)).id
    current = S.SUBMITTED
    for index, state in enumerate(path):
        last = fields if index == len(path) - 1 else {}
        assert ask(store.transition(job_id, current, state, notify=False, **last))
        current = state
    return job_id


def job_of(store, job_id, full=False):
    return ask(store.get_job(job_id, full=full, include_deleted=True))


def state_of(store, job_id):
    job = job_of(store, job_id)
    return job and job.state


def log_of(store, job_id):
    """The job log as (level, message) pairs."""
    return [(level, message) for _, level, message in ask(store.job_log(job_id)) or ()]


def messages(store, job_id):
    return [message for _, message in log_of(store, job_id)]


def wait_state(store, job_id, state, timeout=TIMEOUT):
    """Wait until the job is in `state`; returns the job."""
    return wait_for(
        lambda: state_of(store, job_id) is state and job_of(store, job_id),
        timeout,
        message=f'job {job_id} to reach {state.name} (it is {state_of(store, job_id)})',
    )


def wait_log(store, job_id, text, timeout=TIMEOUT):
    """Wait until a line of the job log contains `text`; returns that line."""
    return wait_for(
        lambda: next((m for m in messages(store, job_id) if text in m), None),
        timeout,
        message=f'job {job_id} to log {text!r}',
    )
