"""The service's own cost beside another checkout's, in one run (issue 21, item 4).

    python benchmarks/service_benchmark.py --against /tmp/wt-fcab58c [--drain 2000]
                                          [--rounds 2] [--idle-wait 330]

`--against` names another checkout of cerise-actors (a `git worktree`); both
are started by this script, from their own folders (PYTHONPATH), as a user
would, with the service's default settings and the stand-in runner of
service_benchmark.py. For each round, in the order other, this, this, other
(then again), one service at a time:

- **drain**: `--drain` POST /jobs from 8 threads, then GET /jobs every 0.2 s
  until all are final; the seconds from the first POST to the last final
  state;
- **service CPU per job**: the service process's user + system time over the
  drain, divided by the jobs; and the same with the workflow check's own
  process (staging/check_worker.py), whose work it was in the service before;
- **RSS after the jobs**: the service process's resident set right after
  the drain (its check worker, which leaves after a minute unused, is shown
  beside it);
- **the jobs' own CPU per job**: what the job scripts and the stand-in runner
  used (the service's children, counted as it reaps them), and the machine's
  busy time per job. The drain is bounded by it: were the service free, the
  drain would still take about (jobs' CPU / all CPU) of its time.

On a file system that scans recently deleted inodes when it allocates one
(ext4 without a journal, as on the project's test machines), every drain
leaves thousands of them for the next few minutes and each later drain pays
more: run with `TMPDIR=/dev/shm` (tmpfs) for the service's own cost, and read
figures on disk by their order.

Then **idle memory**: each checkout's service is started with its default
runner (ours, with its warm runner), runs one trivial job with it, and is
left unused for `--idle-wait` seconds (both at once); then the RSS and PSS
of the service and of its warm runner and check worker, if they are still
there, are added up. Medians of the rounds are printed beside the goals.
"""

import concurrent.futures as cf
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

#: what the service's helper processes run
HELPERS = (b'cerise_actors.runner.warm_server', b'cerise_actors.staging.validate_worker')


def helpers_of(pid: int) -> dict:
    """pid -> name of the service's helper processes (warm runner, check worker)."""
    found = {}
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
        for name in HELPERS:
            if ppid == pid and name in cmdline:
                found[int(entry)] = name.decode().rsplit('.', 1)[1]
    return found


def cpu_seconds(pid: int, children: bool = False) -> float:
    """The process's user + system CPU; with `children`, that of the children
    it has waited for instead (the job scripts and what they ran)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return 0.0
    first = 13 if children else 11
    return (int(fields[first]) + int(fields[first + 1])) / os.sysconf('SC_CLK_TCK')


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent not idle (/proc/stat)."""
    with open('/proc/stat') as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf('SC_CLK_TCK')


def memory_mib(pid: int) -> dict:
    """The process's resident and proportional set sizes (0 once it is gone)."""
    figures = {'rss': 0.0, 'pss': 0.0}
    for name, key, field in (('status', 'VmRSS:', 'rss'), ('smaps_rollup', 'Pss:', 'pss')):
        try:
            with open(f'/proc/{pid}/{name}') as f:
                for line in f:
                    if line.startswith(key):
                        figures[field] = int(line.split()[1]) / 1024
        except OSError:
            pass
    return figures


def drain(bench, repo: Path, jobs: int) -> dict:
    """One service of `repo`: its drain of `jobs`, CPU per job, RSS after them."""
    root = Path(tempfile.mkdtemp(prefix='cerise-cost-'))
    service = bench.Service(root, ' '.join(bench.RUNNER_ARGV), repo=repo)
    try:
        service.start()
        conn = service.connection()
        bench.run_one(conn, service)  # installs the steps, loads the check
        pid = service.proc.pid
        before = {p: cpu_seconds(p) for p in helpers_of(pid)}
        cpu = service.cpu_seconds()
        jobs_cpu, busy = cpu_seconds(pid, children=True), machine_busy_seconds()
        start = time.perf_counter()
        ids, _, errors = bench.submit_many(service, jobs)
        states, pending = bench.wait_all_final(service, ids)
        seconds = time.perf_counter() - start
        service_cpu = service.cpu_seconds() - cpu
        jobs_cpu = cpu_seconds(pid, children=True) - jobs_cpu
        busy = machine_busy_seconds() - busy
        helpers = helpers_of(pid)
        helper_cpu = sum(cpu_seconds(p) - before.get(p, 0.0) for p in helpers)
        return {
            'drain_s': seconds,
            'all_success': not errors
            and not pending
            and all(s == 'Success' for s in states.values()),
            'cpu_ms_per_job': service_cpu / jobs * 1e3,
            'cpu_with_helpers_ms_per_job': (service_cpu + helper_cpu) / jobs * 1e3,
            'rss_after_mib': service.rss_mib(),
            'helpers_rss_after_mib': sum(memory_mib(p)['rss'] for p in helpers),
            'jobs_cpu_ms_per_job': jobs_cpu / jobs * 1e3,
            'machine_busy_ms_per_job': busy / jobs * 1e3,
        }
    finally:
        if getattr(service, 'proc', None) and service.proc.poll() is None:
            service.stop()
        shutil.rmtree(root, ignore_errors=True)


def idle_memory(bench, repos: dict, wait: float) -> dict:
    """name -> RSS and PSS of each service with its helpers, `wait` s after one job."""
    services, roots = {}, []
    try:
        for name, repo in repos.items():
            root = Path(tempfile.mkdtemp(prefix=f'cerise-idle-{name}-'))
            roots.append(root)
            services[name] = bench.Service(root, None, repo=repo)
            services[name].start()
        with cf.ThreadPoolExecutor(len(services)) as pool:
            list(pool.map(lambda s: bench.run_one(s.connection(), s), services.values()))
        after_job = {name: _together(s.proc.pid) for name, s in services.items()}
        time.sleep(wait)
        idle = {name: _together(s.proc.pid) for name, s in services.items()}
        return {name: {'after_one_job': after_job[name], 'idle': idle[name]} for name in services}
    finally:
        for service in services.values():
            if service.proc.poll() is None:
                service.stop()
        for root in roots:
            shutil.rmtree(root, ignore_errors=True)


def _together(pid: int) -> dict:
    parts = {'service': memory_mib(pid)}
    for helper, name in helpers_of(pid).items():
        parts[name] = memory_mib(helper)
    return {
        'rss_mib': sum(p['rss'] for p in parts.values()),
        'pss_mib': sum(p['pss'] for p in parts.values()),
        'processes': sorted(parts),
    }


def compare(bench, other: Path, jobs: int, rounds: int, idle_wait: float) -> dict:
    """Both checkouts side by side: drains alternated, then idle memory at once."""
    repos = {'other': Path(other).resolve(), 'this': bench.REPO}
    runs = {'other': [], 'this': []}
    for _ in range(rounds):
        for name in ('other', 'this', 'this', 'other'):
            runs[name].append(drain(bench, repos[name], jobs))
            print(f'  {name}: {runs[name][-1]}', flush=True)
    idle = idle_memory(bench, repos, idle_wait) if idle_wait >= 0 else {}
    result = {'other': str(repos['other']), 'jobs': jobs, 'runs': runs, 'idle': idle}
    result['median'] = {
        name: {key: statistics.median(r[key] for r in runs[name]) for key in runs[name][0]}
        for name in runs
    }
    return result


def table(result: dict) -> str:
    """The figures of both checkouts beside issue 21's goals, as Markdown."""
    old, new = result['median']['other'], result['median']['this']
    rows = [
        (
            f'drain of {result["jobs"]:,} jobs (s)',
            f'{old["drain_s"]:.1f}',
            f'{new["drain_s"]:.1f}',
            f'{new["drain_s"] / old["drain_s"]:.2f}',
            '<= 0.6',
        ),
        (
            'service CPU per job (ms); with its check worker',
            f'{old["cpu_ms_per_job"]:.2f}',
            f'{new["cpu_ms_per_job"]:.2f}; {new["cpu_with_helpers_ms_per_job"]:.2f}',
            f'{new["cpu_ms_per_job"] / old["cpu_ms_per_job"]:.2f}; '
            f'{new["cpu_with_helpers_ms_per_job"] / old["cpu_with_helpers_ms_per_job"]:.2f}',
            '<= 0.6',
        ),
        (
            'RSS after the jobs (MiB); its check worker beside it',
            f'{old["rss_after_mib"]:.0f}',
            f'{new["rss_after_mib"]:.0f}; {new["helpers_rss_after_mib"]:.0f}',
            '',
            '<= 60 MiB',
        ),
        (
            "the jobs' own CPU per job (ms); the machine's busy CPU per job",
            f'{old["jobs_cpu_ms_per_job"]:.1f}; {old["machine_busy_ms_per_job"]:.1f}',
            f'{new["jobs_cpu_ms_per_job"]:.1f}; {new["machine_busy_ms_per_job"]:.1f}',
            f'{new["jobs_cpu_ms_per_job"] / old["jobs_cpu_ms_per_job"]:.2f}',
            'reported',
        ),
        (
            "the drain's floor were the service free: jobs' CPU / all CPU",
            f'{old["jobs_cpu_ms_per_job"] / old["machine_busy_ms_per_job"]:.2f}',
            f'{new["jobs_cpu_ms_per_job"] / new["machine_busy_ms_per_job"]:.2f}',
            '',
            'reported',
        ),
    ]
    for when in ('after_one_job', 'idle'):
        if result['idle']:
            o, n = result['idle']['other'][when], result['idle']['this'][when]
            rows.append(
                (
                    'service + warm runner + check worker, '
                    + ('right after one job' if when == 'after_one_job' else 'idle')
                    + ': RSS / PSS (MiB)',
                    f'{o["rss_mib"]:.0f} / {o["pss_mib"]:.0f} ({", ".join(o["processes"])})',
                    f'{n["rss_mib"]:.0f} / {n["pss_mib"]:.0f} ({", ".join(n["processes"])})',
                    '',
                    '<= 90 MiB idle' if when == 'idle' else 'reported',
                )
            )
    other = os.path.basename(result['other'])
    lines = [f'| figure | {other} | this tree | ratio | goal |', '| --- | --- | --- | --- | --- |']
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return '\n'.join(lines)
