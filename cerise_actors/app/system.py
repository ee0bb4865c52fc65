"""Building, starting and stopping the whole service: actors, resource, HTTP.

`CeriseService` is what both `cerise-actors serve` and Python code (tests,
scripts, notebooks) use; `running_service()` wraps it as a context manager.
The constructor builds every part and wires it through constructors; if a
part fails, what was built is undone. `start()` then follows the spec: jobs
interrupted while staging go back to rest states, jobs on the resource are
followed again, cancellations that may not have reached the resource are
sent again. `stop()` aborts staging between files and puts those jobs back
into rest states; jobs running on the resource keep running and are picked
up at the next start.
"""

import contextlib
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

from ..config import (
    ApiConfig,
    ServiceConfig,
    api_config_from_dict,
    load_api_config,
    load_service_config,
    service_config_from_dict,
)
from ..cwl.steps import load_step_catalogue
from ..defaults import ASK_TIMEOUT, INSTALL_TIMEOUT
from ..jobs.states import JobState as S
from ..staging import api_install
from ..staging.exchange import Exchange
from ..staging.runner_command import after_runner_install, choose_runner
from ..staging.stage_out import StageOut
from ..web.auth_gate import AuthGate
from ..web.gate import StartGate
from .access import build_access
from .assembly import build_api, build_stage_in, subscribe_workers
from .listen import exchange_client_url, own_files_urls
from .metrics import ServiceMetrics
from .parts import (
    completion_watch,
    open_http,
    open_resource,
    start_installer,
    start_poller,
    start_runner,
    start_stagers,
    start_store,
    start_warm,
)
from .readiness import Probes, Readiness
from .retention import RetentionSweep

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

logger = logging.getLogger(__name__)


class CeriseService:
    """The whole service, built by the constructor; `start()` runs it."""

    def __init__(self, config: ServiceConfig, api_config: ApiConfig, api_dir: Optional[Path]):
        self.config = config
        self.api_config = api_config
        self.api_dir = Path(api_dir) if api_dir else None
        self.base_url: Optional[str] = None
        self._shutting_down = threading.Event()
        self._api: WSGIApplication  # the jobs API behind the start gate, made last
        # what stop() undoes, last built first
        self._parts = contextlib.ExitStack()
        try:
            self._build()
        except BaseException:
            self._parts.close()
            raise

    # --- build ---------------------------------------------------------
    def _build(self) -> None:
        """Build every part in the order they start; each part registers its
        own undo on `self._parts` (parts.py), so stop() undoes them in reverse."""
        parts, config, api_config = self._parts, self.config, self.api_config
        self.access = access = build_access(config)
        self.metrics = metrics = ServiceMetrics()  # handed to each part that reports
        # every request passes the auth gate first, then /ready and /metrics
        # (answered also while starting), then the start gate, which answers
        # 503 until start-up is done; the jobs API is plugged in at the end
        self._gate = StartGate(lambda environ, start_response: self._api(environ, start_response))
        self.readiness = Readiness()
        probes = Probes(self._gate, self.readiness, metrics)
        front = AuthGate(probes, access.who, access.signer, on_refused=metrics.refused)
        self.http, close_http = open_http(parts, config, front)
        self.exchange = Exchange(
            config.exchange_service_dir,
            exchange_client_url(config, self.http.url),
            served_at=own_files_urls(config, self.http.url),
            per_user=access.per_user,
        )
        self.exchange.ensure_layout()
        self.projects = api_install.local_projects(self.api_dir)
        self.catalogue = load_step_catalogue(self.projects)
        self.resource = res = open_resource(parts, api_config)

        self.store = store = start_store(parts, config.database_file, metrics)
        metrics.count_jobs(store)
        jobs = api_config.jobs
        choice = choose_runner(jobs.cwl_runner, res.is_local, prelude=jobs.prelude)
        self.hints = completion_watch(res, jobs, choice) if jobs.protocol == 'ssh' else None
        self.poller = poller = start_poller(parts, store, res, api_config, metrics, self.hints)
        self.warm_runner, choice = start_warm(parts, choice, jobs, res)
        self.runner = runner = start_runner(parts, store, res, choice, self.warm_runner, poller)
        stage_in = build_stage_in(
            res, self.exchange, self.projects, self.catalogue, config.limits, self.http.port, choice
        )
        self.stagers = start_stagers(
            parts,
            store,
            stage_in,
            StageOut(res.fs, res.layout, self.exchange),
            self._remove_job_files,
            self._shutting_down,
            poller,
            metrics,
        )
        self.installer = start_installer(
            parts, res, self.projects, runner, choice, jobs, config.run_dir, metrics
        )
        subscribe_workers(store, self.stagers, runner)

        self._api = build_api(
            store, self.exchange, self.projects, self.catalogue, choice, access, config, metrics
        )
        parts.callback(close_http)  # on stop: before the parts that requests use
        # first of all on stop: staging aborts between files, probes say not ready
        parts.callback(self._shutting_down.set)
        parts.callback(self.readiness.close)
        self.readiness.watch(store, runner, poller)

    # --- start ---------------------------------------------------------
    def start(self) -> 'CeriseService':
        """Recover, resume jobs, install the specialisation, open the HTTP port."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        store = self.store
        self.access.keep_private(self.config, self.exchange.service_dir)
        moved = store.recover_interrupted('The service stopped').get(timeout=ASK_TIMEOUT)
        for job_id, before, after in moved:
            logger.info('job %s: recovered from %s to %s', job_id, before.name, after.name)
        self.http.start()
        running = self._resume_jobs()
        message = self.installer.start_up(running).get(timeout=INSTALL_TIMEOUT)
        logger.info('%s', message)
        if self.hints is not None:  # its program is installed now: no back-off
            self.hints.retry_now()
        after_runner_install(self.warm_runner)  # over SSH, its server starts now
        self._gate.open()
        self.readiness.open()
        self.base_url = self.config.base_url or self.http.url
        logger.info('cerise-actors listening on %s (base URL %s)', self.http.url, self.base_url)

    def _resume_jobs(self) -> int:
        """Hand every unfinished job to the actor that moves it next."""
        store, runner, poller = self.store, self.runner, self.poller
        running = 0
        remote = (S.WAITING, S.RUNNING, S.WAITING_CR, S.RUNNING_CR)
        for job in store.jobs_in(remote).get(timeout=ASK_TIMEOUT):
            if job.remote_job_id:
                running += 1
                store.add_log(job.id, 'The service restarted; following this job again.')
                runner.adopt(job.id)
                poller.track(job.id, job.remote_job_id, resumed=True)
                if job.state.cancellation_pending:
                    runner.cancel(job.id)
            elif job.state.cancellation_pending:
                runner.cancel(job.id)
            else:
                runner.enqueue(job.id)
        for job in store.jobs_in((S.SUBMITTED,)).get(timeout=ASK_TIMEOUT):
            self.stagers.stage_in(job.id, job.owner)
        for job in store.jobs_in((S.FINISHED,)).get(timeout=ASK_TIMEOUT):
            self.stagers.stage_out(job.id, job.owner)
        for job_id in store.deletable_jobs().get(timeout=ASK_TIMEOUT):
            self.stagers.delete(job_id)
        if running:
            poller.poll_now()
        if self.config.retention is not None:
            RetentionSweep(store, self.config.retention, poller.call_later).start()
        return running

    def _remove_job_files(self, job_id: str, owner: str = '') -> None:
        """Published outputs first (always reachable), then the resource's folder.
        The outputs go through the owner's area's confined root: a link planted in
        `output/<job id>/` is removed, never what it points to."""
        self.exchange.for_user(owner).remove_outputs(job_id)
        self.resource.fs.remove(self.resource.layout.job(job_id).dir)

    # --- stop ----------------------------------------------------------
    def stop(self) -> None:
        """Stop cleanly: no request is half-done, no job is left mid-staging.

        Undoes the build, last part first: staging is told to stop, then the
        HTTP server, the stagers, the installer, runner and poller, the store
        (after putting interrupted jobs back), and the resource's connections.
        Calling it again does nothing.
        """
        self._parts.close()


@contextlib.contextmanager
def running_service(
    config: Union[ServiceConfig, dict, str, Path],
    api_dir: Optional[Union[str, Path]] = None,
    api_config: Optional[ApiConfig] = None,
):
    """Run the whole service in this process; yields the started CeriseService.

    `config` is a ServiceConfig, a dict shaped like conf/config.yml, or the
    path of such a file; the API config is read from `api_dir` unless given
    (and is all defaults without either).
    """
    if isinstance(config, dict):
        config = service_config_from_dict(config)
    elif not isinstance(config, ServiceConfig):
        config = load_service_config(config)
    if api_config is None:
        api_config = (
            load_api_config(api_dir) if api_dir else api_config_from_dict({}, source='<defaults>')
        )
    service = CeriseService(config, api_config, Path(api_dir) if api_dir else None)
    service.start()
    try:
        yield service
    finally:
        service.stop()
