"""What checking workflows with cwltool adds to staging a job (issue 12).

Stages jobs of the example specialisation's workflow in one process, with
and without the check (`staging/validate.py`), side by side in one run, and
prints CPU milliseconds per job:

- the first job with the check (cwltool's import and the CWL schemas);
- jobs of one workflow (loaded once, then only the input is checked);
- jobs whose workflows all differ (each is loaded);
- the same jobs without the check.

    python benchmarks/validate_benchmark.py [--jobs 200]
"""

import argparse
import resource
import tempfile
import time
from pathlib import Path

from cerise_actors.cwl.steps import installed_file_names, load_step_catalogue
from cerise_actors.resource.filesystem import LocalFileSystem
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.staging.api_install import local_projects
from cerise_actors.staging.exchange import Exchange
from cerise_actors.staging.stage_in import StageIn
from cerise_actors.staging.validate import WorkflowValidator

API = Path(__file__).resolve().parent.parent / 'specialisation_examples' / 'example' / 'api'
WORKFLOW = (API.parent / 'test_workflow.cwl').read_text()


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mib() -> float:
    return int(Path('/proc/self/status').read_text().split('VmRSS:')[1].split()[0]) / 1024


def stage(stage_in: StageIn, exchange: Exchange, jobs: int, distinct: bool, tag: str) -> float:
    """CPU ms per job for `jobs` jobs."""
    urls = []
    for i in range(jobs):
        text = WORKFLOW + (f'\n# workflow {tag} {i}\n' if distinct else '')
        path = exchange.service_dir / 'input' / tag / f'wf{i if distinct else 0}.cwl'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        urls.append(path.as_uri())
    started = cpu()
    for i, url in enumerate(urls):
        stage_in.run(f'{tag}-{i}', url, '{}', lambda: None)
    return (cpu() - started) * 1000 / jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--jobs', type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        exchange = Exchange(root / 'files', (root / 'files').as_uri())
        exchange.ensure_layout()
        projects = local_projects(API)
        catalogue = load_step_catalogue(projects)
        layout = ResourceLayout(str(root / 'resource'))
        common = (LocalFileSystem(), layout, exchange, catalogue, installed_file_names(projects))
        plain = StageIn(*common)
        checked = StageIn(*common, validator=WorkflowValidator(projects))
        before = rss_mib()
        started, first_cpu = time.perf_counter(), cpu()
        stage(checked, exchange, 1, False, 'first')
        first = (time.perf_counter() - started, (cpu() - first_cpu) * 1000)
        rows = [
            ('without the check', stage(plain, exchange, args.jobs, True, 'plain')),
            ('with the check, one workflow', stage(checked, exchange, args.jobs, False, 'same')),
            (
                'with the check, all workflows differ',
                stage(checked, exchange, args.jobs, True, 'new'),
            ),
        ]
        print(
            f'first job with the check: {first[0]:.2f} s ({first[1]:.0f} ms CPU), '
            f'RSS {before:.0f} -> {rss_mib():.0f} MiB'
        )
        print('| staging a job | CPU per job |')
        print('| --- | --- |')
        for what, ms in rows:
            print(f'| {what} | {ms:.1f} ms |')


if __name__ == '__main__':
    main()
