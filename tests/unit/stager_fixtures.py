"""A StagerActor wired as in app/system.py, for the test_actor_stager* modules.

Real parts: the StoreActor, StageIn and StageOut with the test
specialisation's step catalogue, the file exchange under tmp_path/files and
the local file system under tmp_path/resource (faults injected through
FaultyFileSystem). Stand-ins: the poller (its `call_later` is the stager's
`retry_later`) and the pool's `on_done`. The store tells the stager of
FINISHED and DELETABLE jobs; submitted jobs are handed over by `submit`.
The `store` fixture is actor_fixtures.store; both are registered in tests/conftest.py (pytest_plugins).
"""

import dataclasses
import json
import threading
from pathlib import Path

import pytest

from cerise_actors.actors.stager import StagerActor
from cerise_actors.boundary.network import DenyList
from cerise_actors.cwl.steps import load_step_catalogue
from cerise_actors.jobs.states import JobState as S
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.staging.bounded import SourceLimits
from cerise_actors.staging.exchange import Exchange
from cerise_actors.staging.stage_in import StageIn
from cerise_actors.staging.stage_out import StageOut
from cerise_actors.store.actor import DELETABLE

from ..fakes import FakePoller, FaultyFileSystem, Recorder
from ..helpers import TEST_API_DIR
from .actor_fixtures import ask, new_job

SUCCESS_LOG = 'INFO [job s] completed success\nINFO Final process status is success\n'


@dataclasses.dataclass
class StagerWorld:
    store: object
    stager: object
    fs: FaultyFileSystem
    poller: FakePoller
    layout: ResourceLayout
    exchange: Exchange
    shutting_down: threading.Event
    done: Recorder  # the pool's on_done
    cleaned: list  # job ids given to the cleaner

    def put_input(self, relpath: str, content: str) -> str:
        """A file a user put in the exchange; returns its client URL."""
        path = self.exchange.service_dir / 'input' / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        return f'{self.exchange.client_url}/input/{relpath}'

    def submit(self, workflow: str, inputs=None, start=True, workflow_url=None) -> str:
        """A submitted job, handed to the stager (as the pool does) if `start`."""
        url = workflow_url or self.put_input('wf.cwl', workflow)
        job_id = ask(self.store.create_job('test', url, json.dumps(inputs or {}))).id
        if start:
            self.stager.stage_in(job_id)
        return job_id

    def finished_job(self, outputs: dict, stderr=SUCCESS_LOG, exit_code=0, faults=()) -> str:
        """A job whose runner left `outputs` (name -> text) in its work dir and
        reported them all; then the store tells the stager it has finished.
        `faults` are (method, fault, match) injected once the job id is known."""
        job_id = new_job(self.store, S.STAGING_IN, S.WAITING)
        paths = self.layout.job(job_id)
        report = {}
        for name, text in outputs.items():
            target = Path(paths.work, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            report[name] = {'class': 'File', 'location': target.as_uri(), 'basename': name}
        Path(paths.stdout).write_text(json.dumps(report))
        Path(paths.stderr).write_text(stderr)
        for method, fault, match in faults:
            self.fs.inject(method, fault(job_id) if callable(fault) else fault, match)
        assert ask(self.store.transition(job_id, S.WAITING, S.FINISHED, exit_code=exit_code))
        return job_id

    def cancel_on_call(self, job_id):
        """A fault that cancels the job, as a user would, while a file is copied."""
        return lambda path: ask(self.store.cancel_job(job_id))


@pytest.fixture
def stager_world(store, tmp_path):
    fs, poller = FaultyFileSystem(), FakePoller()
    layout = ResourceLayout(str(tmp_path / 'resource'))
    exchange = Exchange(tmp_path / 'files', (tmp_path / 'files').as_uri())
    exchange.ensure_layout()
    catalogue = load_step_catalogue({'test': TEST_API_DIR / 'test'})
    shutting_down, done, cleaned = threading.Event(), Recorder(), []

    def cleaner(job_id, owner):
        cleaned.append(job_id)
        fs.remove(layout.job(job_id).dir)

    stager = StagerActor.start(
        store,
        # the tests' http servers are on loopback, which the default fetch-deny refuses
        StageIn(fs, layout, exchange, catalogue, limits=SourceLimits(deny=DenyList())),
        StageOut(fs, layout, exchange),
        cleaner,
        shutting_down,
        done,
        poller.call_later,
    ).proxy()
    ask(store.subscribe(S.FINISHED, stager.stage_out))
    ask(store.subscribe(DELETABLE, stager.delete))
    return StagerWorld(store, stager, fs, poller, layout, exchange, shutting_down, done, cleaned)
