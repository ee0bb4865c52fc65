"""ApiInstallerActor: installs the specialisation and opens the runner's gate.

On start it compares each project's local version with the installed one
and installs what is missing or older (`.dev` versions always). A `.dev`
reinstall while jobs of ours still run waits until they are done, as the
spec says, so a running job never sees its steps change under it.
"""

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, cast

from ..resource.filesystem import FileSystem
from ..resource.layout import ResourceLayout
from ..resource.shell import Shell
from ..staging import api_install
from ..staging.runner_install import RunnerInstaller
from ..store.mailbox import LeanActor
from .base import WorkerMetrics

if TYPE_CHECKING:  # proxies.py imports this module
    from .proxies import ApiInstallerProxy, RunnerProxy

logger = logging.getLogger(__name__)

#: in the list of things to install: the service's own CWL runner
RUNNER = 'the CWL runner'


class ApiInstallerActor(LeanActor):
    #: a stuck call (a hung transfer or command) must not keep the process alive
    use_daemon_thread = True

    def __init__(
        self,
        fs: FileSystem,
        shell: Shell,
        layout: ResourceLayout,
        projects: Dict[str, Path],
        runner_proxy: 'RunnerProxy',
        runner_installer: Optional[RunnerInstaller] = None,
        metrics: Optional[WorkerMetrics] = None,
    ) -> None:
        """`runner_installer` deploys the service's CWL runner, where it is used;
        `metrics` (app/metrics.py, or None) counts what is deployed."""
        super().__init__()
        self._metrics = metrics
        self._fs = fs
        self._shell = shell
        self._layout = layout
        self._projects = projects
        self._runner = runner_proxy
        self._runner_installer = runner_installer

    def outdated_projects(self) -> List[str]:
        outdated: List[str] = []
        if self._runner_installer is not None and self._runner_installer.needs_install():
            outdated.append(RUNNER)
        for name, local_dir in self._projects.items():
            local = api_install.read_version(local_dir)
            remote = api_install.remote_version(self._fs, self._layout, name)
            if api_install.needs_install(local, remote):
                outdated.append(name)
            else:
                self._warn_if_changed(name, local_dir, local)
        return outdated

    def _warn_if_changed(self, name: str, local_dir: Path, version: str) -> None:
        """One warning for a project edited without raising its version: its
        installed copy, not the edited one, is what runs."""
        changed = api_install.changed_since_install(self._fs, self._layout, name, local_dir)
        if changed:
            logger.warning(
                'project %s %s: %s changed since it was installed with the same version, so '
                'the installed copy runs, not the changed one; raise the version in %s (or '
                'make it a .dev version, installed again at every start) to install the change',
                name,
                version,
                ', '.join(changed),
                local_dir / 'version',
            )

    def start_up(self, jobs_running: int) -> str:
        """Install what is needed now, or once running jobs are done.

        Returns a sentence for the service log. Raises ApiInstallError if
        the installation fails, so that `serve` can refuse to start.
        """
        outdated = self.outdated_projects()
        if not outdated:
            self._runner.api_ready()
            runner = ', and the CWL runner' if self._runner_installer is not None else ''
            return 'specialisation up to date: ' + self._describe() + runner
        if jobs_running:
            me = cast('ApiInstallerProxy', self.actor_ref.proxy())  # see proxies.py
            self._runner.install_when_idle(lambda: me.install_now(outdated))
            return (
                f'will reinstall {", ".join(outdated)} once the {jobs_running} '
                f'running job(s) are done'
            )
        self._install(outdated)
        self._runner.api_ready()
        return 'installed ' + self._describe(outdated)

    def install_now(self, projects: List[str]) -> None:
        """Deferred (re)installation; failures close the runner's gate."""
        try:
            self._install(projects)
        except Exception as exc:
            logger.exception('installing the specialisation failed')
            self._runner.api_failed(str(exc))
            return
        self._runner.api_ready()

    def _install(self, projects: List[str]) -> None:
        self._fs.mkdir(self._layout.jobs_dir)
        for name in projects:
            if name == RUNNER:
                installer = self._runner_installer
                if installer is None:  # listed only by outdated_projects, which has one
                    raise ValueError('there is no CWL runner of ours to install here')
                logger.info('%s', installer.install())
                self._deployed('runner')
                continue
            output = api_install.install_project(
                self._fs, self._shell, self._layout, name, self._projects[name]
            )
            self._deployed('project')
            logger.info(
                'installed project %s %s at %s%s',
                name,
                api_install.read_version(self._projects[name]),
                self._layout.project_dir(name),
                f'; install.sh said: {output}' if output else '',
            )

    def _deployed(self, what: str) -> None:
        if self._metrics is not None:
            self._metrics.deployed(what)

    def _describe(self, names: Optional[List[str]] = None) -> str:
        names = names or list(self._projects)
        return ', '.join(
            n if n == RUNNER else f'{n} {api_install.read_version(self._projects[n])}'
            for n in names
        )
