"""Builds the compute-resource objects (file system, shell, scheduler) from the API config.

The only place that knows which classes serve which protocol, so adding a
transport or scheduler touches this table and nothing else.
"""
import dataclasses
import os

from ..config import ApiConfig, ConfigError
from ..resource.filesystem import FileSystem, LocalFileSystem
from ..resource.layout import ResourceLayout
from ..resource.scheduler import DirectScheduler, Scheduler
from ..resource.shell import LocalShell, Shell


@dataclasses.dataclass
class Resource:
    fs: FileSystem
    shell: Shell
    scheduler: Scheduler
    layout: ResourceLayout
    is_local: bool
    max_running: int

    def close(self) -> None:
        self.shell.close()


def build_resource(api: ApiConfig) -> Resource:
    if api.files.protocol != 'local':
        raise ConfigError(api.source, 'compute-resource.files.protocol',
                          f"'{api.files.protocol}' is not available in this version of "
                          f"cerise-actors; use local")
    if api.jobs.protocol != 'local':
        raise ConfigError(api.source, 'compute-resource.jobs.protocol',
                          f"'{api.jobs.protocol}' is not available in this version of "
                          f"cerise-actors; use local")
    if api.jobs.scheduler != 'none':
        raise ConfigError(api.source, 'compute-resource.jobs.scheduler',
                          f"'{api.jobs.scheduler}' is not available in this version of "
                          f"cerise-actors; use none")
    shell = LocalShell()
    max_running = api.jobs.max_running or os.cpu_count() or 1
    return Resource(fs=LocalFileSystem(), shell=shell, scheduler=DirectScheduler(shell),
                    layout=ResourceLayout(api.files.path), is_local=True,
                    max_running=max_running)
