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
import dataclasses
import logging
import threading
from pathlib import Path
from typing import Optional, Union

from ..actors.installer import ApiInstallerActor
from ..actors.poller import PollerActor
from ..actors.runner import RunnerActor
from ..actors.stager import StagerActor
from ..actors.stager_pool import StagerPool
from ..config import (
    ApiConfig,
    ServiceConfig,
    api_config_from_dict,
    load_api_config,
    load_service_config,
    service_config_from_dict,
)
from ..cwl.steps import load_step_catalogue
from ..defaults import ASK_TIMEOUT, INSTALL_TIMEOUT, NPROC_TIMEOUT, STAGER_THREADS
from ..jobs.states import JobState as S
from ..resource.completion_watch import CompletionWatch, bash_command, watcher_argv
from ..resource.scheduler import DirectScheduler
from ..resource.shell import Shell
from ..resource.warm import waking
from ..staging import api_install, runner_install
from ..staging.exchange import Exchange
from ..staging.progress import ProgressReader
from ..staging.runner_command import after_runner_install, choose_runner, start_warm_runner
from ..staging.runner_install import RunnerInstaller, wheelhouse_dir
from ..staging.stage_out import StageOut
from ..store.actor import StoreActor
from ..web.auth_gate import AuthGate
from ..web.gate import StartGate
from ..web.server import HttpServer
from .access import build_access
from .assembly import build_api, build_stage_in, subscribe_workers
from .listen import exchange_client_url, naming_the_address, own_files_urls
from .metrics import ServiceMetrics
from .readiness import Probes, Readiness
from .resources import build_resource
from .retention import RetentionSweep

logger = logging.getLogger(__name__)


class CeriseService:
    """The whole service, built by the constructor; `start()` runs it."""

    def __init__(self, config: ServiceConfig, api_config: ApiConfig, api_dir: Optional[Path]):
        self.config = config
        self.api_config = api_config
        self.api_dir = Path(api_dir) if api_dir else None
        self.base_url: Optional[str] = None
        self._shutting_down = threading.Event()
        # what stop() undoes, last built first
        self._parts = contextlib.ExitStack()
        try:
            self._build()
        except BaseException:
            self._parts.close()
            raise

    # --- build ---------------------------------------------------------
    def _build(self) -> None:
        parts = self._parts
        # the port is bound first, so a taken port is reported before any folder,
        # actor or installation is made; it is served from start() on, answering
        # 503 until start-up is done, and the jobs API is plugged in at the end
        self.access = access = build_access(self.config)
        self.metrics = metrics = ServiceMetrics()  # handed to each part that reports
        self._gate = StartGate(lambda environ, start_response: self._api(environ, start_response))
        # every request passes the auth gate first, then /ready and /metrics
        # (answered also while starting), then the start gate
        self.readiness = Readiness()
        probes = Probes(self._gate, self.readiness, metrics)
        front = AuthGate(probes, access.who, access.signer, on_refused=metrics.refused)
        with naming_the_address(self.config.hostname, self.config.port):
            self.http = HttpServer(
                front, self.config.hostname, self.config.port, limits=self.config.limits
            )
        close_http = _once(self.http.stop)
        parts.callback(close_http)  # if building fails below
        client_url = exchange_client_url(self.config, self.http.url)
        self.exchange = Exchange(
            self.config.exchange_service_dir,
            client_url,
            served_at=own_files_urls(self.config, self.http.url),
            per_user=access.per_user,
        )
        self.exchange.ensure_layout()
        self.projects = api_install.local_projects(self.api_dir)
        self.catalogue = load_step_catalogue(self.projects)
        self.resource = res = build_resource(self.api_config)
        parts.callback(res.close)
        res.fs.mkdir(res.layout.jobs_dir)

        store_ref = StoreActor.start(self.config.database_file, on_move=metrics.job_moved)
        parts.callback(self._stop_store, store_ref)
        self.store = store = store_ref.proxy()
        metrics.count_jobs(store)

        jobs = self.api_config.jobs
        choice = choose_runner(jobs.cwl_runner, res.is_local, prelude=jobs.prelude)
        self.hints = _completion_watch(res, jobs, choice) if jobs.protocol == 'ssh' else None
        poller_ref = PollerActor.start(
            store,
            res.scheduler,
            res.layout,
            self.api_config.refresh,
            watch_local_exits=res.is_local,
            contact_timeout=self.api_config.contact_timeout,
            progress=ProgressReader(res.fs, res.layout),
            metrics=metrics,
            hints=self.hints,
        )
        parts.callback(_stop_actor, poller_ref)
        self.poller = poller = poller_ref.proxy()

        max_running = res.max_running
        if max_running is None and isinstance(res.scheduler, DirectScheduler):
            max_running = _core_count(res.shell)
        layout = res.layout
        self.warm_runner = start_warm_runner(choice, self.api_config.jobs, layout, res)
        if self.warm_runner is not None:  # stopped after the runner actor (jobs run on)
            parts.callback(self.warm_runner.close)
            choice = dataclasses.replace(choice, warm_socket=self.warm_runner.socket_path)
        runner_ref = RunnerActor.start(
            store,
            res.scheduler,
            res.fs,
            layout,
            waking(self.warm_runner, lambda paths, cores: choice.argv(layout, paths, cores)),
            max_running,
            poller,
            runner_name=choice.description,
        )
        parts.callback(_stop_actor, runner_ref)
        self.runner = runner = runner_ref.proxy()

        stage_in = build_stage_in(
            res,
            self.exchange,
            self.projects,
            self.catalogue,
            self.config.limits,
            self.http.port,
            choice,
        )
        stage_out = StageOut(res.fs, layout, self.exchange)
        self.stagers = StagerPool(
            STAGER_THREADS,
            lambda on_done: StagerActor.start(
                store,
                stage_in,
                stage_out,
                self._remove_job_files,
                self._shutting_down,
                on_done,
                poller.call_later,
                metrics,
            ),
        )
        parts.callback(self.stagers.stop)

        runner_installer = None
        if choice.deployed:
            runner_installer = RunnerInstaller(  # builds a missing wheels folder on first need
                res.fs,
                res.shell,
                layout,
                wheelhouse_dir(),
                self.config.run_dir / 'wheelhouse',
                prelude=jobs.prelude,  # where the runner's Python is (issue 22)
                python=jobs.python,
            )
        installer_ref = ApiInstallerActor.start(
            res.fs, res.shell, layout, self.projects, runner, runner_installer, metrics
        )
        parts.callback(_stop_actor, installer_ref)
        self.installer = installer_ref.proxy()

        subscribe_workers(store, self.stagers, runner)

        app = build_api(
            store,
            self.exchange,
            self.projects,
            self.catalogue,
            choice,
            access,
            self.config,
            metrics,
        )
        self._api = app
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

    @staticmethod
    def _stop_store(store_ref) -> None:
        if not store_ref.is_alive():
            return
        try:
            store_ref.proxy().recover_interrupted('The service was shut down').get(
                timeout=ASK_TIMEOUT
            )
        finally:
            _stop_actor(store_ref)


def _completion_watch(res, jobs, choice) -> CompletionWatch:
    """The watcher of jobs over SSH, started as the runner is (after jobs.prelude), exec'd."""
    python = runner_install.runner_python(res.layout) if choice.deployed else jobs.python
    argv = watcher_argv(res.layout.jobs_dir, python, choice.deployed)
    script = runner_install.resource_python_command(jobs.prelude, 'exec', argv)
    open_channel = res.pool.get(jobs.host, jobs.port, jobs.credentials).open_session
    return CompletionWatch(open_channel, bash_command(script), name=jobs.host)


def _once(function):
    """`function` made safe to register twice: only the first call runs it."""
    called = threading.Event()

    def call() -> None:
        if not called.is_set():
            called.set()
            function()

    return call


def _stop_actor(ref) -> None:
    if ref.is_alive():
        ref.stop(block=True, timeout=ASK_TIMEOUT)


def _core_count(shell: Shell) -> int:
    """The resource's core count: at most this many direct jobs run at once."""
    result = shell.run('nproc', timeout=NPROC_TIMEOUT)
    text = result.stdout.strip()
    return int(text) if result.exit_code == 0 and text.isdigit() and int(text) > 0 else 1


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
