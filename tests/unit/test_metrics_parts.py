"""What each part reports to the metrics object it is handed, and /ready.

The actors are real (poller, stager, installer, runner) with the stand-ins
of their own unit tests; the metrics object is a recorder, since the actors
only call its plain methods. Readiness is checked against real actors and
against stand-ins that answer late or not at all.
"""

import json
import threading
import time

import pykka
import pytest

from cerise_actors.actors.installer import ApiInstallerActor
from cerise_actors.actors.poller import PollerActor
from cerise_actors.actors.runner import RunnerActor
from cerise_actors.actors.stager import StagerActor
from cerise_actors.app.readiness import Probes, Readiness
from cerise_actors.auth.authenticator import SingleToken
from cerise_actors.cwl.steps import load_step_catalogue
from cerise_actors.errors import TemporaryResourceError
from cerise_actors.jobs.states import JobState as S
from cerise_actors.resource.filesystem import LocalFileSystem
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.staging.exchange import Exchange
from cerise_actors.staging.stage_in import StageIn
from cerise_actors.staging.stage_out import StageOut
from cerise_actors.web.auth_gate import AuthGate
from cerise_actors.web.identity import USER_KEY

from ..fakes import FakePoller, FakeRunner, FakeShell, FaultyFileSystem, Recorder, ScriptedScheduler
from ..helpers import TEST_API_DIR
from ..workflows import WC
from .actor_fixtures import ask, new_job, state_of
from .test_actor_installer import make_project


class Reported:
    """Stands in for app/metrics.ServiceMetrics: records every report."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args: self.calls.append((name, *args))

    def of(self, name):
        return [call[1:] for call in self.calls if call[0] == name]


@pytest.fixture
def reported():
    return Reported()


def test_the_poller_reports_each_round_and_each_failed_query(store, tmp_path, reported):
    scheduler = ScriptedScheduler()
    layout = ResourceLayout(str(tmp_path))
    poller = PollerActor.start(store, scheduler, layout, 3600.0, metrics=reported).proxy()
    ask(poller.tick())
    assert reported.calls == [], 'no job, no round'
    ask(poller.track(new_job(store, S.STAGING_IN, S.WAITING), '1:1'))
    ask(poller.tick())
    assert ask(poller.reachable()) is True
    scheduler.answer = TemporaryResourceError('connection lost')
    ask(poller.tick())
    assert ask(poller.reachable()) is False
    assert len(reported.of('poll_round')) == 2
    assert all(seconds >= 0 for (seconds,) in reported.of('poll_round'))
    assert reported.of('resource_error') == [('TemporaryResourceError',)]
    scheduler.answer = 'running'
    ask(poller.tick())
    assert ask(poller.reachable()) is True


def test_a_stager_reports_the_resource_errors_it_meets(store, tmp_path, reported):
    fs = FaultyFileSystem()
    layout = ResourceLayout(str(tmp_path / 'resource'))
    exchange = Exchange(tmp_path / 'files', (tmp_path / 'files').as_uri())
    exchange.ensure_layout()
    catalogue = load_step_catalogue({'test': TEST_API_DIR / 'test'})
    stager = StagerActor.start(
        store,
        StageIn(fs, layout, exchange, catalogue),
        StageOut(fs, layout, exchange),
        lambda job_id, owner: None,
        threading.Event(),
        Recorder(),
        FakePoller().call_later,
        reported,
    ).proxy()
    for name, text in (('wf.cwl', WC), ('x.txt', 'x\n')):
        (exchange.service_dir / 'input' / name).write_text(text)
    inputs = {'file': {'class': 'File', 'location': f'{exchange.client_url}/input/x.txt'}}
    url = f'{exchange.client_url}/input/wf.cwl'
    job_id = ask(store.create_job('test', url, json.dumps(inputs))).id
    fs.inject('mkdir', TemporaryResourceError('connection lost'), match='/work')
    ask(stager.stage_in(job_id))
    assert state_of(store, job_id) is S.SUBMITTED, 'put back to try later'
    assert reported.of('resource_error') == [('TemporaryResourceError',)]


def test_the_installer_reports_each_deployment(tmp_path, reported):
    class RunnerDeploy:
        def needs_install(self):
            return True

        def install(self):
            return 'installed cerise-runner'

    layout = ResourceLayout(str(tmp_path / 'resource'))
    projects = {name: make_project(tmp_path, name, '1.0.0') for name in ('p', 'q')}
    installer = ApiInstallerActor.start(
        LocalFileSystem(), FakeShell(), layout, projects, FakeRunner(), RunnerDeploy(), reported
    ).proxy()
    ask(installer.start_up(0))
    assert sorted(reported.of('deployed')) == [('project',), ('project',), ('runner',)]


def test_the_auth_gate_reports_its_refusals(reported):
    def app(environ, start_response):
        start_response('200 OK', [])
        return [b'']

    gate = AuthGate(app, SingleToken('t' * 43).who, on_refused=reported.refused)
    statuses = []
    for headers in ({}, {'HTTP_AUTHORIZATION': 'Bearer ' + 't' * 43}):
        environ = {'PATH_INFO': '/jobs', 'REQUEST_METHOD': 'GET', **headers}
        gate(environ, lambda status, headers: statuses.append(status))
    for path in ('/health', '/ready'):  # open to anyone: nothing refused
        gate({'PATH_INFO': path, 'REQUEST_METHOD': 'GET'}, lambda s, h: statuses.append(s))
    assert [s.split()[0] for s in statuses] == ['401', '200', '200', '200']
    assert reported.of('refused') == [('unauthorized',)]


# --- readiness -----------------------------------------------------------------


class _Actor:
    """An actor proxy stand-in: each method answers `answer`, or never (None)."""

    def __init__(self, answer=True):
        self.answer = answer

    def __getattr__(self, name):
        def ask():
            future = pykka.ThreadingFuture()
            if isinstance(self.answer, BaseException):
                future.set_exception((type(self.answer), self.answer, None))
            elif self.answer is not None:
                future.set(self.answer)
            return future

        return ask


def probe(readiness, path='/ready', method='GET', user=''):
    answer = {}

    def start_response(status, headers):
        answer['status'], answer['headers'] = status, dict(headers)

    def metrics(environ, start_response):
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'cerise_jobs 0\n']

    app = Probes(lambda e, s: pytest.fail('passed on'), readiness, metrics)
    environ = {'PATH_INFO': path, 'REQUEST_METHOD': method}
    if user is not None:  # as the auth gate sets it
        environ[USER_KEY] = user
    body = b''.join(app(environ, start_response))
    return int(answer['status'].split()[0]), answer['headers'], body


def _ready(store=True, runner=True, poller=True, timeout=0.2):
    readiness = Readiness(timeout)
    readiness.watch(_Actor(store), _Actor(runner), _Actor(poller))
    readiness.open()
    return readiness


def test_ready_when_every_part_says_so():
    status, headers, body = probe(_ready())
    assert (status, json.loads(body)) == (200, {'status': 'ready'})
    assert headers['Cache-Control'] == 'no-store'


@pytest.mark.parametrize(
    'parts',
    [
        {'runner': False},  # not installed
        {'poller': False},  # the resource did not answer
        {'store': None},  # no answer in time
        {'poller': None},
        {'store': pykka.ActorDeadError('stopped')},
    ],
)
def test_not_ready_when_any_part_says_no_or_does_not_answer(parts, caplog):
    status, headers, body = probe(_ready(**parts))
    assert (status, json.loads(body)) == (503, {'status': 'not ready'})
    assert headers['Retry-After'] == '5'
    assert 'not ready: ' in caplog.text, 'the reason goes to the log, not to the client'


def test_not_ready_while_starting_and_once_stopping():
    readiness = Readiness(0.2)
    assert probe(readiness)[0] == 503, 'no actors yet'
    readiness.watch(_Actor(), _Actor(), _Actor())
    assert probe(readiness)[0] == 503, 'start-up not done'
    readiness.open()
    assert probe(readiness)[0] == 200
    readiness.close()
    assert probe(readiness)[0] == 503


def test_one_deadline_for_all_asks():
    readiness = _ready(store=None, runner=None, poller=None, timeout=0.3)
    started = time.monotonic()
    assert probe(readiness)[0] == 503
    assert time.monotonic() - started < 1.0


def test_probes_take_only_get_and_head():
    assert probe(_ready(), method='POST')[0] == 405
    assert probe(_ready(), method='HEAD')[2] == b''
    assert probe(_ready(), path='/metrics')[2] == b'cerise_jobs 0\n'
    assert probe(_ready(), path='/metrics', method='DELETE')[0] == 405


def test_with_a_users_file_only_the_metrics_user_reads_the_metrics():
    """They count every user's jobs: alice must not learn of bob's."""
    assert probe(_ready(), path='/metrics', user='metrics')[0] == 200
    assert probe(_ready(), path='/metrics', user='')[0] == 200, 'the one token, or no auth'
    for user in ('alice', 'Metrics', None):  # None: the gate set no user
        status, _, body = probe(_ready(), path='/metrics', user=user)
        assert status == 403 and b'add-user metrics' in body, user


def test_readiness_with_the_real_actors(store, tmp_path):
    layout = ResourceLayout(str(tmp_path))
    scheduler = ScriptedScheduler()
    poller = PollerActor.start(store, scheduler, layout, 3600.0).proxy()
    runner = RunnerActor.start(
        store, scheduler, LocalFileSystem(), layout, lambda p, c: ['true'], 1, FakePoller()
    ).proxy()
    readiness = Readiness()
    readiness.watch(store, runner, poller)
    readiness.open()
    assert probe(readiness)[0] == 503, 'the specialisation is not installed yet'
    runner.api_ready()
    assert probe(readiness)[0] == 200
