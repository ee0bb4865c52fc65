"""ServiceMetrics, the jobs-by-state collector and the submission counter.

The exposition is read back with prometheus_client's own parser, as a
Prometheus server would read it. Every service has its own registry, so two
of them in one process count apart.
"""

import falcon
import falcon.testing
import pykka
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cerise_actors.app.metrics import JobsByState, ServiceMetrics, SubmissionCounter
from cerise_actors.jobs.states import JobState as S
from cerise_actors.store.actor import StoreActor
from cerise_actors.web.wes import PREFIX as WES

from .actor_fixtures import ask, new_job


def samples(metrics: ServiceMetrics) -> dict:
    """(sample name, sorted labels) -> value, parsed from the text format."""
    text = metrics.exposition().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(metrics, name, **labels):
    return samples(metrics).get((name, tuple(sorted(labels.items()))))


def test_every_counter_starts_at_zero_for_its_known_labels():
    metrics = ServiceMetrics()
    assert value(metrics, 'cerise_submissions_total', way='rest') == 0
    assert value(metrics, 'cerise_submissions_total', way='wes') == 0
    for reason in ('unauthorized', 'too_many_jobs', 'bad_request'):
        assert value(metrics, 'cerise_refusals_total', reason=reason) == 0
    for what in ('runner', 'project'):
        assert value(metrics, 'cerise_deployments_total', what=what) == 0
    assert value(metrics, 'cerise_poll_round_seconds_count') == 0


def test_what_the_parts_report_is_counted():
    metrics = ServiceMetrics()
    metrics.submitted('rest')
    metrics.submitted('wes')
    metrics.submitted('wes')
    metrics.refused('unauthorized')
    metrics.resource_error('TemporaryResourceError')
    metrics.resource_error('TemporaryResourceError')
    metrics.deployed('runner')
    metrics.poll_round(0.02)
    assert value(metrics, 'cerise_submissions_total', way='rest') == 1
    assert value(metrics, 'cerise_submissions_total', way='wes') == 2
    assert value(metrics, 'cerise_refusals_total', reason='unauthorized') == 1
    assert value(metrics, 'cerise_resource_errors_total', kind='TemporaryResourceError') == 2
    assert value(metrics, 'cerise_deployments_total', what='runner') == 1
    assert value(metrics, 'cerise_poll_round_seconds_count') == 1
    assert value(metrics, 'cerise_poll_round_seconds_bucket', le='0.05') == 1
    assert value(metrics, 'cerise_poll_round_seconds_bucket', le='0.01') == 0


def test_time_in_staging_and_running_goes_to_its_histogram_and_nothing_else_does():
    metrics = ServiceMetrics()
    metrics.job_moved(S.STAGING_IN, S.WAITING, 3.0)
    metrics.job_moved(S.RUNNING, S.FINISHED, 120.0)
    metrics.job_moved(S.STAGING_OUT, S.SUCCESS, 0.2)
    metrics.job_moved(S.STAGING_OUT, S.SYSTEM_ERROR, 0.3)
    metrics.job_moved(S.WAITING, S.RUNNING, 50.0)  # waiting is not measured
    assert value(metrics, 'cerise_stage_in_seconds_count') == 1
    assert value(metrics, 'cerise_stage_in_seconds_sum') == 3.0
    assert value(metrics, 'cerise_stage_out_seconds_count') == 2
    assert value(metrics, 'cerise_run_seconds_count') == 1
    assert value(metrics, 'cerise_run_seconds_bucket', le='300.0') == 1


def test_two_services_in_one_process_count_apart():
    one, two = ServiceMetrics(), ServiceMetrics()
    one.submitted('rest')
    assert value(one, 'cerise_submissions_total', way='rest') == 1
    assert value(two, 'cerise_submissions_total', way='rest') == 0


def test_metrics_answers_the_text_format_over_wsgi():
    metrics = ServiceMetrics()
    client = falcon.testing.TestClient(metrics)
    answer = client.simulate_get('/metrics')
    assert answer.status_code == 200
    assert answer.headers['Content-Type'].startswith('text/plain; version=')
    assert 'cerise_submissions_total' in answer.text
    assert client.simulate_head('/metrics').text == ''


# --- jobs by state ---------------------------------------------------------


class _Store:
    """A store proxy stand-in whose `state_counts` answers `counts` or never."""

    def __init__(self, counts=None):
        self.counts = counts
        self.asked = []

    def state_counts(self, owner='unset'):
        self.asked.append(owner)
        future = pykka.ThreadingFuture()
        if self.counts is not None:
            future.set(self.counts)
        return future


def test_jobs_by_state_lists_every_state_from_the_stores_counts():
    metrics = ServiceMetrics()
    store = _Store({'Running': 2, 'Success': 5})
    metrics.count_jobs(store)
    assert store.asked == [], 'registering asks nothing'
    got = samples(metrics)
    assert store.asked == [None], 'every owner'
    assert got[('cerise_jobs', (('state', 'Running'),))] == 2
    assert got[('cerise_jobs', (('state', 'Success'),))] == 5
    assert {labels[0][1] for name, labels in got if name == 'cerise_jobs'} == {s.value for s in S}
    assert got[('cerise_job_store_up', ())] == 1


def test_a_store_that_does_not_answer_in_time_leaves_the_jobs_out(caplog):
    metrics = ServiceMetrics()
    metrics.registry.register(JobsByState(_Store(None), timeout=0.05))
    got = samples(metrics)
    assert got[('cerise_job_store_up', ())] == 0
    assert not [name for name, _ in got if name == 'cerise_jobs']
    assert 'the job store did not answer' in caplog.text
    assert value(metrics, 'cerise_submissions_total', way='rest') == 0, 'the rest is served'


def test_jobs_by_state_with_a_real_store(store):
    metrics = ServiceMetrics()
    metrics.count_jobs(store)
    new_job(store, S.STAGING_IN, S.WAITING)
    new_job(store)
    assert value(metrics, 'cerise_jobs', state='Waiting') == 1
    assert value(metrics, 'cerise_jobs', state='Submitted') == 1


# --- the store's transition hook -----------------------------------------------


def test_the_store_reports_the_time_a_job_spent_in_the_state_it_leaves(tmp_path):
    moves = []
    store = StoreActor.start(tmp_path / 'jobs.db', on_move=lambda *move: moves.append(move)).proxy()
    job_id = new_job(store, S.STAGING_IN, S.WAITING, S.RUNNING, S.FINISHED)
    # SUBMITTED was entered by create_job, before any transition: not timed
    assert [(a, b) for a, b, _ in moves] == [
        (S.STAGING_IN, S.WAITING),
        (S.WAITING, S.RUNNING),
        (S.RUNNING, S.FINISHED),
    ]
    assert all(seconds >= 0 for _, _, seconds in moves)
    moves.clear()
    assert not ask(store.transition(job_id, S.RUNNING, S.FINISHED)), 'no move, no report'
    assert moves == []


def test_a_failing_observer_does_not_fail_the_transition(tmp_path, caplog):
    def broken(*move):
        raise RuntimeError('observer broke')

    store = StoreActor.start(tmp_path / 'jobs.db', on_move=broken).proxy()
    job_id = new_job(store, S.STAGING_IN, S.WAITING, S.RUNNING)
    assert ask(store.get_job(job_id)).state is S.RUNNING
    assert 'the transition observer failed' in caplog.text


def test_the_store_answers_a_ping(store):
    assert ask(store.ping()) is True


# --- submissions and refusals of both APIs ------------------------------------


class _Jobs:
    def on_post(self, req, resp):
        kind = req.get_param('answer')
        if kind == 'bad':
            raise falcon.HTTPBadRequest(title='Invalid job description')
        if kind == 'many':  # as the app's handler of TooManyActiveJobs answers
            raise falcon.HTTPTooManyRequests(title='Too many unfinished jobs')
        if kind == 'boom':
            raise RuntimeError('internal')
        resp.status = falcon.HTTP_201

    def on_get(self, req, resp):
        resp.media = []


@pytest.fixture
def counted():
    metrics = ServiceMetrics()
    app = falcon.App()
    app.add_route('/jobs', _Jobs())
    app.add_route(f'{WES}/runs', _Jobs())
    app.add_route(f'{WES}/runs/{{run_id}}/cancel', _Jobs())
    app.add_middleware(SubmissionCounter(metrics))
    return metrics, falcon.testing.TestClient(app)


def test_created_jobs_count_by_the_api_they_came_through(counted):
    metrics, client = counted
    assert client.simulate_post('/jobs').status_code == 201
    assert client.simulate_post(f'{WES}/runs').status_code == 201
    assert client.simulate_post(f'{WES}/runs').status_code == 201
    client.simulate_get('/jobs')
    client.simulate_post(f'{WES}/runs/x/cancel')  # not a submission
    assert value(metrics, 'cerise_submissions_total', way='rest') == 1
    assert value(metrics, 'cerise_submissions_total', way='wes') == 2


def test_refused_submissions_count_by_reason(counted):
    metrics, client = counted
    assert client.simulate_post('/jobs', params={'answer': 'bad'}).status_code == 400
    assert client.simulate_post(f'{WES}/runs', params={'answer': 'bad'}).status_code == 400
    assert client.simulate_post('/jobs', params={'answer': 'many'}).status_code == 429
    assert client.simulate_post('/jobs', params={'answer': 'boom'}).status_code == 500
    assert value(metrics, 'cerise_refusals_total', reason='bad_request') == 2
    assert value(metrics, 'cerise_refusals_total', reason='too_many_jobs') == 1
    assert value(metrics, 'cerise_submissions_total', way='rest') == 0
