"""Builds the compute-resource objects (file system, shell, scheduler) from the API config.

The only place that knows which classes serve which protocol, so adding a
transport or scheduler touches this table and nothing else. The SSH classes
are imported only for a resource that uses them: paramiko and its
cryptography are half of the memory of a service that runs jobs locally.
"""

import dataclasses
import os
from typing import TYPE_CHECKING, Optional

from ..config import ApiConfig, ConfigError, Credentials
from ..resource.filesystem import FileSystem, LocalFileSystem
from ..resource.gridengine import GridEngineScheduler
from ..resource.layout import ResourceLayout
from ..resource.local_scheduler import LocalScheduler
from ..resource.scheduler import DirectScheduler, Scheduler
from ..resource.shell import LocalShell, Shell
from ..resource.slurm import SlurmScheduler
from ..resource.torque import TorqueScheduler

if TYPE_CHECKING:  # paramiko is imported only for a resource reached over SSH
    from ..resource.ssh_connection import ConnectionPool, SshConnection


@dataclasses.dataclass
class Resource:
    fs: FileSystem
    shell: Shell
    scheduler: Scheduler
    layout: ResourceLayout
    is_local: bool
    max_running: Optional[int]  # None: no limit (a batch scheduler queues jobs)
    pool: Optional['ConnectionPool']  # if the resource is reached over SSH

    def close(self) -> None:
        for part in (self.fs, self.scheduler):
            close = getattr(part, 'close', None)
            if close is not None:
                close()
        if self.pool is not None:
            self.pool.close()


SCHEDULERS = {
    'none': DirectScheduler,
    'slurm': SlurmScheduler,
    'torque': TorqueScheduler,
    'gridengine': GridEngineScheduler,
}


def build_resource(api: ApiConfig) -> Resource:
    """File system, shell and scheduler for the configured resource.

    Files and jobs on the same host with the same user share one SSH
    connection; remote file access needs `files.protocol: sftp`.
    """
    jobs, files = api.jobs, api.files
    pool = _pool(api)
    if jobs.protocol == 'ssh':
        from ..resource.ssh_shell import SshShell

        shell: Shell = SshShell(_connection(pool, jobs.host, jobs.port, jobs.credentials))
    else:
        shell = LocalShell()
    if files.protocol == 'sftp':
        from ..resource.sftp_filesystem import SftpFileSystem

        fs: FileSystem = SftpFileSystem(
            _connection(pool, files.host, files.port, files.credentials)
        )
    else:
        if jobs.protocol == 'ssh':
            raise ConfigError(
                api.source,
                'compute-resource.files.protocol',
                'jobs run over ssh but files are local; use sftp to the '
                'same machine (or a shared file system reached over sftp)',
            )
        fs = LocalFileSystem()
    if jobs.scheduler == 'none':
        direct = LocalScheduler if jobs.protocol == 'local' else DirectScheduler
        scheduler: Scheduler = direct(shell, api.ssh.command_timeout)
        # remote: None, and the service asks the machine (nproc) when it starts
        max_running = jobs.max_running or (
            os.cpu_count() or 1 if jobs.protocol == 'local' else None
        )
    else:
        scheduler = SCHEDULERS[jobs.scheduler](
            shell,
            cores_per_node=jobs.cores_per_node,
            slots_per_node=jobs.slots_per_node,
            queue_name=jobs.queue_name,
            scheduler_options=jobs.scheduler_options,
            command_timeout=api.ssh.command_timeout,
        )
        max_running = jobs.max_running
    return Resource(
        fs=fs,
        shell=shell,
        scheduler=scheduler,
        layout=ResourceLayout(files.path),
        is_local=jobs.protocol == 'local',
        max_running=max_running,
        pool=pool,
    )


def _pool(api: ApiConfig) -> Optional['ConnectionPool']:
    """The SSH connections of a resource reached over SSH (paramiko is imported only then)."""
    if api.jobs.protocol != 'ssh' and api.files.protocol != 'sftp':
        return None
    from ..resource.ssh_connection import ConnectionPool

    return ConnectionPool(api.ssh)


def _connection(
    pool: Optional['ConnectionPool'], host: Optional[str], port: int, credentials: Credentials
) -> 'SshConnection':
    """The pool's connection to `host`: a pool is made for, and the config of a
    remote protocol always names, a resource reached over SSH."""
    if pool is None or host is None:
        raise ValueError('a resource reached over SSH needs a connection pool and a host')
    return pool.get(host, port, credentials)
