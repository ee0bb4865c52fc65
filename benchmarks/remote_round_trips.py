"""Where a remote job's time goes: SFTP round trips and SSH commands per job, by phase (issue 21, item 3).

    testbed/testbed.sh start                      # as root, once
    git worktree add /tmp/wt-before <commit>      # the code to compare with
    python benchmarks/remote_round_trips.py --code /tmp/wt-before --code . \\
        [--jobs 5] [--schedulers none,slurm] [--delays-ms 0,10] [--out round-trips.json]

For each scheduler (ssh with `scheduler: none`, Slurm), each added one-way
delay (a loopback proxy, latency_proxy.py: 10 ms makes every round trip 20 ms
longer, as to a login node some way off) and each workload (`hostname`: no
input; `5 files`: five small input files concatenated into one output), it
runs --jobs jobs one after another through a service with default settings
(the test user's cwltool as runner), each job submitted, waited for, deleted
and waited for until gone, and counts per job, by phase (round_trip_counter.py):
SFTP requests, SFTP round trips, SFTP sessions opened, SSH commands, and the
seconds spent. Each --code tree (a checkout; its `cerise_actors` is imported)
runs the same configuration in its own process, one after the other, so
before and after are measured side by side in one run. Medians over the jobs.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORKLOADS = ('hostname', '5 files')


def _use_code(code: str) -> None:
    """Import `cerise_actors` from the checkout `code`, tests/ from this one."""
    sys.path.insert(0, code)
    import cerise_actors

    assert Path(cerise_actors.__file__).resolve().is_relative_to(Path(code).resolve())
    sys.path.insert(0, str(REPO))


def _job(client, workload: str, number: int):
    from tests import workflows as wf

    if workload == 'hostname':
        return client.submit(wf.HOSTNAME)['id']
    name = f'five-{number}'
    files = [
        {'class': 'File', 'location': client.put_input(name, f'part{i}.txt', f'part {i}\n' * 40)}
        for i in range(5)
    ]
    return client.submit(wf.FILE_ARRAY, {'files': files}, name=name)['id']


def _wait(condition, timeout=600.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError('timed out')
        time.sleep(0.01)


def _testbed_at(delay_ms: float, folder: Path):
    """The test bed, or the test bed behind a LatencyProxy (and a known_hosts
    file that names the proxy's port)."""
    from latency_proxy import LatencyProxy

    from tests.remote.conftest import STATE_DIR, Testbed, _read_env

    env = _read_env(STATE_DIR / 'env.sh')
    if not delay_ms:
        return Testbed(env), None
    proxy = LatencyProxy(int(env['CERISE_TESTBED_SSH_PORT']), delay_ms / 1000)
    known = Path(env['CERISE_TESTBED_KNOWN_HOSTS']).read_text()
    port = env['CERISE_TESTBED_SSH_PORT']
    hosts = folder / 'known_hosts'
    hosts.write_text(known.replace(f'[127.0.0.1]:{port} ', f'[127.0.0.1]:{proxy.port} '))
    env = dict(env, CERISE_TESTBED_SSH_PORT=str(proxy.port), CERISE_TESTBED_KNOWN_HOSTS=str(hosts))
    return Testbed(env), proxy


def measure(scheduler: str, delay_ms: float, jobs: int) -> dict:
    """In this process, with the code on sys.path: per workload, per job, the counts."""
    import dataclasses

    import round_trip_counter as counter

    from cerise_actors import defaults
    from tests.helpers import http
    from tests.remote.conftest import RemoteService

    counter.install()
    folder = Path(tempfile.mkdtemp(prefix=f'cerise-round-trips-{scheduler}-'))
    testbed, proxy = _testbed_at(delay_ms, folder)
    service = RemoteService(testbed, scheduler, folder)
    service.api_config = dataclasses.replace(service.api_config, refresh=defaults.REFRESH)
    service.start()
    client = service.client
    results = {}
    try:
        for workload in ('warm-up', *WORKLOADS):
            per_job = []
            for index in range(1 if workload == 'warm-up' else jobs):
                counter.take()
                start = time.perf_counter()
                job_id = _job(client, 'hostname' if workload == 'warm-up' else workload, index)
                _wait(lambda j=job_id: (client.job(j) or {}).get('state') not in _ACTIVE)
                done = time.perf_counter() - start
                state = client.state(job_id)
                assert state == 'Success', client.log(job_id)
                client.delete(job_id)
                _wait(lambda j=job_id: http('GET', f'{client.base}/jobs/{j}')[0] == 404)
                counts = counter.take()
                counts['post_to_success_s'] = done
                per_job.append(counts)
            if workload != 'warm-up':
                results[workload] = per_job
    finally:
        service.cleanup()
        if proxy is not None:
            proxy.close()
    return results


_ACTIVE = {
    'Submitted',
    'StagingIn',
    'Waiting',
    'Running',
    'Finished',
    'StagingOut',
}


def _median_counts(per_job: list) -> dict:
    from round_trip_counter import FIELDS, PHASES

    out = {}
    for phase in (*PHASES, 'other'):
        out[phase] = {f: statistics.median(job[phase][f] for job in per_job) for f in FIELDS}
    out['post_to_success_s'] = statistics.median(job['post_to_success_s'] for job in per_job)
    return out


def _cell(figures: dict) -> str:
    return (
        f'{figures["sftp_round_trips"]:g} / {figures["sftp_requests"]:g} / '
        f'{figures["ssh_commands"]:g} / {figures["seconds"] * 1000:.0f} ms'
    )


def print_tables(results: dict, codes: list) -> None:
    from round_trip_counter import PHASES

    for config, by_code in results.items():
        print(f'\n### {config}')
        heads = ' | '.join(Path(code).name or code for code in codes)
        print(f'| phase (SFTP round trips / requests / SSH commands / time) | {heads} |')
        print('| --- |' + ' --- |' * len(codes))
        medians = [_median_counts(by_code[code]) for code in codes]
        for phase in (*PHASES, 'other'):
            print(f'| {phase} | ' + ' | '.join(_cell(m[phase]) for m in medians) + ' |')
        totals = []
        for m in medians:
            total = {k: sum(m[p][k] for p in (*PHASES, 'other')) for k in m['stage-in']}
            totals.append(_cell(total))
        print('| all | ' + ' | '.join(totals) + ' |')
        print(
            '| POST -> Success | '
            + ' | '.join(f'{m["post_to_success_s"]:.2f} s' for m in medians)
            + ' |'
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--code', action='append', help='a checkout to measure (repeatable)')
    parser.add_argument('--jobs', type=int, default=5)
    parser.add_argument('--schedulers', default='none,slurm')
    parser.add_argument('--delays-ms', default='0,10')
    parser.add_argument('--out', default='round-trips.json')
    parser.add_argument('--worker', help=argparse.SUPPRESS)  # scheduler:delay, in a child
    args = parser.parse_args()
    if args.worker:
        _use_code(args.code[0])
        scheduler, _, delay = args.worker.partition(':')
        json.dump(measure(scheduler, float(delay), args.jobs), sys.stdout)
        return
    codes = [str(Path(code).resolve()) for code in (args.code or [str(REPO)])]
    results = {}
    for scheduler in args.schedulers.split(','):
        for delay in args.delays_ms.split(','):
            for workload in WORKLOADS:
                results.setdefault(f'{scheduler}, +{delay} ms each way, {workload}', {})
            for code in codes:
                out = subprocess.run(
                    [sys.executable, __file__, '--worker', f'{scheduler}:{delay}']
                    + ['--jobs', str(args.jobs), '--code', code],
                    cwd=REPO,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if out.returncode != 0:
                    sys.exit(f'{code} {scheduler} {delay}: {out.stderr[-3000:]}')
                for workload, per_job in json.loads(out.stdout).items():
                    results[f'{scheduler}, +{delay} ms each way, {workload}'][code] = per_job
                print(f'measured {code} {scheduler} +{delay} ms', file=sys.stderr, flush=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print_tables(results, codes)


if __name__ == '__main__':
    main()
