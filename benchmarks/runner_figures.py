"""The runner column of service_benchmark.py: cold cwltool, a cold runner, the warm runner.

Issue 14 asks, in one run, for a trivial one-step workflow (the test
specialisation's `hostname` step):

- cwltool alone, cold, on the very files a job staged (`python -m cwltool`);
- the service with its default runner started cold for each job
  (`jobs.warm-runner: false`): one job at a time, POST to final state;
- the service with the warm runner (`jobs.warm-runner: true`), the same way;
- `jobs` such jobs at once through each of the two services;
- the warm runner's memory (RSS, and PSS, which counts pages shared with the
  jobs forked from it once).

Each service is started fresh, as a user would, and its first job (which
installs the steps) is not counted. The warm service's jobs are measured
once its warm runner is ready.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _warm_server_pid(service_pid: int):
    """The warm runner: the service's child running cerise_actors.runner.warm_server."""
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            with open(f'/proc/{entry}/cmdline', 'rb') as f:
                cmdline = f.read()
        except (OSError, ValueError):
            continue
        if ppid == service_pid and b'cerise_actors.runner.warm_server' in cmdline:
            return int(entry)
    return None


def _memory_mib(pid: int) -> dict:
    figures = {}
    for name, key in (('status', 'VmRSS:'), ('smaps_rollup', 'Pss:')):
        with open(f'/proc/{pid}/{name}') as f:
            for line in f:
                if line.startswith(key):
                    figures[key.rstrip(':').lower() + '_mib'] = int(line.split()[1]) / 1024
    return figures


def _cwltool_alone(staged: Path, root: Path, runs: int) -> list:
    times = []
    for _ in range(runs):
        out = Path(tempfile.mkdtemp(prefix='cwltool-out-', dir=root))
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, '-m', 'cwltool', '--disable-color', '--no-container']
            + ['--outdir', str(out), str(staged / 'workflow.cwl'), str(staged / 'input.json')],
            capture_output=True,
            check=True,
        )
        times.append(time.perf_counter() - start)
    return times


def _service_figures(bench, warm: bool, jobs: int, runs: int, cwltool_runs: int) -> dict:
    root = Path(tempfile.mkdtemp(prefix=f'cerise-bench-{"warm" if warm else "cold"}-'))
    service = bench.Service(root, None, warm_runner=warm)
    try:
        service.start()
        figures = {}
        if warm:
            sock = root / 'resource' / '.warm-runner' / 'runner.sock'
            deadline = time.monotonic() + 120
            while not sock.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            pid = _warm_server_pid(service.proc.pid)
            figures['memory_idle'] = _memory_mib(pid) if pid else {}
        conn = service.connection()
        _, job_id = bench.run_one(conn, service)  # the first one installs the steps
        if cwltool_runs:
            staged = root / 'resource' / 'jobs' / job_id
            figures['cwltool_alone_s'] = _cwltool_alone(staged, root, cwltool_runs)
        figures['one_job_s'] = [bench.run_one(conn, service)[0] for _ in range(runs)]
        start = time.perf_counter()
        ids, _, errors = bench.submit_many(service, jobs)
        states, pending = bench.wait_all_final(service, ids, interval=0.05)
        figures['burst'] = {
            'count': jobs,
            'seconds': time.perf_counter() - start,
            'all_success': not errors
            and not pending
            and all(s == 'Success' for s in states.values()),
        }
        if warm:
            pid = _warm_server_pid(service.proc.pid)
            figures['memory_after'] = _memory_mib(pid) if pid else {}
        return figures
    finally:
        if getattr(service, 'proc', None) and service.proc.poll() is None:
            service.stop()
        shutil.rmtree(root, ignore_errors=True)


def runner_figures(bench, jobs: int = 50, runs: int = 10) -> dict:
    """`bench` is the service_benchmark module (its Service and client helpers)."""
    cold = _service_figures(bench, False, jobs, runs, cwltool_runs=runs)
    warm = _service_figures(bench, True, jobs, runs, cwltool_runs=0)
    alone = statistics.median(cold.pop('cwltool_alone_s'))
    cold_one, warm_one = statistics.median(cold['one_job_s']), statistics.median(warm['one_job_s'])
    return {
        'cwltool_alone_median_s': alone,
        'cold': {
            'one_job_median_s': cold_one,
            'one_job_p90_s': sorted(cold['one_job_s'])[int(0.9 * runs)],
            'burst': cold['burst'],
        },
        'warm': {
            'one_job_median_s': warm_one,
            'one_job_p90_s': sorted(warm['one_job_s'])[int(0.9 * runs)],
            'burst': warm['burst'],
            'memory_idle': warm.get('memory_idle', {}),
            'memory_after': warm.get('memory_after', {}),
        },
        'warm_vs_cwltool': warm_one / alone,
        'burst_warm_vs_cold': warm['burst']['seconds'] / cold['burst']['seconds'],
    }
