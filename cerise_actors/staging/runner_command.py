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

With the warm runner (resource/warm.py; local resource, `scheduler: none`,
our runner, `jobs.warm-runner` on), the job script runs the warm runner's
client in front of the same arguments: it hands the job to the warm
process, or runs exactly the cold command line when that is not reachable.
"""

import dataclasses
import logging
import shlex
import sys
from typing import List, Optional, Sequence, Tuple

from .. import __version__
from ..config import JobsConfig
from ..resource.layout import JobPaths, ResourceLayout
from ..resource.warm import CLIENT_SCRIPT, WarmRunner
from .runner_install import argv_after_prelude, runner_python

logger = logging.getLogger(__name__)

#: how Cerise specialisations name Cerise's own runner
CERISE_RUNNER_MARK = 'cerise/cwltiny.py'


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
        else:
            base = [runner_python(layout), '-m', 'cerise_runner']
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


def start_warm_runner(
    choice: RunnerChoice, jobs: JobsConfig, layout: ResourceLayout
) -> Optional[WarmRunner]:
    """The warm runner for local jobs of our own runner, started; None where
    it does not apply (another runner, a remote or batch resource) or is off."""
    if not (choice.local and choice.configured is None and jobs.scheduler == 'none'):
        return None
    if not jobs.warm_runner:
        return None
    return WarmRunner(layout.base, [layout.api_dir]).start()
