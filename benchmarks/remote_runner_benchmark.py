"""Would a warm runner pay on a remote resource? Figures from the test bed (issue 14, item 2).

    testbed/testbed.sh start                      # as root, once
    python benchmarks/remote_runner_benchmark.py [--jobs 5] [--out remote-runner.json]

For `scheduler: none` over SSH and for Slurm, with the runner the service
deploys (the test bed's bare user: python3 and bash only), it measures:

- a trivial one-step workflow, POST /jobs to its final state, one job at a
  time (the first, which installs the runner, not counted), with the test
  bed's `refresh: 0.5` and the default `refresh` of 10 s;
- on the resource itself, over one SSH command: Python's start, the runner's
  imports, cwltool's imports, the CWL schemas, and the whole cold runner on
  a job that ran (its command line from run.sh).

What a warm runner could save per job is the cold runner's time minus a fork
(about 0.1 s locally); the share of that in the job's latency is the answer.

    python benchmarks/remote_runner_benchmark.py --table [--jobs 5]

prints instead, in one run, the table of issue 21: for ssh + no scheduler and
ssh + Slurm, a trivial job's POST -> Success through the service with its
default settings (`refresh` 10 s), against the same deployed runner started
by hand on the same job (its command line from run.sh): one `ssh` command
from here, wall time, under `srun` for Slurm, and for Slurm also as a batch
job by `sbatch` (the dispatch the service's jobs wait for). Medians of --jobs runs. For
ssh + no scheduler the service runs its jobs through the remote warm runner
(`jobs.warm-runner`, on by default; issue 21, item 2), timed once it is
ready, and again with `warm-runner: false`; the bare runner by hand is the
cold runner either way, and the table says how many timed jobs ran warm.
"""

import argparse
import dataclasses
import json
import re
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests import workflows as wf  # noqa: E402
from tests.remote.conftest import STATE_DIR, RemoteService, Testbed, _read_env  # noqa: E402

STEPS = {
    'python': 'pass',
    'runner module': 'import cerise_runner.main',
    'cwltool.main': 'import cerise_runner.main, cwltool.main',
    'CWL v1.2 schema': 'import cerise_runner.main, cwltool.main, cwltool.process; '
    "cwltool.process.get_schema('v1.2')",
    'CWL schemas from the cache': 'import cerise_runner.main, cwltool.main; '
    'from cerise_runner import schemas; assert schemas.load_cache()',
}


def _timed(testbed, user, python, code, runs):
    script = (
        f'for i in $(seq {runs}); do s=$(date +%s%N); {python} -c {shlex.quote(code)}; '
        'e=$(date +%s%N); echo $(( (e - s) / 1000 )); done'
    )
    out = testbed.ssh('none', script, user=user)
    return statistics.median(int(x) for x in out.split()) / 1e6


def resource_figures(service, job_id, runs):
    testbed, user = service.testbed, service.api_config.jobs.credentials.username
    python = f'{service.base}/api/.cerise-runner/venv/bin/python'
    figures = {name: _timed(testbed, user, python, code, runs) for name, code in STEPS.items()}
    run_sh = testbed.ssh('none', f'cat {service.base}/jobs/{job_id}/run.sh', user=user)
    line = cold_command_line(next(x for x in run_sh.splitlines() if 'cerise_runner' in x))
    # the job's own command line, its output thrown away; a failed run stops the measure
    command = re.sub(r' >\S+ 2>\S+ </dev/null &$', ' >/dev/null 2>/tmp/cerise-bench.err', line)
    command += ' </dev/null || { cat /tmp/cerise-bench.err >&2; exit 1; }'
    work = f'{service.base}/jobs/{job_id}/work'
    script = (
        f'cd {work} && for i in $(seq {runs}); do s=$(date +%s%N); {command}; '
        'e=$(date +%s%N); echo $(( (e - s) / 1000 )); done'
    )
    out = testbed.ssh('none', script, user=user)
    figures['whole cold runner'] = statistics.median(int(x) for x in out.split()) / 1e6
    return figures


def job_figures(testbed, scheduler, refresh, runs, with_resource):
    root = Path(tempfile.mkdtemp(prefix=f'cerise-remote-{scheduler}-'))
    service = RemoteService(testbed, scheduler, root, user=testbed.bare_user, cwl_runner=None)
    service.api_config = dataclasses.replace(service.api_config, refresh=refresh)
    service.start()
    try:
        client = service.client
        first = client.submit(wf.HOSTNAME)['id']
        assert client.wait_final(first, timeout=900)['state'] == 'Success', client.log(first)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            job = client.submit(wf.HOSTNAME)['id']
            done = client.wait_final(job, timeout=300)
            times.append(time.perf_counter() - start)
            assert done['state'] == 'Success', client.log(job)
        figures = {'one_job_median_s': statistics.median(times), 'one_job_s': times}
        if with_resource:
            figures['resource'] = resource_figures(service, first, runs)
        return figures
    finally:
        service.cleanup()


#: what the warm client says on the job's stderr when it runs the runner cold
COLD_NOTE = 'the warm runner is not available'


def cold_command_line(line: str) -> str:
    """The bare runner's command line of a run.sh runner line: a warm job's
    `P -I -S .../warm_client.py --socket S --python P --module M -- ARGS` is
    `P -m M ARGS` cold (what the client runs when no server is there)."""
    return re.sub(
        r'(\S+) -I -S \S+/warm_client\.py --socket \S+ --python \S+ --module (\S+) -- ',
        r'\1 -m \2 ',
        line,
    )


def _runner_command(service, job_id) -> str:
    """The job's own runner command line (from run.sh), cold, its output thrown away."""
    user = service.api_config.jobs.credentials.username
    run_sh = service.testbed.ssh('none', f'cat {service.base}/jobs/{job_id}/run.sh', user=user)
    line = next(x for x in run_sh.splitlines() if 'cerise_runner' in x)
    line = cold_command_line(line)
    assert 'warm_client' not in line, line
    return re.sub(r' >\S+ 2>\S+ </dev/null &$', ' >/dev/null </dev/null', line)


def _ran_warm(service, job_id) -> bool:
    user = service.api_config.jobs.credentials.username
    job_dir = f'{service.base}/jobs/{job_id}'
    out = service.testbed.ssh('none', f'cat {job_dir}/run.sh {job_dir}/stderr.txt', user=user)
    return 'warm_client.py' in out and COLD_NOTE not in out


def by_hand(service, job_id, runs, under=None) -> list:
    """Wall times of the job's runner started by one `ssh` command from here:
    directly, as a Slurm job step (`under='srun'`, waited for), or as a batch
    job (`under='sbatch'`), seen ended by a file it writes last, looked for
    every 50 ms (as the completion watcher looks every 0.2 s)."""
    user = service.api_config.jobs.credentials.username
    command = _runner_command(service, job_id)
    work = f'{service.base}/jobs/{job_id}/work'
    if under == 'srun':  # the same command line as a Slurm job step, waited for
        command = 'srun --quiet ' + command
    elif under == 'sbatch':
        done = f'{service.base}/jobs/{job_id}/by-hand-ended'
        job = f'cd {work} && {command}; touch {done}'
        command = (
            f'rm -f {done} && sbatch --quiet --output=/dev/null --wrap {shlex.quote(job)} '
            f'&& while [ ! -e {done} ]; do sleep 0.05; done'
        )
    script = f'cd {work} && {command}'
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        service.testbed.ssh('none', script, user=user)
        times.append(time.perf_counter() - start)
    return times


def side_by_side(testbed, scheduler, runs, warm_runner=True) -> dict:
    """POST -> Success through the service (default settings, but for
    `warm_runner`) and by hand, one run."""
    from cerise_actors import defaults

    root = Path(tempfile.mkdtemp(prefix=f'cerise-remote-{scheduler}-'))
    service = RemoteService(testbed, scheduler, root, user=testbed.bare_user, cwl_runner=None)
    jobs = dataclasses.replace(service.api_config.jobs, warm_runner=warm_runner)
    service.api_config = dataclasses.replace(
        service.api_config, refresh=defaults.REFRESH, jobs=jobs
    )
    service.start()
    try:
        client = service.client
        first = client.submit(wf.HOSTNAME)['id']  # installs the runner: not counted
        assert client.wait_final(first, timeout=900)['state'] == 'Success', client.log(first)
        warm = service.service.warm_runner
        if warm is not None:  # it starts once the runner is installed
            assert warm.wait_ready(180), 'the remote warm runner did not start'
        through, job_ids = [], []
        for _ in range(runs):
            start = time.perf_counter()
            job = client.submit(wf.HOSTNAME)['id']
            done = client.wait_final(job, timeout=300)
            through.append(time.perf_counter() - start)
            job_ids.append(job)
            assert done['state'] == 'Success', client.log(job)
        hand = by_hand(service, first, runs, under='srun' if scheduler == 'slurm' else None)
        ran_warm = sum(_ran_warm(service, job) for job in job_ids)
        figures = {'service_s': through, 'by_hand_s': hand, 'ran_warm': ran_warm}
        if scheduler == 'slurm':  # the same batch dispatch as the service's jobs
            figures['by_hand_sbatch_s'] = by_hand(service, first, runs, under='sbatch')
        return figures
    finally:
        service.cleanup()


def print_table(results: dict) -> None:
    print('| trivial one-step job, POST -> Success | the service | ran warm | by hand | ratio |')
    print('| --- | --- | --- | --- | --- |')
    for name, figures in results.items():
        service = statistics.median(figures['service_s'])
        hand = statistics.median(figures['by_hand_s'])
        warm = f'{figures["ran_warm"]} of {len(figures["service_s"])}'
        print(f'| {name} | {service:.2f} s | {warm} | {hand:.2f} s | {service / hand:.2f} |')
        if 'by_hand_sbatch_s' in figures:
            hand = statistics.median(figures['by_hand_sbatch_s'])
            row = f'{name}, against `sbatch` by hand'
            print(f'| {row} | {service:.2f} s | {warm} | {hand:.2f} s | {service / hand:.2f} |')


#: the rows of --table: (scheduler, jobs.warm-runner, name)
TABLE_ROWS = (
    ('none', True, 'ssh + no scheduler, remote warm runner (default)'),
    ('none', False, 'ssh + no scheduler, warm-runner: false'),
    ('slurm', True, 'ssh + Slurm (default; no warm runner there)'),
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--jobs', type=int, default=5)
    parser.add_argument('--out', default='remote-runner.json')
    parser.add_argument('--table', action='store_true', help='the side-by-side table only')
    parser.add_argument(
        '--only', choices=('none', 'slurm'), help="--table's rows of one scheduler only"
    )
    args = parser.parse_args()
    import os

    os.environ.setdefault('CERISE_WHEELHOUSE', '/tmp/cerise-wheelhouse')
    testbed = Testbed(_read_env(STATE_DIR / 'env.sh'))
    if args.table:
        import cerise_actors

        print('code under test:', cerise_actors.__file__, flush=True)
        results = {}
        for scheduler, warm_runner, name in TABLE_ROWS:
            if args.only and scheduler != args.only:
                continue
            results[name] = side_by_side(testbed, scheduler, args.jobs, warm_runner)
            print(name, json.dumps(results[name]), flush=True)
        print_table(results)
        Path(args.out).write_text(json.dumps(results, indent=2))
        return
    results = {}
    for scheduler, refresh, with_resource in (
        ('none', 0.5, True),
        ('none', 10.0, False),
        ('slurm', 0.5, False),
    ):
        key = f'{scheduler}, refresh {refresh:g} s'
        results[key] = job_figures(testbed, scheduler, refresh, args.jobs, with_resource)
        print(key, json.dumps(results[key]), flush=True)
    Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == '__main__':
    main()
