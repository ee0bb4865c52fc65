"""Authentication's cost: submission rate with it off, with the token, with a users file.

Three services run side by side in one run, as `cerise-actors serve` with the
fast stand-in runner (service_benchmark.Service): `auth: none`, the default
token, and a users file (one user, whose token is checked against its
scrypt hash once and then remembered). Each round posts the same number of
jobs to each service in turn (8 clients at once, each with its own
connection), each service's jobs finish before the next posts, and each
service takes each place in the order in turn, so a noisy neighbour hits all
three alike. Besides jobs/s, the service's own CPU time per job (from
submission to finished), which other processes do not disturb, and the
gate's cost per request measured alone. Prints jobs/s per service and round, the medians, and each
median as a share of `auth: none`'s.

    python benchmarks/auth_benchmark.py [--jobs 200] [--rounds 9]
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from service_benchmark import RUNNER_ARGV, Service, submit_many, wait_all_final

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cerise_actors.auth.users import add_user  # noqa: E402


def _services(root: Path):
    off = Service(root / 'off', ' '.join(RUNNER_ARGV), auth='none')
    token = Service(root / 'token', ' '.join(RUNNER_ARGV))
    users_file = root / 'users'
    users = Service(root / 'users-file', ' '.join(RUNNER_ARGV), users=users_file)
    users.token = add_user(users_file, 'alice')
    # alice's workflow in alice's area, so her jobs run like the others'
    own = root / 'users-file' / 'files' / 'users' / 'alice' / 'input' / 'bench.cwl'
    own.parent.mkdir(parents=True)
    own.write_bytes(users.workflow.read_bytes())
    users.workflow = own
    return {'auth: none': off, 'token': token, 'users file': users}


def gate_cost(calls: int = 20000) -> dict:
    """Microseconds the auth gate adds to one request, in this process, for
    each way: its cost apart from the noise of a whole service."""
    from cerise_actors.auth.authenticator import SingleToken, UsersFile
    from cerise_actors.web.auth_gate import AuthGate

    def app(environ, start_response):
        start_response('200 OK', [])
        return [b'']

    folder = Path(tempfile.mkdtemp(prefix='cerise-gate-'))
    alice = add_user(folder / 'users', 'alice')
    token = 't' * 43
    ways = {
        'auth: none': (AuthGate(app, None), ''),
        'token': (AuthGate(app, SingleToken(token).who), token),
        'users file': (AuthGate(app, UsersFile(folder / 'users').who), alice),
    }
    found = {}
    for name, (gate, secret) in ways.items():
        environ = {'PATH_INFO': '/jobs', 'REQUEST_METHOD': 'POST'}
        if secret:
            environ['HTTP_AUTHORIZATION'] = f'Bearer {secret}'
        started = time.perf_counter()
        for _ in range(calls):
            gate(dict(environ), lambda status, headers: None)
        found[name] = 1e6 * (time.perf_counter() - started) / calls
    shutil.rmtree(folder, ignore_errors=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--jobs', type=int, default=200, help='jobs per service and round')
    parser.add_argument('--rounds', type=int, default=9)
    parser.add_argument('--out', default='auth-benchmark.json')
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix='cerise-auth-bench-'))
    services = _services(root)
    rates = {name: [] for name in services}
    cpu_ms = {name: [] for name in services}  # service CPU per job, submitted to finished
    try:
        for service in services.values():
            service.start()
            submit_many(service, 16)  # warm: imports, first scrypt of each client's token
        names = list(services)
        for round_number in range(args.rounds):
            turn = round_number % len(names)  # each service takes each place in turn
            order = names[turn:] + names[:turn]
            for name in order:
                cpu_before = services[name].cpu_seconds()
                started = time.perf_counter()
                ids, _, errors = submit_many(services[name], args.jobs)
                elapsed = time.perf_counter() - started
                if errors:
                    raise SystemExit(f'{name}: {errors} submissions failed; see {root}')
                rates[name].append(len(ids) / elapsed)
                # let its jobs finish before the next service's round, so no
                # service's submissions compete with another's staging and runs
                _, pending = wait_all_final(services[name], ids)
                if pending:
                    raise SystemExit(f'{name}: {len(pending)} jobs did not finish; see {root}')
                cpu_ms[name].append(1000 * (services[name].cpu_seconds() - cpu_before) / len(ids))
                print(
                    f'round {round_number + 1}  {name:<11} {rates[name][-1]:7.0f} jobs/s '
                    f'{cpu_ms[name][-1]:6.2f} ms CPU/job'
                )
    finally:
        for service in services.values():
            if getattr(service, 'proc', None) and service.proc.poll() is None:
                service.stop()
    base = statistics.median(rates['auth: none'])
    base_cpu = statistics.median(cpu_ms['auth: none'])
    print(
        f'\n{"service":<11} {"median jobs/s":>14} {"vs auth: none":>14} '
        f'{"CPU ms/job":>11} {"vs auth: none":>14}'
    )
    figures = {}
    for name, values in rates.items():
        median, cpu = statistics.median(values), statistics.median(cpu_ms[name])
        figures[name] = {
            'rates': values,
            'median': median,
            'share': median / base,
            'cpu_ms_per_job': cpu_ms[name],
            'cpu_median': cpu,
            'cpu_share': cpu / base_cpu,
        }
        print(f'{name:<11} {median:14.0f} {median / base:14.1%} {cpu:11.2f} {cpu / base_cpu:14.1%}')
    gate = gate_cost()
    figures['gate_microseconds'] = gate
    print(
        '\nthe auth gate alone, per request: '
        + ', '.join(f'{name} {us:.1f} us' for name, us in gate.items())
    )
    Path(args.out).write_text(json.dumps(figures, indent=2))
    shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    main()
