"""`local_service()`: a private cerise-actors service for a script or a notebook.

    with local_service('specialisation_examples/example/api') as service:
        job = service.create_job('hello', 'test_workflow.cwl').run()
        job.wait()

It runs `python -m cerise_actors serve` in a subprocess (the service never
runs inside the caller's process, so this module imports nothing of it),
with a configuration generated in a fresh folder: database, log, exchange
folder and the local compute resource all live there. The port is chosen
before the start (a free one unless given) because the service must be told
its own file-area URL, `http://127.0.0.1:<port>/files`, as its
`store-location-client`. On leaving the block, unfinished jobs are
cancelled (so no workflow outlives the folder it runs in), the service is
stopped with SIGTERM, and the folder is removed unless asked to keep it.

The service makes its token at start (`run/token` in the folder) and wants
it on every request; the yielded service reads it from there once the
service has started, so the caller never handles it. CERISE_AUTH is not
passed on: a private service keeps its token whatever the environment says.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, Optional, Union

from .errors import ClientError, LocalServiceError
from .job import FINAL_STATES
from .service import Service

# The service configures these from the environment over its file; the
# generated configuration must win.
_OVERRIDING_ENV = (
    'CERISE_BASE_URL',
    'CERISE_STORE_LOCATION_CLIENT',
    'CERISE_CONFIG',
    'CERISE_API_DIR',
    'CERISE_AUTH',
)
STOP_TIMEOUT = 60.0
CANCEL_TIMEOUT = 30.0


class LocalService(Service):
    """A Service started by local_service(); also knows its folder and process."""

    def __init__(self, url: str, workdir: Path, process: subprocess.Popen):
        token_file = workdir / 'run' / 'token'
        # the service writes its token before it listens, so before cerise.url
        super().__init__(url, token_file=token_file if token_file.is_file() else None)
        self.workdir = workdir
        self.process = process
        self.log_file = workdir / 'run' / 'cerise.log'
        self.exchange_dir = workdir / 'files'


def free_port(host: str = '127.0.0.1') -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _config(root: Path, host: str, port: int, log_level: str) -> dict:
    return {
        'database': {'file': str(root / 'run' / 'cerise.db')},
        'logging': {'file': str(root / 'run' / 'cerise.log'), 'level': log_level},
        'pidfile': str(root / 'run' / 'cerise.pid'),
        'client-file-exchange': {
            'store-location-service': str(root / 'files'),
            'store-location-client': f'http://{_url_host(host)}:{port}/files',
        },
        'rest-service': {'hostname': host, 'port': port},
    }


def _url_host(host: str) -> str:
    if host in ('0.0.0.0', '', '::'):
        return '127.0.0.1'
    return f'[{host}]' if ':' in host else host


def _environment() -> dict:
    env = {key: value for key, value in os.environ.items() if key not in _OVERRIDING_ENV}
    # run the same cerise_actors as this client, installed or not
    package_parent = str(Path(__file__).resolve().parents[2])
    env['PYTHONPATH'] = os.pathsep.join(
        [package_parent] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]
    )
    return env


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors='replace')
    except OSError:
        return ''
    return '\n'.join(text.strip().splitlines()[-lines:])


@contextlib.contextmanager
def local_service(
    api_dir: Union[str, 'os.PathLike[str]'],
    port: int = 0,
    *,
    host: str = '127.0.0.1',
    workdir: Optional[Union[str, Path]] = None,
    keep: bool = False,
    startup_timeout: float = 600.0,
    cancel_on_exit: bool = True,
    log_level: str = 'INFO',
    python: Optional[str] = None,
) -> Iterator[LocalService]:
    """Run a service with the specialisation in `api_dir`; yields a LocalService.

    `port` 0 picks a free port. `workdir` (default: a new temporary folder,
    removed afterwards unless `keep`) holds the configuration, database,
    log (`run/cerise.log`), exchange folder (`files/`) and, for relative
    paths in the specialisation's config.yml, the compute resource.
    `startup_timeout` covers installing the specialisation.
    """
    api = Path(api_dir).expanduser().resolve()
    if not api.is_dir():
        raise LocalServiceError(f'specialisation folder {api} not found')
    port = port or free_port(host)
    own_dir = workdir is None
    root = (
        Path(tempfile.mkdtemp(prefix='cerise-actors-'))
        if workdir is None
        else Path(workdir).expanduser().resolve()
    )
    root.mkdir(parents=True, exist_ok=True)
    config = root / 'config.yml'
    config.write_text(json.dumps(_config(root, host, port, log_level), indent=2) + '\n')
    url_file = root / 'run' / 'cerise.url'
    if url_file.exists():
        url_file.unlink()
    output = root / 'serve.out'
    process = None
    try:
        with open(output, 'wb') as out:
            process = subprocess.Popen(
                [
                    python or sys.executable,
                    '-m',
                    'cerise_actors',
                    'serve',
                    '--config',
                    str(config),
                    '--api',
                    str(api),
                ],
                cwd=root,
                env=_environment(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_started(process, url_file, output, root, startup_timeout)
        service = LocalService(_read_url(url_file), root, process)
        try:
            yield service
        finally:
            if cancel_on_exit:
                _cancel_unfinished(service)
    finally:
        if process is not None:
            _stop(process)
        if own_dir and not keep:
            shutil.rmtree(root, ignore_errors=True)


def _wait_started(
    process: subprocess.Popen, url_file: Path, output: Path, root: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while not _read_url(url_file):
        if process.poll() is not None:
            details = _tail(output) or _tail(root / 'run' / 'cerise.log')
            raise LocalServiceError(
                f'the service stopped during start-up (exit code {process.returncode}):\n{details}'
            )
        if time.monotonic() > deadline:
            raise LocalServiceError(
                f'the service did not start within {timeout:g} s; its log:\n'
                f'{_tail(root / "run" / "cerise.log")}'
            )
        time.sleep(0.1)


def _read_url(url_file: Path) -> str:
    try:
        return url_file.read_text().strip()
    except OSError:
        return ''


def _cancel_unfinished(service: Service) -> None:
    try:
        jobs = [job for job in service.list_jobs() if job.data.get('state') not in FINAL_STATES]
        for job in jobs:
            job.cancel()
        deadline = time.monotonic() + CANCEL_TIMEOUT
        for job in jobs:
            job.wait(timeout=max(deadline - time.monotonic(), 0.1))
    except ClientError:
        pass  # stopping matters more; the service cancels nothing by itself


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)
