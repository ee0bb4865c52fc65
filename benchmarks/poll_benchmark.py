"""How long one poll round takes, and how many commands it sends, as jobs grow.

Runs against the test bed (testbed/testbed.sh start) over real SSH, for each
scheduler, with 1, 10, 100 and 1,000 jobs being followed. The jobs are not
real submissions (so the figures measure the service's status query, not the
cluster): their ids are unknown to the scheduler, which is the worst case
for the exit-code part of the query. Prints a table and writes JSON.

    python benchmarks/poll_benchmark.py [--out poll.json] [--rounds 5]
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cerise_actors.app.resources import build_resource  # noqa: E402
from cerise_actors.resource.scheduler import PollRequest  # noqa: E402
from tests.remote.conftest import STATE_DIR, Testbed, _read_env  # noqa: E402

SIZES = (1, 10, 100, 1000)


class CountingShell:
    """Wraps a Shell and counts the commands sent through it."""

    def __init__(self, shell):
        self.shell = shell
        self.commands = 0

    def run(self, *args, **kwargs):
        self.commands += 1
        return self.shell.run(*args, **kwargs)


def measure(testbed, scheduler, rounds):
    api = testbed.api_config(scheduler, f'/home/{testbed.user_for(scheduler)}/.cerise-bench')
    resource = build_resource(api)
    counter = CountingShell(resource.shell)
    resource.scheduler._shell = counter
    rows = []
    try:
        for size in SIZES:
            jobs = [
                PollRequest(
                    f'bench-{n}',
                    f'{900000 + n}:1' if scheduler == 'none' else str(900000 + n),
                    resource.layout.job(f'bench-{n}'),
                )
                for n in range(size)
            ]
            resource.scheduler.poll(jobs)  # warm up the connection
            counter.commands = 0
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                resource.scheduler.poll(jobs)
                times.append(time.perf_counter() - start)
            rows.append(
                {
                    'scheduler': scheduler,
                    'jobs': size,
                    'commands_per_round': counter.commands / rounds,
                    'median_s': statistics.median(times),
                    'max_s': max(times),
                }
            )
    finally:
        resource.close()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='poll-benchmark.json')
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args()
    testbed = Testbed(_read_env(STATE_DIR / 'env.sh'))
    rows = []
    for scheduler in ('none', 'slurm', 'torque', 'gridengine'):
        rows += measure(testbed, scheduler, args.rounds)
    print(f'{"scheduler":<11} {"jobs":>5} {"commands/round":>15} {"median s":>9} {"max s":>7}')
    for row in rows:
        print(
            f'{row["scheduler"]:<11} {row["jobs"]:>5} {row["commands_per_round"]:>15.1f} '
            f'{row["median_s"]:>9.3f} {row["max_s"]:>7.3f}'
        )
    Path(args.out).write_text(json.dumps(rows, indent=2))


if __name__ == '__main__':
    main()
