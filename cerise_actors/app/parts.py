"""The parts of the service that start something, each with its own undo.

Every function here starts one part (binds the port, opens the resource,
starts an actor or a pool) and registers how to stop it on the ExitStack it
is given, in the same place, before it returns. So a part that is built is
always undone, whatever fails after it, and `CeriseService._build` reads as
the order things start in (they stop in the reverse order). The parts that
start nothing are in `assembly.py`.
"""

import contextlib
import dataclasses
import threading
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Tuple, Union

import pykka

from ..actors.installer import ApiInstallerActor
from ..actors.poller import PollerActor
from ..actors.proxies import (
    ApiInstallerProxy,
    PollerProxy,
    RunnerProxy,
    StoreProxy,
    installer_proxy,
    poller_proxy,
    runner_proxy,
    store_proxy,
)
from ..actors.runner import RunnerActor
from ..actors.stager import StagerActor
from ..actors.stager_pool import StagerPool
from ..config import ApiConfig, JobsConfig, ServiceConfig
from ..defaults import ASK_TIMEOUT, NPROC_TIMEOUT, STAGER_THREADS
from ..resource.completion_watch import CompletionWatch, bash_command, watcher_argv
from ..resource.remote_warm import RemoteWarmRunner
from ..resource.scheduler import DirectScheduler
from ..resource.shell import Shell
from ..resource.warm import WarmRunner, waking
from ..staging import runner_install
from ..staging.progress import ProgressReader
from ..staging.runner_command import RunnerChoice, start_warm_runner
from ..staging.runner_install import RunnerInstaller, wheelhouse_dir
from ..staging.stage_in import StageIn
from ..staging.stage_out import StageOut
from ..store.actor import StoreActor
from ..web.server import HttpServer
from .listen import naming_the_address
from .metrics import ServiceMetrics
from .resources import Resource, build_resource

Parts = contextlib.ExitStack
Warm = Optional[Union[WarmRunner, RemoteWarmRunner]]


def open_http(parts: Parts, config: ServiceConfig, front: Any) -> Tuple[HttpServer, Callable]:
    """Bind the port (first, so a taken port is reported before anything else
    is made); returns the server and its closer, which runs once however
    often it is registered: `_build` registers it again, so on stop the
    server closes before the parts that requests use."""
    with naming_the_address(config.hostname, config.port):
        http = HttpServer(front, config.hostname, config.port, limits=config.limits)
    close_http = once(http.stop)
    parts.callback(close_http)
    return http, close_http


def open_resource(parts: Parts, api_config: ApiConfig) -> Resource:
    """The compute resource's file system, shell and scheduler, its jobs folder made."""
    res = build_resource(api_config)
    parts.callback(res.close)
    res.fs.mkdir(res.layout.jobs_dir)
    return res


def start_store(parts: Parts, database_file: Path, metrics: ServiceMetrics) -> StoreProxy:
    """The store actor; on stop, interrupted jobs go back to rest states first."""
    store_ref = StoreActor.start(database_file, on_move=metrics.job_moved)
    parts.callback(stop_store, store_ref)
    return store_proxy(store_ref)


def start_poller(
    parts: Parts,
    store: StoreProxy,
    res: Resource,
    api_config: ApiConfig,
    metrics: ServiceMetrics,
    hints: Optional[CompletionWatch],
) -> PollerProxy:
    """The poller, which follows jobs on the resource (`hints`: the completion
    watcher's news of jobs that may have ended)."""
    poller_ref = PollerActor.start(
        store,
        res.scheduler,
        res.layout,
        api_config.refresh,
        watch_local_exits=res.is_local,
        contact_timeout=api_config.contact_timeout,
        progress=ProgressReader(res.fs, res.layout),
        metrics=metrics,
        hints=hints,
    )
    parts.callback(stop_actor, poller_ref)
    return poller_proxy(poller_ref)


def start_warm(
    parts: Parts, choice: RunnerChoice, jobs: JobsConfig, res: Resource
) -> Tuple[Warm, RunnerChoice]:
    """The warm runner where it applies, and the runner choice that uses it.
    Registered before the runner actor, so it stops after it (jobs run on)."""
    warm = start_warm_runner(choice, jobs, res.layout, res)
    if warm is None:
        return None, choice
    parts.callback(warm.close)
    return warm, dataclasses.replace(choice, warm_socket=warm.socket_path)


def start_runner(
    parts: Parts,
    store: StoreProxy,
    res: Resource,
    choice: RunnerChoice,
    warm: Warm,
    poller: PollerProxy,
) -> RunnerProxy:
    """The runner actor: starts jobs with `choice`'s command (the warm runner
    woken first where there is one), at most as many at once as the resource
    has cores when no batch scheduler queues them."""
    max_running = res.max_running
    if max_running is None and isinstance(res.scheduler, DirectScheduler):
        max_running = core_count(res.shell)
    layout = res.layout
    runner_ref = RunnerActor.start(
        store,
        res.scheduler,
        res.fs,
        layout,
        waking(warm, lambda paths, cores: choice.argv(layout, paths, cores)),
        max_running,
        poller,
        runner_name=choice.description,
    )
    parts.callback(stop_actor, runner_ref)
    return runner_proxy(runner_ref)


def start_stagers(
    parts: Parts,
    store: StoreProxy,
    stage_in: StageIn,
    stage_out: StageOut,
    remove_job_files: Callable[[str, str], None],
    shutting_down: threading.Event,
    poller: PollerProxy,
    metrics: ServiceMetrics,
) -> StagerPool:
    """The pool of stager actors, which share their work out between users."""
    stagers = StagerPool(
        STAGER_THREADS,
        lambda on_done: StagerActor.start(
            store,
            stage_in,
            stage_out,
            remove_job_files,
            shutting_down,
            on_done,
            poller.call_later,
            metrics,
        ),
    )
    parts.callback(stagers.stop)
    return stagers


def start_installer(
    parts: Parts,
    res: Resource,
    projects: Mapping[str, Any],
    runner: RunnerProxy,
    choice: RunnerChoice,
    jobs: JobsConfig,
    run_dir: Path,
    metrics: ServiceMetrics,
) -> ApiInstallerProxy:
    """The installer of the specialisation, and of our runner where it is deployed."""
    runner_installer = None
    if choice.deployed:
        runner_installer = RunnerInstaller(  # builds a missing wheels folder on first need
            res.fs,
            res.shell,
            res.layout,
            wheelhouse_dir(),
            run_dir / 'wheelhouse',
            prelude=jobs.prelude,  # where the runner's Python is (issue 22)
            python=jobs.python,
        )
    installer_ref = ApiInstallerActor.start(
        res.fs, res.shell, res.layout, projects, runner, runner_installer, metrics
    )
    parts.callback(stop_actor, installer_ref)
    return installer_proxy(installer_ref)


def completion_watch(res: Resource, jobs: JobsConfig, choice: RunnerChoice) -> CompletionWatch:
    """The watcher of jobs over SSH, started as the runner is (after jobs.prelude), exec'd.
    It starts nothing until the poller asks, so it has no undo of its own."""
    python = runner_install.runner_python(res.layout) if choice.deployed else jobs.python
    argv = watcher_argv(res.layout.jobs_dir, python, choice.deployed)
    script = runner_install.resource_python_command(jobs.prelude, 'exec', argv)
    if res.pool is None or jobs.host is None:  # the config requires both for ssh
        raise ValueError('the completion watcher needs a resource reached over SSH')
    open_channel = res.pool.get(jobs.host, jobs.port, jobs.credentials).open_session
    return CompletionWatch(open_channel, bash_command(script), name=jobs.host)


def stop_store(store_ref: 'pykka.ActorRef[StoreActor]') -> None:
    """Put interrupted jobs back into rest states, then stop the store."""
    if not store_ref.is_alive():
        return
    try:
        store_proxy(store_ref).recover_interrupted('The service was shut down').get(
            timeout=ASK_TIMEOUT
        )
    finally:
        stop_actor(store_ref)


def stop_actor(ref: 'pykka.ActorRef[Any]') -> None:
    if ref.is_alive():
        ref.stop(block=True, timeout=ASK_TIMEOUT)


def once(function: Callable[[], None]) -> Callable[[], None]:
    """`function` made safe to register twice: only the first call runs it."""
    called = threading.Event()

    def call() -> None:
        if not called.is_set():
            called.set()
            function()

    return call


def core_count(shell: Shell) -> int:
    """The resource's core count: at most this many direct jobs run at once."""
    result = shell.run('nproc', timeout=NPROC_TIMEOUT)
    text = result.stdout.strip()
    return int(text) if result.exit_code == 0 and text.isdigit() and int(text) > 0 else 1
