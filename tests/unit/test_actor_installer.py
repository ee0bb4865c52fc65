"""ApiInstallerActor: installs what is missing or outdated, then opens the runner's gate.

Projects are small folders under tmp_path, installed with the real local
file system; install.sh runs in a FakeShell. The runner is a recording
stand-in, except in the last test, where a real RunnerActor holds a job
until the reinstall is done.
"""

from pathlib import Path

import pytest

from cerise_actors.actors.installer import ApiInstallerActor
from cerise_actors.actors.runner import RunnerActor
from cerise_actors.errors import ApiInstallError
from cerise_actors.jobs.states import JobState as S
from cerise_actors.resource.filesystem import LocalFileSystem
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.shell import ShellResult
from cerise_actors.store.actor import LEFT_RESOURCE

from ..fakes import FakePoller, FakeRunner, FakeShell, ScriptedScheduler
from ..helpers import wait_for
from .actor_fixtures import ask, new_job, wait_log

STEP = 'cwlVersion: v1.0\nclass: CommandLineTool\nbaseCommand: $CERISE_PROJECT_FILES/run.sh\n'


def make_project(root: Path, name: str, version: str, install_sh=True) -> Path:
    project = root / 'api' / name
    (project / 'steps' / name).mkdir(parents=True)
    (project / 'steps' / name / 'run.cwl').write_text(STEP)
    (project / 'files').mkdir()
    (project / 'files' / 'run.sh').write_text('echo hi\n')
    (project / 'version').write_text(version + '\n')
    if install_sh:
        (project / 'install.sh').write_text('echo installing\n')
    return project


@pytest.fixture
def layout(tmp_path):
    return ResourceLayout(str(tmp_path / 'resource'))


def installed(layout, name):
    """The version installed on the resource, or None."""
    path = Path(layout.project_dir(name), 'version')
    return path.read_text().strip() if path.exists() else None


def start(layout, projects, runner, shell=None, **options):
    shell = shell or FakeShell()
    proxy = ApiInstallerActor.start(
        LocalFileSystem(), shell, layout, projects, runner, **options
    ).proxy()
    return proxy, shell


class RunnerInstallerStandIn:
    """Stands in for staging.runner_install.RunnerInstaller: says whether the
    service's runner must be deployed, and counts deployments."""

    def __init__(self, outdated):
        self.outdated = outdated
        self.installs = 0

    def needs_install(self):
        return self.outdated

    def install(self):
        self.installs += 1
        self.outdated = False
        return 'installed cerise-runner'


def test_an_up_to_date_specialisation_opens_the_gate_without_installing(tmp_path, layout):
    projects = {'p': make_project(tmp_path, 'p', '1.0.0')}
    Path(layout.project_dir('p')).mkdir(parents=True)
    Path(layout.project_dir('p'), 'version').write_text('1.0.0\n')
    runner = FakeRunner()
    installer, shell = start(layout, projects, runner)
    assert ask(installer.start_up(0)) == 'specialisation up to date: p 1.0.0'
    assert runner.calls == [('api_ready',)]
    assert shell.commands == [] and not Path(layout.project_dir('p'), 'steps').exists()


def test_an_outdated_project_is_installed_at_once_when_no_job_runs(tmp_path, layout):
    projects = {
        'p': make_project(tmp_path, 'p', '2.0.0'),
        'q': make_project(tmp_path, 'q', '1.0.0', install_sh=False),
    }
    Path(layout.project_dir('q')).mkdir(parents=True)
    Path(layout.project_dir('q'), 'version').write_text('1.0.0\n')
    runner = FakeRunner()
    installer, shell = start(layout, projects, runner, FakeShell(ShellResult(0, 'built\n', '')))
    assert ask(installer.start_up(0)) == 'installed p 2.0.0'
    assert runner.calls == [('api_ready',)]
    assert installed(layout, 'p') == '2.0.0' and installed(layout, 'q') == '1.0.0'
    step = Path(layout.project_dir('p'), 'steps', 'p', 'run.cwl').read_text()
    assert f'{layout.project_files_dir("p")}/run.sh' in step
    assert Path(layout.jobs_dir).is_dir()
    [command] = shell.commands
    assert f'CERISE_PROJECT_FILES={layout.project_files_dir("p")}' in command
    assert command.endswith(f'bash {layout.project_dir("p")}/install.sh')


@pytest.mark.parametrize('runner_outdated', [False, True])
def test_the_services_own_runner_is_deployed_with_the_projects(tmp_path, layout, runner_outdated):
    projects = {'p': make_project(tmp_path, 'p', '2.0.0')}
    deploy = RunnerInstallerStandIn(runner_outdated)
    runner = FakeRunner()
    installer, _ = start(layout, projects, runner, runner_installer=deploy)
    message = ask(installer.start_up(0))
    if runner_outdated:
        assert message == 'installed the CWL runner, p 2.0.0'
    else:
        assert message == 'installed p 2.0.0'
    assert deploy.installs == int(runner_outdated) and installed(layout, 'p') == '2.0.0'
    assert runner.calls == [('api_ready',)]
    assert ask(installer.outdated_projects()) == []


def test_a_reinstall_waits_for_running_jobs_through_the_runner(tmp_path, layout):
    projects = {'p': make_project(tmp_path, 'p', '0.1.0.dev')}
    runner = FakeRunner()
    installer, shell = start(layout, projects, runner)
    message = ask(installer.start_up(2))
    assert message == 'will reinstall p once the 2 running job(s) are done'
    assert runner.calls == [('install_when_idle',)]
    assert installed(layout, 'p') is None and shell.commands == []

    runner.pending_install()  # the runner: no job of ours runs any more
    wait_for(lambda: runner.calls[-1] == ('api_ready',), message='the gate to open')
    assert installed(layout, 'p') == '0.1.0.dev' and len(shell.commands) == 1


def test_a_failed_deferred_install_closes_the_gate(tmp_path, layout):
    projects = {'p': make_project(tmp_path, 'p', '1.0.0.dev')}
    runner = FakeRunner()
    shell = FakeShell(ShellResult(1, '', 'compiler missing\n'))
    installer, _ = start(layout, projects, runner, shell)
    ask(installer.start_up(1))
    runner.pending_install()
    wait_for(lambda: len(runner.calls) == 2, message='the runner to be told')
    name, message = runner.calls[1]
    assert name == 'api_failed'
    assert message == "install.sh of project 'p' failed with exit code 1: compiler missing"
    assert installed(layout, 'p') is None


def test_a_failed_install_at_start_up_refuses_to_start(tmp_path, layout):
    projects = {'p': make_project(tmp_path, 'p', '1.0.0')}
    runner = FakeRunner()
    installer, _ = start(layout, projects, runner, FakeShell(ShellResult(2, 'no make', '')))
    with pytest.raises(ApiInstallError, match='exit code 2: no make'):
        ask(installer.start_up(0))
    assert runner.calls == [] and installed(layout, 'p') is None


def test_a_real_runner_holds_new_jobs_until_the_reinstall_is_done(tmp_path, layout, store):
    scheduler, poller = ScriptedScheduler(), FakePoller()
    fs = LocalFileSystem()
    runner = RunnerActor.start(
        store, scheduler, fs, layout, lambda paths, cores=0: ['cwltool'], None, poller
    ).proxy()
    ask(store.subscribe(LEFT_RESOURCE, runner.job_ended))
    running = new_job(store, S.STAGING_IN, S.WAITING, remote_job_id='7:7')
    ask(runner.adopt(running))  # found on the resource at start-up
    installer, shell = start(layout, {'p': make_project(tmp_path, 'p', '1.0.0.dev')}, runner)
    ask(installer.start_up(1))

    held = new_job(store, S.STAGING_IN, S.WAITING)
    fs.mkdir(layout.job(held).dir)
    ask(runner.enqueue(held))
    wait_log(store, held, 'Waiting for the specialisation to be installed')
    assert installed(layout, 'p') is None and scheduler.submits == []

    assert ask(store.transition(running, S.WAITING, S.FINISHED, exit_code=0))
    wait_for(lambda: scheduler.submitted_ids == [held], message='the held job to start')
    assert installed(layout, 'p') == '1.0.0.dev' and len(shell.commands) == 1
