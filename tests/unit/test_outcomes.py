"""The one table of what errors lead to (jobs/outcomes.py), and that the actors use it.

Issue 23: an error's consequence (a job's final state, waiting for the
resource, an HTTP status) is data looked up along the MRO, not an except
ladder in each actor and front end.
"""

import ast
from pathlib import Path

import pytest

from cerise_actors import errors as e
from cerise_actors.jobs.outcomes import OUTCOMES, describe_outcome, outcome_of, outcome_of_class
from cerise_actors.jobs.states import JobState

ACTORS = Path(e.__file__).resolve().parent / 'actors'
ERROR_CLASSES = [
    value
    for value in vars(e).values()
    if isinstance(value, type) and issubclass(value, e.CeriseError)
]


def test_every_key_is_an_error_of_the_tree():
    assert set(OUTCOMES) <= set(ERROR_CLASSES)


@pytest.mark.parametrize('cls', ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_error_has_an_outcome_that_agrees_with_temporary(cls):
    outcome = outcome_of_class(cls)
    if outcome.waits:
        assert cls.temporary, 'only a temporary error may make a job wait'
    if cls.temporary and outcome.job_state is not None:
        assert outcome.job_state is JobState.TEMPORARY_FAILURE
    if outcome.http_status in (429, 503):
        assert outcome.retry_after is not None, 'a busy answer says when to try again'
    assert describe_outcome(cls) or cls is e.IllegalTransition


def test_the_lookup_follows_the_mro():
    class Unlisted(e.TemporaryResourceError):
        pass

    assert outcome_of(Unlisted('x')) is OUTCOMES[e.TemporaryResourceError]
    assert outcome_of(e.StorageFull('x')).http_status == 507
    assert outcome_of(e.ServiceUnavailable('x')).http_status == 503
    assert outcome_of(KeyError('a bug')) is OUTCOMES[e.CeriseError]


def test_what_each_error_leads_to():
    assert outcome_of(e.InvalidWorkflow('x')).job_state is JobState.PERMANENT_FAILURE
    assert outcome_of(e.InvalidInput('x')).explained_as == 'Cannot run this job'
    assert outcome_of(e.SourceUnavailable('x')).job_state is JobState.TEMPORARY_FAILURE
    assert outcome_of(e.PermanentResourceError('x')).job_state is JobState.PERMANENT_FAILURE
    disk = outcome_of(e.DiskFull('x'))
    assert disk.job_state is JobState.TEMPORARY_FAILURE and not disk.waits
    assert outcome_of(e.TemporaryResourceError('x')).waits
    assert outcome_of(e.JobNotFound('j')).http_status == 404
    assert outcome_of(e.TooManyActiveJobs('u', 3)).retry_after == 60
    for not_a_jobs in (e.IllegalTransition('x'), e.ApiInstallError('x'), e.JobNotFound('j')):
        assert outcome_of(not_a_jobs).job_state is None


def test_invalid_output_is_the_service_side_not_a_refused_job():
    assert not issubclass(e.InvalidOutput, e.JobRefused)
    assert outcome_of(e.InvalidOutput('x')).job_state is JobState.SYSTEM_ERROR


def _handlers(path: Path):
    tree = ast.parse(path.read_text(encoding='utf-8'))
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            names = {getattr(t, 'id', getattr(t, 'attr', '')) for t in types}
            calls = {
                getattr(n.func, 'id', getattr(n.func, 'attr', ''))
                for n in ast.walk(node)
                if isinstance(n, ast.Call)
            }
            yield path.name, node.lineno, names, calls


def test_no_except_clause_of_an_actor_decides_a_jobs_failure_by_itself():
    """A clause that fails a job catches CeriseError and asks the table; a clause
    naming one error class (StagingAborted's stop, a cancel's retry) fails none."""
    specific = {cls.__name__ for cls in ERROR_CLASSES} - {'CeriseError'}
    seen_lookup = 0
    for path in sorted(ACTORS.glob('*.py')):
        for name, line, names, calls in _handlers(path):
            if names & specific:
                assert 'fail_job' not in calls, f'{name}:{line} fails a job for {names}'
            if 'CeriseError' in names:
                assert calls & {'outcome_of', '_failed'}, f'{name}:{line} without the table'
                seen_lookup += 1
    assert seen_lookup >= 3  # stage in, stage out, start
