"""The soak's service: one folder and one fixed port, its counting runner, HTTP.

`Service` starts `python -m cerise_actors serve` from this checkout in a
folder of its own, kills it with -9 and starts it again on the same port.
Its `cwl-runner` is this file run as `--as-runner`: it appends the job's id
to a log (so runs can be counted), takes a little while, and answers like
benchmarks/fast_runner.py. Only the standard library is imported at the top,
because the runner mode runs under `python -I -S`. Used by soak.py and
memory_benchmark.py.
"""

import collections
import http.client
import json
import os
import random
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKFLOW = (
    'cwlVersion: v1.0\nclass: Workflow\ninputs: []\noutputs: {}\n'
    'steps:\n  s: {run: cerise/test/hostname.cwl, in: [], out: []}\n'
)
REQUEST_TIMEOUT = 10.0  # a request that takes longer counts as a connection error
START_TIMEOUT = 45.0  # kill to answering again; beyond it the soak stops early


# --- the runner ---------------------------------------------------------


def run_as_runner(log: str, argv) -> int:
    """Append the job's id to `log`, take a little while, answer like cwltool.

    The job id is the name of the folder that holds the staged workflow
    (`<files.path>/jobs/<id>/workflow.cwl`). One short O_APPEND write per
    run, so lines from runs at the same moment never mix.
    """
    job_id = os.path.basename(os.path.dirname(os.path.abspath(argv[-2])))
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f'{job_id} {os.getpid()} {time.time():.3f}\n'.encode())
    finally:
        os.close(fd)
    time.sleep(random.uniform(0.2, 1.5))  # so that kills and cancels meet running jobs
    sys.path.insert(0, str(HERE))
    import fast_runner

    return fast_runner.main()


# --- the service --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class Service:
    """One service folder and one fixed port, so clients keep their URL across restarts."""

    def __init__(self, root: Path, max_running: int):
        self.root = root
        self.port = free_port()
        self.runs_log = root / 'runs.log'
        self.url_file = root / 'run' / 'cerise.url'
        runner = [sys.executable, '-I', '-S', str(Path(__file__).resolve())]  # this file
        runner += ['--as-runner', str(self.runs_log)]
        api = root / 'api'
        api.mkdir(parents=True)
        # JSON is YAML, and this script imports nothing outside the standard library
        (api / 'config.yml').write_text(
            json.dumps(
                {
                    'compute-resource': {
                        'files': {'protocol': 'local', 'path': str(root / 'resource')},
                        'jobs': {
                            'protocol': 'local',
                            'cwl-runner': shlex.join(runner),
                            'max-running': max_running,
                        },
                        'refresh': 0.5,
                    }
                }
            )
        )
        (root / 'config.yml').write_text(
            json.dumps(
                {
                    'database': {'file': 'run/cerise.db'},
                    'logging': {'file': 'run/cerise.log', 'level': 'WARNING'},
                    'pidfile': 'run/cerise.pid',
                    'client-file-exchange': {'store-location-service': 'run/files'},
                    # robustness and memory under load, not authentication
                    # (benchmarks/auth_benchmark.py compares that side by side)
                    'rest-service': {'hostname': '127.0.0.1', 'port': self.port, 'auth': 'none'},
                }
            )
        )
        workflow = root / 'run' / 'files' / 'input' / 'soak' / 'soak.cwl'
        workflow.parent.mkdir(parents=True)
        workflow.write_text(WORKFLOW)
        self.body = json.dumps({'name': 'soak', 'workflow': workflow.as_uri()}).encode()
        self.proc = None
        self.starts = 0

    def start(self, timeout: float = START_TIMEOUT) -> float:
        """Start the process and wait until GET /jobs answers 200; returns seconds taken."""
        started = time.monotonic()
        out = open(self.root / f'serve-{self.starts}.out', 'wb')
        self.starts += 1
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'cerise_actors', 'serve', '--config', 'config.yml']
            + ['--api', 'api'],
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # the checkout this script is in, whatever is installed
            env=dict(
                os.environ,
                PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get('PYTHONPATH')])),
            ),
        )
        out.close()
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise SystemExit(f'the service exited with {self.proc.returncode}; see {self.root}')
            if self.url_file.exists() and request(self.port, 'GET', '/jobs', timeout=5)[0] == 200:
                return time.monotonic() - started
            time.sleep(0.05)
        raise SystemExit(f'the service did not answer within {timeout:g} s; see {self.root}')

    def kill(self) -> None:
        self.proc.kill()  # the process only: jobs it started keep running, as in a crash
        self.proc.wait(30)

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def runs(self) -> collections.Counter:
        if not self.runs_log.exists():
            return collections.Counter()
        lines = self.runs_log.read_text().splitlines()
        return collections.Counter(line.split()[0] for line in lines if line.strip())


def request(port: int, method: str, path: str, body: bytes = None, timeout=REQUEST_TIMEOUT):
    """(status, body bytes) of one request on a new connection; (None, error) if none came."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        headers = {'Content-Type': 'application/json'} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    except (OSError, http.client.HTTPException) as exc:
        return None, repr(exc).encode()
    finally:
        conn.close()


if __name__ == '__main__' and len(sys.argv) > 2 and sys.argv[1] == '--as-runner':
    sys.exit(run_as_runner(sys.argv[2], sys.argv[3:]))
