"""Authentication's cost: submission rate with it off, with the token, with a users file.

Three services run side by side in one run, as `cerise-actors serve` with the
fast stand-in runner (service_benchmark.Service): `auth: none`, the default
token, and a users file (one user, whose token is checked against its
scrypt hash once and then remembered). Each round posts the same number of
jobs to each service in turn (8 clients at once, each with its own
connection), and rounds alternate the order, so a noisy neighbour hits all
three alike. Prints jobs/s per service and round, the medians, and each
median as a share of `auth: none`'s.

    python benchmarks/auth_benchmark.py [--jobs 500] [--rounds 3]
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from service_benchmark import RUNNER_ARGV, Service, submit_many

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cerise_actors.auth.users import add_user  # noqa: E402


def _services(root: Path):
    off = Service(root / 'off', ' '.join(RUNNER_ARGV), auth='none')
    token = Service(root / 'token', ' '.join(RUNNER_ARGV))
    users_file = root / 'users'
    users = Service(root / 'users-file', ' '.join(RUNNER_ARGV), users=users_file)
    users.token = add_user(users_file, 'alice')
    return {'auth: none': off, 'token': token, 'users file': users}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--jobs', type=int, default=500, help='jobs per service and round')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--out', default='auth-benchmark.json')
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix='cerise-auth-bench-'))
    services = _services(root)
    rates = {name: [] for name in services}
    try:
        for service in services.values():
            service.start()
            submit_many(service, 16)  # warm: imports, first scrypt of each client's token
        names = list(services)
        for round_number in range(args.rounds):
            order = names if round_number % 2 == 0 else names[::-1]
            for name in order:
                started = time.perf_counter()
                ids, _, errors = submit_many(services[name], args.jobs)
                elapsed = time.perf_counter() - started
                if errors:
                    raise SystemExit(f'{name}: {errors} submissions failed; see {root}')
                rates[name].append(len(ids) / elapsed)
                print(f'round {round_number + 1}  {name:<11} {rates[name][-1]:7.0f} jobs/s')
    finally:
        for service in services.values():
            if getattr(service, 'proc', None) and service.proc.poll() is None:
                service.stop()
    base = statistics.median(rates['auth: none'])
    print(f'\n{"service":<11} {"median jobs/s":>14} {"vs auth: none":>14}')
    figures = {}
    for name, values in rates.items():
        median = statistics.median(values)
        figures[name] = {'rates': values, 'median': median, 'share': median / base}
        print(f'{name:<11} {median:14.0f} {median / base:14.1%}')
    Path(args.out).write_text(json.dumps(figures, indent=2))
    shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    main()
