"""Which CWL runner a job script starts, and its command line.

Unless the specialisation configures `cwl-runner`, jobs run the service's
own runner (cerise_actors/runner: cwltool's library with JavaScript in a V8
sandbox): on the local resource from the service's own Python, elsewhere
from the copy the service deploys (staging/runner_install.py). Either way
with colour off, no containers, parallel steps within the job's cores,
outputs into the job's work/ and temporary files under the job folder, so
cancelling and deleting a job leaves nothing behind.

On the resource (not for the service's own runner on this machine) the
runner starts after compute-resource.jobs.prelude, which may load the
Python the deployed runner was installed with (its shared libraries) or
what a configured runner needs: `module load python/3.11`.

A configured `cwl-runner` is used as it is; `$CERISE_API_FILES` stands for
the installed API folder. Cerise's own `$CERISE_API_FILES/cerise/cwltiny.py`
names Cerise's bundled runner, which this service replaces by its own, so
such configurations run unchanged.

With the warm runner (`jobs.warm-runner` on, `scheduler: none`, our
runner), the job script runs the warm runner's client in front of the same
arguments: it hands the job to the warm process, or runs exactly the cold
command line when that is not reachable. Locally the service runs the
server (resource/warm.py); over SSH the deployed runner's own server runs
on the resource, kept over an SSH channel (resource/remote_warm.py), and
the deployed client reaches it. Under a batch scheduler there is none: its
jobs run on compute nodes, not where a server could fork them.
"""

import dataclasses
import logging
import posixpath
import shlex
import sys
from typing import List, Optional, Sequence, Tuple, Union

from .. import __version__
from ..config import JobsConfig
from ..resource.completion_watch import bash_command
from ..resource.layout import JobPaths, ResourceLayout
from ..resource.remote_warm import FOLDER_NAME, LOG_NAME, SOCKET_NAME, RemoteWarmRunner
from ..resource.warm import CLIENT_SCRIPT, IDLE_EXIT, WarmRunner
from .runner_install import _code_fingerprint as runner_code_fingerprint
from .runner_install import argv_after_prelude, resource_python_command, runner_dir, runner_python

logger = logging.getLogger(__name__)

#: how Cerise specialisations name Cerise's own runner
CERISE_RUNNER_MARK = 'cerise/cwltiny.py'
#: the deployed runner's package (runner_install.py copies cerise_actors/runner there)
DEPLOYED_PACKAGE = 'cerise_runner'
#: the job entry point of a deployed warm server
DEPLOYED_ENTRY = f'{DEPLOYED_PACKAGE}.main:main'
#: exit status of the remote warm runner's script when the runner is not (yet) this service's
NOT_INSTALLED = 3


@dataclasses.dataclass(frozen=True)
class RunnerChoice:
    """The runner of a service: configured, or ours (local or deployed)."""

    configured: Optional[str]  # the cwl-runner setting, used as it is
    local: bool  # jobs run on this machine
    warm_socket: Optional[str] = None  # the warm runner's socket, if jobs use it
    prelude: Tuple[str, ...] = ()  # compute-resource.jobs.prelude, run before the runner

    @property
    def deployed(self) -> bool:
        """Whether the service installs its runner on the resource."""
        return self.configured is None and not self.local

    @property
    def description(self) -> str:
        """For the job log: which runner, which version."""
        if self.configured is not None:
            return f"the configured runner '{self.configured}'"
        from importlib import metadata

        where = 'this machine' if self.local else 'the resource'
        warm = ', forked from the warm runner when it is ready' if self.warm_socket else ''
        return (
            f'cerise-runner {__version__} (cwltool {metadata.version("cwltool")}, '
            f'JavaScript in a sandbox) on {where}{warm}'
        )

    def argv(self, layout: ResourceLayout, paths: JobPaths, cores: int = 0) -> List[str]:
        """argv to which the job script appends the workflow and input paths."""
        if self.configured is not None:
            text = self.configured.replace('${CERISE_API_FILES}', layout.api_dir)
            text = text.replace('$CERISE_API_FILES', layout.api_dir)
            return argv_after_prelude(self.prelude, shlex.split(text))
        if not self.local:
            return argv_after_prelude(self.prelude, self._own_argv(layout, paths, cores))
        return self._own_argv(layout, paths, cores)  # the service's own Python: no prelude

    def _own_argv(self, layout: ResourceLayout, paths: JobPaths, cores: int) -> List[str]:
        if self.local and self.warm_socket:
            # -I -S: no site-packages, the client needs only the standard library
            base = [sys.executable, '-I', '-S', CLIENT_SCRIPT, '--socket', self.warm_socket]
            base += ['--python', sys.executable, '--']
        elif self.local:
            base = [sys.executable, '-m', 'cerise_actors.runner']
        elif self.warm_socket:  # the deployed client, falling back to the deployed runner
            python, client = runner_python(layout), deployed_client_script(layout)
            base = [python, '-I', '-S', client, '--socket', self.warm_socket]
            base += ['--python', python, '--module', DEPLOYED_PACKAGE, '--']
        else:
            base = [runner_python(layout), '-m', DEPLOYED_PACKAGE]
        if cores > 0:
            base += ['--cores', str(cores)]
        base += ['--root', paths.dir, '--steps', layout.api_dir]
        return base + [
            '--disable-color',
            '--no-container',
            '--parallel',
            '--outdir',
            paths.work,
            '--tmpdir-prefix',
            f'{paths.tmp}/',
            '--tmp-outdir-prefix',
            f'{paths.tmp}/',
        ]


def choose_runner(
    configured: Optional[str], local: bool, prelude: Sequence[str] = ()
) -> RunnerChoice:
    """The runner for a `cwl-runner` setting (None or empty: ours), started
    after `prelude` (compute-resource.jobs.prelude) on the resource."""
    if configured and CERISE_RUNNER_MARK in configured:
        logger.warning(
            "cwl-runner '%s' names Cerise's bundled runner; cerise-actors runs its own "
            'runner instead, which the service installs on the compute resource',
            configured,
        )
        configured = None
    return RunnerChoice(configured or None, local, prelude=tuple(prelude))


def deployed_client_script(layout: ResourceLayout) -> str:
    """The warm client deployed with the runner (runner/warm_client.py)."""
    return posixpath.join(runner_dir(layout), DEPLOYED_PACKAGE, 'warm_client.py')


def remote_warm_script(
    layout: ResourceLayout,
    prelude: Sequence[str] = (),
    python: Optional[str] = None,
    entry: str = DEPLOYED_ENTRY,
    idle_exit: float = IDLE_EXIT,
) -> str:
    """Bash that starts the deployed warm server on the resource, over a channel.

    It starts nothing unless the deployed runner is this service's: the
    `installed` file, written last by the installer, names this code
    (a reinstall put off until running jobs end would otherwise be preceded
    by a server of the old code). It makes `<files.path>/.warm-runner` a
    private folder as the local warm runner's (created 0700 with umask 077;
    refused unless a real folder of this user, then chmod 0700), prints
    `pid $$`, runs jobs.prelude and execs the server with the channel as its
    stdin (it leaves when that closes) and its log appended beside the
    socket. `python` is the deployed runner's (default); `entry` the job's
    entry point; `idle_exit` the seconds without a job after which the server
    leaves (saying `idle`) until RemoteWarmRunner.wake, as the local one.
    """
    q = shlex.quote
    folder = posixpath.join(layout.base, FOLDER_NAME)
    installed = posixpath.join(runner_dir(layout), 'installed')
    not_installed = f"cerise: the runner in {runner_dir(layout)} is not this service's yet"
    args = ['-m', f'{DEPLOYED_PACKAGE}.warm_server', '--socket']
    args += [posixpath.join(folder, SOCKET_NAME), '--steps', layout.api_dir, '--entry', entry]
    args += ['--idle-exit', f'{idle_exit:g}']
    server = resource_python_command(prelude, 'exec', [python or runner_python(layout), *args])
    return '\n'.join(
        [
            f'if ! grep -qxF {q("runner " + runner_code_fingerprint())} {q(installed)} 2>/dev/null',
            'then',
            f'  echo {q(not_installed)} >&2',
            f'  exit {NOT_INSTALLED}',
            'fi',
            'umask 077',
            f'folder={q(folder)}',
            'mkdir -p -- "$folder" 2>/dev/null',
            'if [ -L "$folder" ] || [ ! -d "$folder" ] || [ ! -O "$folder" ]; then',
            '  echo "cerise: $folder is not a folder of this user" >&2',
            '  exit 1',
            'fi',
            'chmod 700 -- "$folder" || exit 1',
            'echo "pid $$"',  # the server's pid: exec keeps it
            f'{server} 2>>{q(posixpath.join(folder, LOG_NAME))}',
        ]
    )


def start_warm_runner(
    choice: RunnerChoice, jobs: JobsConfig, layout: ResourceLayout, resource=None
) -> Optional[Union[WarmRunner, RemoteWarmRunner]]:
    """The warm runner for jobs of our own runner with no scheduler, started:
    here for the local resource, on the resource for SSH (`resource`, the
    service's Resource, gives its connection; its server starts at
    `after_runner_install`). None where it does not apply (another runner, a
    batch scheduler) or is off (`jobs.warm-runner: false`)."""
    if choice.configured is not None or jobs.scheduler != 'none' or not jobs.warm_runner:
        return None
    if choice.local:
        return WarmRunner(layout.base, [layout.api_dir]).start()
    if resource is None or resource.pool is None or jobs.protocol != 'ssh':
        return None
    if jobs.host is None:  # the config of protocol ssh names it
        raise ValueError('jobs over SSH need a host')
    folder = posixpath.join(layout.base, FOLDER_NAME)
    return RemoteWarmRunner(
        resource.pool.get(jobs.host, jobs.port, jobs.credentials).open_session,
        bash_command(remote_warm_script(layout, jobs.prelude)),
        posixpath.join(folder, SOCKET_NAME),
        posixpath.join(folder, LOG_NAME),
        name=jobs.host,
    ).start()


def after_runner_install(warm) -> None:
    """Let a remote warm runner start, now that the deployed runner is in place."""
    if isinstance(warm, RemoteWarmRunner):
        warm.runner_installed()
