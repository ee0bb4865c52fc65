"""2,000 jobs queued on the test bed's Slurm at once (issue 21, item 5): a poll round, the watcher, GET latency.

    testbed/testbed.sh start                      # as root, once
    python benchmarks/slurm_scale_benchmark.py [--jobs 2000] [--seconds 60] [--out slurm-scale.json]

A service in this process (default settings: `refresh` 10 s; the test user's
cwltool as runner) gets --jobs jobs of a sleeping one-step workflow, all
submitted with `sbatch --hold` (`scheduler-options`), so they stay pending
and take none of the test bed's few CPU slots from other users. Measured:

- the submission ramp (POSTs, staging, sbatch) and, meanwhile, GET /jobs/{id};
- with all of them queued, for --seconds: every poll round (the poller's
  status query, `squeue` and the exit-code facts of each job in one SSH
  command, then applying what it says), with a round asked for every
  --poll-every seconds besides the `refresh` rounds;
- meanwhile GET /jobs/{id} of random jobs, from another process (so the
  client does not share this one's GIL), one due every 10 ms, each timed
  from when it was due: p50/p99, in all and for those due during a round;
- the completion watcher on the resource: its CPU time over the window
  (/proc/PID/stat) and, measured apart on the same job folders, the CPU of
  one round of `Watcher.scan` over all the jobs.

Afterwards the service is stopped and exactly its jobs are cancelled
(`scancel` of the ids it recorded; nobody else's), and its folders removed.
"""

import argparse
import dataclasses
import json
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests import workflows as wf  # noqa: E402
from tests.remote.conftest import STATE_DIR, RemoteService, Testbed, _read_env  # noqa: E402

#: a GET prober, run apart at a higher priority (this machine's two cores also run the
#: resource's side: sshd, bash, squeue): a GET every PERIOD s on a fixed schedule, each
#: timed from when it was due, so a stall is counted in full however few GETs it lets
#: out; prints `due-time latency-ms` a line until its time is up
PERIOD = 0.01
PROBE = f"""
import os, random, sys, time, urllib.request
os.nice(-10)
base, ids, until = sys.argv[1], sys.argv[2].split(','), time.time() + float(sys.argv[3])
due = time.time()
while due < until:
    time.sleep(max(0.0, due - time.time()))
    with urllib.request.urlopen(f'{{base}}/jobs/{{random.choice(ids)}}', timeout=30) as answer:
        answer.read()
    print(f'{{due:.3f}} {{(time.time() - due) * 1000:.2f}}', flush=True)
    due = max(due + {PERIOD}, time.time() - 1.0)
"""


class Rounds:
    """The poller's full rounds: total time, and in it the status query's
    shell command (squeue and the facts of every job) and the whole poll
    (the command and the parse of its answer)."""

    def __init__(self):
        from cerise_actors.actors.poller import PollerActor
        from cerise_actors.resource.batch import BatchScheduler

        self.rounds = []
        local = threading.local()
        poll_tracked, poll, run = (
            PollerActor._poll_tracked,
            BatchScheduler.poll,
            BatchScheduler._run,
        )

        def in_round(this):
            local.parts = {}
            start = time.perf_counter()
            try:
                return poll_tracked(this)
            finally:
                took = time.perf_counter() - start
                self.rounds.append({'end': time.time(), 'round_s': took, **local.parts})
                local.parts = None

        def timed(function, name):
            def wrapper(this, *args, **kwargs):
                start = time.perf_counter()
                try:
                    return function(this, *args, **kwargs)
                finally:
                    parts = getattr(local, 'parts', None)
                    if parts is not None and name not in parts:
                        parts[name] = time.perf_counter() - start
                        if args and isinstance(args[0], list):
                            parts['jobs'] = len(args[0])

            return wrapper

        PollerActor._poll_tracked = in_round
        BatchScheduler.poll = timed(poll, 'query_s')
        BatchScheduler._run = timed(run, 'command_s')


def probe(base: str, ids: list, seconds: float) -> subprocess.Popen:
    """The prober, writing to a file of its own (a pipe read only at the end
    would fill up and stop it)."""
    out = tempfile.TemporaryFile(mode='w+')
    process = subprocess.Popen(
        [sys.executable, '-c', PROBE, base, ','.join(ids), str(seconds)], stdout=out, text=True
    )
    process.out = out
    return process


def latencies(process: subprocess.Popen) -> list:
    process.wait(timeout=3600)
    process.out.seek(0)
    lines = process.out.read().splitlines()
    return [tuple(map(float, line.split())) for line in lines if len(line.split()) == 2]


def percentiles(samples: list) -> dict:
    values = sorted(ms for _, ms in samples)
    if not values:
        return {}
    at = lambda q: values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
    return {'n': len(values), 'p50_ms': at(0.5), 'p99_ms': at(0.99), 'max_ms': values[-1]}


def watcher_cpu(testbed, user: str, base: str, seconds: float) -> dict:
    """CPU seconds the live watcher of `base` used over `seconds`, from /proc."""
    find = f'pgrep -u {user} -f {shlex.quote("completion watcher")} | head -n 50'
    pids = testbed.ssh('slurm', find).split()
    pid = next(
        p
        for p in pids
        if base in testbed.ssh('slurm', f'tr "\\0" " " </proc/{p}/cmdline', check=False)
    )
    ticks = int(testbed.ssh('slurm', 'getconf CLK_TCK'))
    read = f'cut -d" " -f14,15 /proc/{pid}/stat'
    before = sum(map(int, testbed.ssh('slurm', read).split()))
    time.sleep(seconds)
    after = sum(map(int, testbed.ssh('slurm', read).split()))
    cpu = (after - before) / ticks
    return {'pid': pid, 'cpu_s': cpu, 'share_of_a_core': cpu / seconds}


def scan_cost(testbed, base: str, ids: list) -> dict:
    """CPU of one Watcher.scan over the jobs, on the resource (watcher.py run apart)."""
    source = (REPO / 'cerise_actors' / 'runner' / 'watcher.py').read_text()
    bench = (
        'import sys, time\n'
        'ns = {"__name__": "watcher"}\n'
        'exec(sys.stdin.read(), ns)\n'
        f'w = ns["Watcher"]({base + "/jobs"!r})\n'
        'w.handle({"op": "watch", "jobs": sys.argv[1].split(",")})\n'
        'start, wall = time.process_time(), time.perf_counter()\n'
        'for _ in range(20): w.scan()\n'
        'print((time.process_time() - start) / 20, (time.perf_counter() - wall) / 20, len(w))\n'
    )
    command = f'python3 -c {shlex.quote(bench)} {",".join(ids)}'
    result = subprocess.run(
        ['ssh', '-i', testbed.key, '-p', str(testbed.port), '-o', 'BatchMode=yes']
        + [
            '-o',
            f'UserKnownHostsFile={testbed.known_hosts}',
            f'{testbed.user_for("slurm")}@127.0.0.1',
        ]
        + [command],
        input=source,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    cpu, wall, watched = result.stdout.split()
    return {
        'cpu_ms_per_round': float(cpu) * 1000,
        'wall_ms_per_round': float(wall) * 1000,
        'jobs': int(watched),
    }


def cancel_ours(testbed, job_ids: set) -> int:
    """scancel exactly this service's jobs (the service stopped first, so none
    is submitted meanwhile): Slurm's jobs of the test user named
    `cerise-<id>` for one of `job_ids`, until none is left."""
    cancelled = 0
    for _ in range(5):
        listed = testbed.ssh('slurm', 'squeue -h -u "$(id -un)" -o "%i %j"', check=False)
        ours = [
            line.split()[0]
            for line in listed.splitlines()
            if len(line.split()) == 2 and line.split()[1].removeprefix('cerise-') in job_ids
        ]
        if not ours:
            return cancelled
        for start in range(0, len(ours), 400):
            testbed.ssh('slurm', 'scancel ' + ' '.join(ours[start : start + 400]), check=False)
        cancelled += len(ours)
        time.sleep(2)
    raise AssertionError(f'jobs of this benchmark are still queued: {ours[:10]}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--jobs', type=int, default=2000)
    parser.add_argument('--seconds', type=float, default=60)
    parser.add_argument('--poll-every', type=float, default=5.0)
    parser.add_argument('--out', default='slurm-scale.json')
    args = parser.parse_args()
    import cerise_actors
    from cerise_actors import defaults
    from cerise_actors.config import service_config_from_dict
    from tests.service_setup import service_config_dict

    print('code under test:', cerise_actors.__file__, flush=True)
    testbed = Testbed(_read_env(STATE_DIR / 'env.sh'))
    rounds = Rounds()
    root = Path(tempfile.mkdtemp(prefix='cerise-slurm-scale-'))
    service = RemoteService(testbed, 'slurm', root, extra_options='--hold')
    config = service_config_dict(root)
    config['limits']['active-jobs-per-user'] = args.jobs + 100
    service.config = service_config_from_dict(config, env={})
    service.api_config = dataclasses.replace(service.api_config, refresh=defaults.REFRESH)
    figures = {'jobs': args.jobs}
    ids = []
    service.start()
    try:
        client, poller = service.client, service.service.poller
        first = client.submit(wf.SLEEP, {'seconds': 600})['id']
        while poller.tracked_count().get(timeout=60) < 1:  # submitted: the service is warm
            time.sleep(0.2)
        ramp_probe = probe(client.base, [first], 10**6)
        start = time.perf_counter()
        ids = [first]
        for _ in range(args.jobs - 1):
            ids.append(client.submit(wf.SLEEP, {'seconds': 600})['id'])
        posted = time.perf_counter() - start
        deadline = time.monotonic() + 3600
        while poller.tracked_count().get(timeout=60) < args.jobs:
            if time.monotonic() > deadline:
                raise AssertionError('not all jobs were submitted within an hour')
            time.sleep(1)
        ramp = time.perf_counter() - start
        ramp_probe.terminate()  # its last line may be cut: latencies() skips it
        figures['ramp'] = {
            'post_s': posted,
            'all_queued_s': ramp,
            'get_during_ramp': percentiles(latencies(ramp_probe)),
        }
        print('ramp', json.dumps(figures['ramp']), flush=True)
        squeue = testbed.ssh(
            'slurm',
            'TIMEFORMAT=%R; { time squeue -h -u "$(id -un)" -o "%i %T" | wc -l; } 2>&1',
        ).split()
        figures['squeue'] = {'lines': int(squeue[0]), 'seconds': float(squeue[1])}
        rounds.rounds.clear()
        steady = probe(client.base, ids, args.seconds)
        stop = threading.Event()

        def ask_rounds():
            while not stop.wait(args.poll_every):
                poller.poll_now()

        threading.Thread(target=ask_rounds, daemon=True).start()
        figures['watcher_live'] = watcher_cpu(
            testbed, testbed.user_for('slurm'), service.base, args.seconds - 5
        )
        samples = latencies(steady)
        stop.set()
        figures['get_steady'] = percentiles(samples)
        in_rounds = [
            s
            for s in samples
            if any(r['end'] - r['round_s'] <= s[0] <= r['end'] for r in rounds.rounds)
        ]
        figures['get_during_poll_rounds'] = percentiles(in_rounds)
        figures['windows'] = {  # wall clock: when GETs were timed, when rounds ended
            'gets': [samples[0][0], samples[-1][0]] if samples else None,
            'rounds': [r['end'] for r in rounds.rounds[:1] + rounds.rounds[-1:]],
        }
        figures['poll_rounds'] = list(rounds.rounds)
        figures['watcher_scan'] = scan_cost(testbed, service.base, random.sample(ids, len(ids)))
        print(json.dumps(figures, indent=2), flush=True)
    finally:
        service.stop()
        try:
            figures['cancelled'] = cancel_ours(testbed, set(ids))
        finally:
            service.cleanup()
    Path(args.out).write_text(json.dumps(figures, indent=2))
    full = [r for r in figures.get('poll_rounds', []) if r.get('jobs') == args.jobs]
    if full:
        median = lambda key: statistics.median(r[key] for r in full)  # noqa: E731
        print(
            f'\n{args.jobs} jobs queued: a poll round {median("round_s"):.2f} s (median of '
            f'{len(full)}; its SSH command {median("command_s"):.2f} s, with the parse '
            f'{median("query_s"):.2f} s); '
            f'GET /jobs/{{id}} p50 {figures["get_steady"]["p50_ms"]:.1f} ms, '
            f'p99 {figures["get_steady"]["p99_ms"]:.1f} ms; watcher '
            f'{figures["watcher_scan"]["cpu_ms_per_round"]:.1f} ms CPU a round, '
            f'{figures["watcher_live"]["share_of_a_core"] * 100:.1f} % of a core live'
        )


if __name__ == '__main__':
    main()
