"""Do parallel steps and scatter run side by side within a job's cores?

Runs, through the REST API of an in-process service (SQLite file, local
resource, the test specialisation), a workflow that scatters a 1-second
`sleep` step four ways, once asking for 2 cores and once for 1, and prints
the time from submission to Success of each. With 2 cores the four steps
run two at a time, about 2 s of sleeping against about 4 s with 1; staging
and the runner's start-up are the same in both, so the difference is what
running side by side saves.

    python benchmarks/scatter_benchmark.py [--width 4] [--seconds 1] [--repeat 3]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cerise_actors.app import running_service  # noqa: E402
from cerise_actors.config import service_config_from_dict  # noqa: E402
from tests.helpers import TEST_API_DIR, Client  # noqa: E402
from tests.service_setup import api_config_for_tests, service_config_dict  # noqa: E402

#: the job reserves `cores`; each step needs one (its own requirement
#: overrides the workflow's, which steps would otherwise inherit)
WORKFLOW = """cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {{}}
hints:
  ResourceRequirement: {{coresMin: {cores}}}
inputs:
  seconds: int[]
outputs: {{}}
steps:
  nap:
    run: test/sleep.cwl
    requirements:
      ResourceRequirement: {{coresMin: 1}}
    scatter: seconds
    in: {{seconds: seconds}}
    out: []
"""


def wall_time(client: Client, cores: int, width: int, seconds: int) -> float:
    """Seconds from POST /jobs to Success, as a user waits for it."""
    started = time.monotonic()
    job_id = client.submit(WORKFLOW.format(cores=cores), {'seconds': [seconds] * width})['id']
    result = client.wait_final(job_id, timeout=600)
    elapsed = time.monotonic() - started
    if result['state'] != 'Success':
        raise SystemExit(f'the job ended {result["state"]}:\n{client.log(job_id)}')
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--width', type=int, default=4)
    parser.add_argument('--seconds', type=int, default=1)
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = service_config_from_dict(service_config_dict(root), env={})
        api = api_config_for_tests(root)
        with running_service(config, TEST_API_DIR, api_config=api) as service:
            client = Client(service.base_url, config.exchange_service_dir)
            results = {}
            for cores in (1, 2):
                results[cores] = [
                    wall_time(client, cores, args.width, args.seconds) for _ in range(args.repeat)
                ]
    print(f'{args.width}-way scatter of {args.seconds} s sleeps, submission to Success, ')
    print(f'median of {args.repeat} (sleeping alone: {args.width * args.seconds} s in a row):')
    for cores, times in results.items():
        print(f'  {cores} core(s): {statistics.median(times):.2f} s')
    saved = statistics.median(results[1]) - statistics.median(results[2])
    print(f'  side by side saves {saved:.2f} s')


if __name__ == '__main__':
    main()
