"""What users feel: submission rate, added latency, burst, store scale, memory.

Starts the service as a user would (`python -m cerise_actors serve`, real HTTP
on loopback, SQLite on disk, local resource) with benchmarks/fast_runner.py as
the CWL runner (through the normal `cwl-runner` setting), prints a table and
writes JSON. Sizes default to the issue's; smaller ones give a quick look:

    python benchmarks/service_benchmark.py [--submissions 2000] [--burst 1000]
                                          [--store-jobs 10000] [--out service.json]

With `--against OTHER_CHECKOUT` it prints instead the service's own cost
beside that checkout's, in one run (issue 21, item 4: benchmarks/service_cost.py).
"""

import argparse
import concurrent.futures as cf
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import service_cost
import yaml
from runner_figures import runner_figures
from service_table import runner_table, table
from wes_figures import wes_figures

REPO = Path(__file__).resolve().parent.parent
FAST_RUNNER = REPO / 'benchmarks' / 'fast_runner.py'
WORKFLOW = (
    'cwlVersion: v1.0\nclass: Workflow\ninputs: []\noutputs: {}\n'
    'steps:\n  s: {run: cerise/test/hostname.cwl, in: [], out: []}\n'
)
#: -I -S: no site-packages or user site, so Python starts in about 10 ms
RUNNER_ARGV = [sys.executable, '-I', '-S', str(FAST_RUNNER)]
FINAL = {'Success', 'Cancelled', 'PermanentFailure', 'TemporaryFailure', 'SystemError'}


class _TokenConnection(http.client.HTTPConnection):
    """An HTTP connection that sends `token` with every request, as clients do."""

    def __init__(self, *args, token: Optional[str] = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._token = token

    def request(self, method, url, body=None, headers=None, **kwargs):
        headers = dict(headers or {})
        if self._token:
            headers['Authorization'] = f'Bearer {self._token}'
        super().request(method, url, body, headers, **kwargs)


class Service:
    def __init__(
        self,
        root: Path,
        runner: Optional[str],
        warm_runner: Optional[bool] = None,
        auth: str = 'token',
        users: Optional[Path] = None,
        repo: Path = REPO,
    ):
        """`runner`: the `cwl-runner` setting; None for the default, cwltool.
        `warm_runner`: the `jobs.warm-runner` setting; None for the default.
        `auth`, `users`: rest-service.auth and .users (default: a token, as
        a default install); every request sends the token (`self.token`,
        set for `users` by the caller). `repo`: the checkout whose service
        is started (another one's for --against)."""
        self.root = root
        self.repo = repo
        # a checkout from before users (issue 19) knows no auth or per-user limit
        legacy = not (repo / 'cerise_actors' / 'auth').is_dir()
        self.auth = auth
        self.token: Optional[str] = None
        rest = {'hostname': '127.0.0.1', 'port': 0}
        if not legacy:
            rest['auth'] = auth
        if users is not None:
            rest['users'] = str(users)
        jobs = {'protocol': 'local'}
        if runner:
            jobs['cwl-runner'] = runner
        if warm_runner is not None:
            jobs['warm-runner'] = warm_runner
        (root / 'api').mkdir(parents=True, exist_ok=True)
        (root / 'api' / 'config.yml').write_text(
            yaml.safe_dump(
                {
                    'compute-resource': {
                        'files': {'protocol': 'local', 'path': str(root / 'resource')},
                        'jobs': jobs,
                        'refresh': 1,
                    }
                }
            )
        )
        (root / 'config.yml').write_text(
            yaml.safe_dump(
                {
                    'database': {'file': str(root / 'cerise.db')},
                    'logging': {'file': str(root / 'cerise.log'), 'level': 'WARNING'},
                    'pidfile': str(root / 'cerise.pid'),
                    'client-file-exchange': {'store-location-service': str(root / 'files')},
                    'rest-service': rest,
                    # the benchmarks submit thousands of jobs as one user
                    **({} if legacy else {'limits': {'active-jobs-per-user': 1_000_000}}),
                }
            )
        )
        (root / 'files' / 'input').mkdir(parents=True, exist_ok=True)
        self.workflow = root / 'files' / 'input' / 'bench.cwl'
        self.workflow.write_text(WORKFLOW)

    def start(self) -> float:
        url_file = self.root / 'cerise.url'
        if url_file.exists():
            url_file.unlink()
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                '-m',
                'cerise_actors',
                'serve',
                '--config',
                str(self.root / 'config.yml'),
                '--api',
                str(self.root / 'api'),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.repo,
            env=dict(os.environ, PYTHONPATH=str(self.repo)),
        )
        while not url_file.exists():
            if self.proc.poll() is not None:
                raise SystemExit(f'the service did not start; see {self.root}/cerise.log')
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        host, port = url_file.read_text().strip().rsplit(':', 1)
        self.port = int(port)
        if self.auth == 'token' and self.token is None:
            token_file = self.root / 'token'
            if token_file.exists():  # not with a users file
                self.token = token_file.read_text().strip()
        return elapsed

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)

    def rss_mib(self) -> float:
        with open(f'/proc/{self.proc.pid}/status') as status:
            for line in status:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024
        return float('nan')

    def cpu_seconds(self) -> float:
        with open(f'/proc/{self.proc.pid}/stat') as stat:
            fields = stat.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def connection(self):
        return _TokenConnection('127.0.0.1', self.port, timeout=60, token=self.token)

    def body(self) -> bytes:
        return json.dumps({'name': 'bench', 'workflow': self.workflow.as_uri()}).encode()


def _request(conn, method, path, body=None):
    conn.request(method, path, body=body, headers={'Content-Type': 'application/json'})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, data


def submit_many(service, count, threads=8):
    """(ids, latencies in s, errors) for `count` POSTs from `threads` clients."""

    def worker(n):
        conn = service.connection()
        out = []
        for _ in range(n):
            start = time.perf_counter()
            status, data = _request(conn, 'POST', '/jobs', service.body())
            out.append(
                (
                    status,
                    time.perf_counter() - start,
                    json.loads(data)['id'] if status == 201 else None,
                )
            )
        conn.close()
        return out

    shares = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
    with cf.ThreadPoolExecutor(threads) as pool:
        results = [r for part in pool.map(worker, shares) for r in part]
    ids = [r[2] for r in results if r[2]]
    return ids, [r[1] for r in results], sum(1 for r in results if r[0] != 201)


def wait_all_final(service, ids, timeout=900, interval=0.2):
    """Poll GET /jobs every `interval` s (as a client would) until all `ids` are final."""
    conn = service.connection()
    deadline = time.monotonic() + timeout
    pending = set(ids)
    states = {}
    while pending and time.monotonic() < deadline:
        status, data = _request(conn, 'GET', '/jobs')
        for job in json.loads(data):
            if job['id'] in pending and job['state'] in FINAL:
                pending.discard(job['id'])
                states[job['id']] = job['state']
        if pending:
            time.sleep(interval)
    return states, pending


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float('nan')


def run_one(conn, service):
    """(seconds from POST to a final state, job id) of one job, watched closely."""
    start = time.perf_counter()
    status, data = _request(conn, 'POST', '/jobs', service.body())
    job_id = json.loads(data)['id']
    while True:
        status, data = _request(conn, 'GET', f'/jobs/{job_id}')
        state = json.loads(data)['state']
        if state in FINAL:
            break
        time.sleep(0.002)
    if state != 'Success':
        raise SystemExit(f'job {job_id} ended {state}; see {service.root}')
    return time.perf_counter() - start, job_id


def added_latency(service, runs=20):
    runner = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            RUNNER_ARGV + [str(service.workflow), str(service.workflow)], capture_output=True
        )
        runner.append(time.perf_counter() - start)
    conn = service.connection()
    totals = [run_one(conn, service)[0] for _ in range(runs)]
    base = statistics.median(runner)
    added = [t - base for t in totals]
    return {
        'runner_median_s': base,
        'added_median_s': statistics.median(added),
        'added_p90_s': percentile(added, 0.9),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--submissions', type=int, default=2000)
    parser.add_argument('--burst', type=int, default=1000)
    parser.add_argument('--store-jobs', type=int, default=10000)
    parser.add_argument(
        '--cwltool-jobs',
        type=int,
        default=50,
        help='jobs at once with cwltool as the runner, cold and warm (0: skip cwltool)',
    )
    parser.add_argument(
        '--runner-only',
        action='store_true',
        help='only the runner figures: cwltool alone, cold and warm runner (about a minute)',
    )
    parser.add_argument(
        '--wes-submissions', type=int, default=500, help='runs posted through WES (0: skip)'
    )
    parser.add_argument('--out', default='service-benchmark.json')
    parser.add_argument('--against', type=Path, help='another checkout: its cost beside ours')
    parser.add_argument('--drain', type=int, default=2000, help='jobs of each drain (--against)')
    parser.add_argument('--rounds', type=int, default=2, help='rounds of 4 drains (--against)')
    parser.add_argument(
        '--idle-wait', type=float, default=330, help='seconds unused before idle memory (--against)'
    )
    args = parser.parse_args()
    if args.against:
        result = service_cost.compare(
            sys.modules[__name__], args.against, args.drain, args.rounds, args.idle_wait
        )
        Path(args.out).write_text(json.dumps(result, indent=2))
        print(service_cost.table(result))
        print(f'(all figures in {args.out})')
        return
    if args.runner_only:
        results = {'runner': runner_figures(sys.modules[__name__], args.cwltool_jobs)}
        Path(args.out).write_text(json.dumps(results, indent=2))
        print(runner_table(results['runner']))
        print(f'(all figures in {args.out})')
        return
    root = Path(tempfile.mkdtemp(prefix='cerise-bench-'))
    service = Service(root, ' '.join(RUNNER_ARGV))
    results = {}
    try:
        results['startup_empty_s'] = service.start()
        time.sleep(1)
        results['rss_idle_mib'] = service.rss_mib()
        ids, latencies, errors = submit_many(service, args.submissions)
        wall = sum(latencies) / 8
        states, pending = wait_all_final(service, ids)
        results['submission'] = {
            'count': args.submissions,
            'per_s': args.submissions / max(wall, 1e-9),
            'p50_ms': percentile(latencies, 0.5) * 1e3,
            'p99_ms': percentile(latencies, 0.99) * 1e3,
            'errors': errors,
            'lost': len(pending) + sum(1 for s in states.values() if s != 'Success'),
        }
        results['latency'] = added_latency(service)
        if args.wes_submissions:  # the same through GA4GH WES (benchmarks/wes_figures.py)
            runner_s = results['latency']['runner_median_s']
            results['wes'] = wes_figures(service, args.wes_submissions, runner_s)
        cpu_before = service.cpu_seconds()
        start = time.perf_counter()
        ids, _, errors = submit_many(service, args.burst)
        states, pending = wait_all_final(service, ids)
        results['burst'] = {
            'count': args.burst,
            'seconds': time.perf_counter() - start,
            'all_success': not pending and all(s == 'Success' for s in states.values()),
            'cpu_ms_per_job': (service.cpu_seconds() - cpu_before) / args.burst * 1e3,
        }
        done = args.submissions + args.burst + 20
        if args.store_jobs > done:
            ids, _, _ = submit_many(service, args.store_jobs - done)
            wait_all_final(service, ids, timeout=3600)
        results['rss_after_jobs_mib'] = service.rss_mib()
        service.stop()
        results['startup_with_jobs_s'] = service.start()
        conn = service.connection()
        status, data = _request(conn, 'GET', '/jobs')
        all_ids = [job['id'] for job in json.loads(data)]
        start = time.perf_counter()
        _request(conn, 'GET', '/jobs')
        list_s = time.perf_counter() - start
        gets = []
        for job_id in all_ids[:: max(1, len(all_ids) // 1000)]:
            start = time.perf_counter()
            _request(conn, 'GET', f'/jobs/{job_id}')
            gets.append(time.perf_counter() - start)
        results['store'] = {
            'jobs': len(all_ids),
            'get_p50_ms': percentile(gets, 0.5) * 1e3,
            'get_p99_ms': percentile(gets, 0.99) * 1e3,
            'list_s': list_s,
        }
    finally:
        if getattr(service, 'proc', None) and service.proc.poll() is None:
            service.stop()
        shutil.rmtree(root, ignore_errors=True)
    if args.cwltool_jobs:  # cwltool alone, cold and warm runner (benchmarks/runner_figures.py)
        results['runner'] = runner_figures(sys.modules[__name__], args.cwltool_jobs)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(table(results))
    print(f'(all figures in {args.out})')


if __name__ == '__main__':
    main()
