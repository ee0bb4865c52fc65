"""Fixtures for tests against the real test bed (sshd, Slurm, Torque wrappers, Grid Engine).

The test bed is started by `testbed/testbed.sh start`, which writes env.sh
into its state folder ($CERISE_TESTBED, default /tmp/cerise-testbed). In CI
(CI=true) a missing test bed fails these tests; elsewhere they are skipped
with a message saying how to start it. They are never skipped silently.
"""

import os
import shlex
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from cerise_actors.app import running_service
from cerise_actors.config import api_config_from_dict, service_config_from_dict

from ..helpers import TEST_API_DIR, Client
from ..service_setup import service_config_dict

STATE_DIR = Path(os.environ.get('CERISE_TESTBED', '/tmp/cerise-testbed'))
SCHEDULERS = ('none', 'slurm', 'torque', 'gridengine')
#: scheduler option that submits a job on hold, so it stays queued
HOLD_OPTION = {'slurm': '--hold', 'gridengine': '-h', 'torque': '-h'}


def _read_env(path: Path) -> dict:
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith('export '):
            key, _, value = line[len('export ') :].partition('=')
            env[key] = shlex.split(value)[0] if value else ''
    return env


@pytest.fixture(scope='session')
def testbed():
    env_file = STATE_DIR / 'env.sh'
    problem = None
    if not env_file.exists():
        problem = f'{env_file} is missing'
    else:
        bed = Testbed(_read_env(env_file))
        try:
            socket.create_connection(('127.0.0.1', bed.port), timeout=5).close()
        except OSError as exc:
            problem = f'its sshd does not answer on port {bed.port} ({exc})'
    if problem:
        message = (
            f'the remote test bed is not running: {problem}; start it with '
            f'`testbed/testbed.sh install && testbed/testbed.sh start` (as root)'
        )
        if os.environ.get('CI'):
            pytest.fail(message)
        pytest.skip(message)
    return bed


class Testbed:
    def __init__(self, env: dict):
        self.env = env
        self.port = int(env['CERISE_TESTBED_SSH_PORT'])
        self.known_hosts = env['CERISE_TESTBED_KNOWN_HOSTS']
        self.key = env['CERISE_TESTBED_KEY']

    def user_for(self, scheduler: str) -> str:
        return self.env[
            'CERISE_TESTBED_TORQUE_USER' if scheduler == 'torque' else 'CERISE_TESTBED_USER'
        ]

    @property
    def bare_user(self) -> str:
        """A user whose PATH has python3 and bash, but no cwltool and no node."""
        return self.env['CERISE_TESTBED_BARE_USER']

    def api_config(
        self,
        scheduler,
        base,
        credentials=None,
        extra_options=None,
        ssh=None,
        max_running=None,
        contact_timeout=600,
        user=None,
        cwl_runner='cwltool',
    ):
        """The API config of a resource on the test bed. The test users' PATH
        has cwltool, which most tests use as `cwl-runner`; with `cwl_runner=None`
        the service deploys its own runner."""
        user = user or self.user_for(scheduler)
        credentials = credentials or {'username': user, 'certfile': self.key}
        jobs = {
            'protocol': 'ssh',
            'location': f'127.0.0.1:{self.port}',
            'scheduler': scheduler,
            'cores-per-node': 2,
        }
        if cwl_runner:
            jobs['cwl-runner'] = cwl_runner
        if extra_options:
            jobs['scheduler-options'] = extra_options
        if max_running:
            jobs['max-running'] = max_running
        return api_config_from_dict(
            {
                'compute-resource': {
                    'credentials': credentials,
                    'files': {
                        'protocol': 'sftp',
                        'location': f'127.0.0.1:{self.port}',
                        'path': base,
                    },
                    'jobs': jobs,
                    'ssh': ssh
                    or {'known-hosts': self.known_hosts, 'timeout': 10, 'command-timeout': 60},
                    'refresh': 0.5,
                    'contact-timeout': contact_timeout,
                }
            },
            env={},
        )

    def ssh(self, scheduler: str, command: str, check=True, user=None) -> str:
        """Run `command` as the scheduler's test user (or `user`) with the system ssh client."""
        result = subprocess.run(
            [
                'ssh',
                '-i',
                self.key,
                '-p',
                str(self.port),
                '-o',
                'BatchMode=yes',
                '-o',
                f'UserKnownHostsFile={self.known_hosts}',
                f'{user or self.user_for(scheduler)}@127.0.0.1',
                command,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f'{command}: {result.stderr}')
        return result.stdout


class RemoteService:
    """A service in this process whose jobs run on the test bed."""

    def __init__(self, testbed, scheduler, root, **options):
        self.testbed = testbed
        self.scheduler = scheduler
        self.root = root
        user = options.get('user') or testbed.user_for(scheduler)
        self.base = f'/home/{user}/.cerise-tests/{uuid.uuid4().hex[:12]}'
        self.config = service_config_from_dict(service_config_dict(root), env={})
        self.api_config = testbed.api_config(scheduler, self.base, **options)
        self._context = None

    def start(self):
        self._context = running_service(self.config, TEST_API_DIR, api_config=self.api_config)
        self.service = self._context.__enter__()
        self.client = Client(self.service.base_url, self.config.exchange_service_dir)
        return self

    def stop(self):
        if self._context is not None:
            self._context.__exit__(None, None, None)
            self._context = None

    def remote_processes(self, text: str) -> str:
        """Command lines of the test user's processes containing `text`."""
        pattern = f'[{text[0]}]{text[1:]}'  # so pgrep's own command line does not match
        return self.testbed.ssh(self.scheduler, f'pgrep -af {shlex.quote(pattern)} || true')

    def cleanup(self):
        self.stop()
        user = self.api_config.jobs.credentials.username
        self.testbed.ssh(self.scheduler, f'rm -rf {shlex.quote(self.base)}', check=False, user=user)


@pytest.fixture(params=SCHEDULERS)
def scheduler(request):
    return request.param


@pytest.fixture
def remote(testbed, scheduler, tmp_path):
    """A started service on the test bed, for the parametrised scheduler."""
    service = RemoteService(testbed, scheduler, tmp_path).start()
    yield service
    service.cleanup()


@pytest.fixture
def make_remote(testbed, tmp_path):
    made = []

    def make(scheduler, **options):
        root = tmp_path / f'svc{len(made)}'
        root.mkdir()
        service = RemoteService(testbed, scheduler, root, **options)
        made.append(service)
        return service

    yield make
    for service in made:
        service.cleanup()
