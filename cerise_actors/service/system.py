"""Starting and stopping the whole service: actors, resource, HTTP server.

`CeriseService` is what both `cerise-actors serve` and Python code (tests,
scripts, notebooks) use; `running_service()` wraps it as a context manager.
Start-up follows the spec: jobs interrupted while staging go back to rest
states, jobs on the resource are followed again, cancellations that may not
have reached the resource are sent again. Shutdown aborts staging between
files and puts those jobs back into rest states; jobs running on the
resource keep running and are picked up at the next start.
"""
import contextlib
import logging
import shutil
import threading
from pathlib import Path
from typing import Optional, Union

from ..actors.installer import ApiInstallerActor
from ..actors.poller import PollerActor
from ..actors.runner import RunnerActor
from ..actors.stager_pool import StagerActor, StagerPool
from ..config import (ApiConfig, ServiceConfig, load_api_config, load_service_config,
                      service_config_from_dict)
from ..cwl.steps import load_step_catalogue
from ..jobs.states import JobState as S
from ..store.actor import DELETABLE, StoreActor
from ..web.app import create_app
from ..web.backend import JobsBackend
from ..web.dispatch import mount
from ..web.files import make_files_app
from ..web.server import HttpServer
from . import api_install
from .exchange import Exchange
from ..resource.scheduler import DirectScheduler
from .resource_factory import build_resource
from .runner_command import runner_argv
from .stage_in import StageIn
from .stage_out import StageOut

logger = logging.getLogger(__name__)

STAGER_THREADS = 2
INSTALL_TIMEOUT = 3600.0
ASK_TIMEOUT = 60.0


class CeriseService:
    def __init__(self, config: ServiceConfig, api_config: ApiConfig,
                 api_dir: Optional[Path]):
        self.config = config
        self.api_config = api_config
        self.api_dir = Path(api_dir) if api_dir else None
        self._shutting_down = threading.Event()
        self._started = False
        self.http: Optional[HttpServer] = None
        self.base_url: Optional[str] = None

    # --- start -----------------------------------------------------------
    def start(self) -> 'CeriseService':
        self.exchange = Exchange(self.config.exchange_service_dir,
                                 self.config.exchange_client_url)
        self.exchange.ensure_layout()
        self.projects = api_install.local_projects(self.api_dir)
        self.catalogue = load_step_catalogue(self.projects)
        self.resource = build_resource(self.api_config)
        self.resource.fs.mkdir(self.resource.layout.jobs_dir)
        self._store_ref = StoreActor.start(self.config.database_file)
        try:
            self._start_workers()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_workers(self) -> None:
        store = self._store_ref.proxy()
        self.store = store
        moved = store.recover_interrupted('The service stopped').get(timeout=ASK_TIMEOUT)
        for job_id, before, after in moved:
            logger.info('job %s: recovered from %s to %s', job_id, before.name, after.name)
        res = self.resource
        layout = res.layout
        if res.max_running is None and isinstance(res.scheduler, DirectScheduler):
            res.max_running = _core_count(res.shell)
        self._runner_ref = RunnerActor.start(
            store, res.scheduler, res.fs, layout,
            lambda paths: runner_argv(self.api_config.jobs.cwl_runner, layout, paths,
                                      res.is_local),
            res.max_running)
        runner = self._runner_ref.proxy()
        self._poller_ref = PollerActor.start(store, res.scheduler, layout,
                                             self.api_config.refresh, runner,
                                             watch_local_exits=res.is_local,
                                             contact_timeout=self.api_config.contact_timeout)
        poller = self._poller_ref.proxy()
        runner.set_poller(poller).get(timeout=ASK_TIMEOUT)
        stage_in = StageIn(res.fs, layout, self.exchange, self.catalogue)
        stage_out = StageOut(res.fs, layout, self.exchange)
        self.stagers = StagerPool(STAGER_THREADS, lambda on_done: StagerActor.start(
            store, stage_in, stage_out, self._remove_job_files, self._shutting_down,
            on_done, poller.call_later))
        self._installer_ref = ApiInstallerActor.start(res.fs, res.shell, layout,
                                                      self.projects, runner)
        for state, callback in ((S.SUBMITTED, self.stagers.stage_in),
                                (S.FINISHED, self.stagers.stage_out),
                                (DELETABLE, self.stagers.delete),
                                (S.WAITING, runner.enqueue),
                                (S.WAITING_CR, runner.cancel),
                                (S.RUNNING_CR, runner.cancel)):
            store.subscribe(state, callback).get(timeout=ASK_TIMEOUT)
        running = self._resume_jobs(store, runner, poller)
        message = self._installer_ref.proxy().start_up(running).get(timeout=INSTALL_TIMEOUT)
        logger.info('%s', message)
        self._start_http(store)
        self._started = True

    def _resume_jobs(self, store, runner, poller) -> int:
        """Hand every unfinished job to the actor that moves it next."""
        running = 0
        remote = (S.WAITING, S.RUNNING, S.WAITING_CR, S.RUNNING_CR)
        for job in store.jobs_in(remote).get(timeout=ASK_TIMEOUT):
            if job.remote_job_id:
                running += 1
                store.add_log(job.id, 'The service restarted; following this job again.')
                runner.adopt(job.id)
                poller.track(job.id, job.remote_job_id)
                if job.state.cancellation_pending:
                    runner.cancel(job.id)
            elif job.state.cancellation_pending:
                runner.cancel(job.id)
            else:
                runner.enqueue(job.id)
        for job in store.jobs_in((S.SUBMITTED,)).get(timeout=ASK_TIMEOUT):
            self.stagers.stage_in(job.id)
        for job in store.jobs_in((S.FINISHED,)).get(timeout=ASK_TIMEOUT):
            self.stagers.stage_out(job.id)
        for job_id in store.deletable_jobs().get(timeout=ASK_TIMEOUT):
            self.stagers.delete(job_id)
        if running:
            poller.poll_now()
        return running

    def _start_http(self, store) -> None:
        app = create_app(JobsBackend(store), self.config.base_url)
        # the file exchange over WebDAV, on the same port as the jobs API
        app = mount(app, '/files', make_files_app(self.exchange.service_dir))
        self.http = HttpServer(app, self.config.hostname, self.config.port)
        self.http.start()
        self.base_url = self.config.base_url or self.http.url
        logger.info('cerise-actors listening on %s (base URL %s)', self.http.url,
                    self.base_url)

    def _remove_job_files(self, job_id: str) -> None:
        """Published outputs first (always reachable), then the resource's folder."""
        shutil.rmtree(self.exchange.output_dir(job_id), ignore_errors=True)
        self.resource.fs.remove(self.resource.layout.job(job_id).dir)

    # --- stop ------------------------------------------------------------
    def stop(self) -> None:
        """Stop cleanly: no request is half-done, no job is left mid-staging."""
        self._shutting_down.set()
        if self.http is not None:
            self.http.stop()
            self.http = None
        stagers = getattr(self, 'stagers', None)
        if stagers is not None:
            stagers.stop()
        for name in ('_installer_ref', '_poller_ref', '_runner_ref'):
            ref = getattr(self, name, None)
            if ref is not None and ref.is_alive():
                ref.stop(block=True, timeout=ASK_TIMEOUT)
        store_ref = getattr(self, '_store_ref', None)
        if store_ref is not None and store_ref.is_alive():
            try:
                store_ref.proxy().recover_interrupted(
                    'The service was shut down').get(timeout=ASK_TIMEOUT)
            finally:
                store_ref.stop(block=True, timeout=ASK_TIMEOUT)
        resource = getattr(self, 'resource', None)
        if resource is not None:
            resource.close()
        self._started = False


def _core_count(shell) -> int:
    """The resource's core count: at most this many direct jobs run at once."""
    result = shell.run('nproc', timeout=120)
    text = result.stdout.strip()
    return int(text) if result.exit_code == 0 and text.isdigit() and int(text) > 0 else 1


@contextlib.contextmanager
def running_service(config: Union[ServiceConfig, dict, str, Path],
                    api_dir: Optional[Union[str, Path]] = None,
                    api_config: Optional[ApiConfig] = None):
    """Run the whole service in this process; yields the started CeriseService.

    `config` is a ServiceConfig, a dict shaped like conf/config.yml, or the
    path of such a file; the API config is read from `api_dir` unless given.
    """
    if isinstance(config, dict):
        config = service_config_from_dict(config)
    elif not isinstance(config, ServiceConfig):
        config = load_service_config(config)
    if api_config is None:
        api_config = load_api_config(api_dir) if api_dir else load_api_config(
            Path('/nonexistent-cerise-api'))
    service = CeriseService(config, api_config, Path(api_dir) if api_dir else None)
    service.start()
    try:
        yield service
    finally:
        service.stop()
