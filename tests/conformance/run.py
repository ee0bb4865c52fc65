"""CWL v1.2 conformance: the eligible tests through the service, and with bare cwltool.

    python -m tests.conformance.run [--cwl-repo DIR] [-k SUBSTRING] [--jobs N]
                                    [--timeout S] [--out FILE] [--workdir DIR]

Steps: unpack `tests/conformance/data/cwl-v1.2-551d58d.tar.gz` (or use
`--cwl-repo`), select the eligible tests (suite.py), rewrite each into a
workflow of installed steps of the project `conformance` (rewrite.py), start
the service in this process (SQLite file, local resource, a free port, the
generated API folder), run every test through the REST API and, as the
reference, the same files with `python -m cwltool`, compare both with
cwltest's comparison (compare.py) and print counts by tag and the failures.
"""

import argparse
import concurrent.futures
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Optional

from cerise_actors.app import running_service
from cerise_actors.config import api_config_from_dict, service_config_from_dict

from ..helpers import processes_mentioning
from ..service_setup import service_config_dict
from . import report, rewrite, suite
from .runners import Outcome, ServiceRunner, run_cwltool

DEFAULT_JOBS = 2
DEFAULT_TIMEOUT = 300.0


def _checkout(workdir: Path, cwl_repo: Optional[Path], tarball: Path) -> Path:
    if cwl_repo is not None:
        return suite.find_checkout(Path(cwl_repo))
    return suite.unpack(Path(tarball), workdir / 'cwl')


def _api_config(root: Path, jobs: int):
    return api_config_from_dict(
        {
            'compute-resource': {
                'files': {'protocol': 'local', 'path': str(root / 'resource')},
                'jobs': {'protocol': 'local', 'scheduler': 'none', 'max-running': jobs},
                'refresh': 0.2,
            }
        },
        source='the conformance run',
        env={},
    )


def _result(item: rewrite.Prepared) -> dict:
    test = item.test
    return {
        'id': test.id,
        'tags': list(test.tags),
        'doc': test.doc,
        'tool': f'{test.tool.parent.name}/{test.tool.name}'
        + (f'#{test.fragment}' if test.fragment else ''),
        'steps': item.steps,
        'workflow': item.workflow_url,
    }


def run_conformance(
    workdir: Path,
    cwl_repo: Optional[Path] = None,
    tarball: Path = suite.DEFAULT_TARBALL,
    select: Optional[str] = None,
    jobs: int = DEFAULT_JOBS,
    timeout: float = DEFAULT_TIMEOUT,
    runners: tuple = report.RUNNERS,
    progress: Callable[[str], None] = print,
) -> dict:
    """Run the eligible tests (ids containing `select`); returns the results as a dict."""
    started = time.monotonic()
    workdir = Path(workdir).resolve()
    checkout = _checkout(workdir, cwl_repo, tarball)
    selection = suite.select(suite.load_tests(checkout))
    lines = suite.describe_selection(selection)
    tests = [test for test in selection.eligible if not select or select in test.id]
    if select:
        lines.append(f'-k {select!r}: {len(tests)} of them selected')
    progress(
        f'{len(selection.eligible)} of {selection.total} tests eligible; running {len(tests)} '
        f'with {", ".join(runners)}, {jobs} at a time, in {workdir}'
    )

    root = workdir / 'service'
    config = service_config_from_dict(service_config_dict(root), env={})
    layout = rewrite.Layout(
        api_dir=workdir / 'api',
        exchange_dir=Path(config.exchange_service_dir),
        client_url=config.exchange_client_url,
        spare_dir=workdir / 'not-installable',
    )
    prepared = rewrite.prepare_all(tests, checkout, layout)
    results = {item.key: _result(item) for item in prepared}

    with contextlib.ExitStack() as stack:
        stack.callback(_stop_leftovers, root / 'resource')  # after the service has stopped
        service_runner = None
        if 'service' in runners:
            service = stack.enter_context(
                running_service(config, layout.api_dir, api_config=_api_config(root, jobs))
            )
            service_runner = ServiceRunner(
                service.base_url, config.exchange_client_url, config.exchange_service_dir, timeout
            )
        lock, done = threading.Lock(), []

        def one(item: rewrite.Prepared) -> None:
            result = results[item.key]
            for runner in runners:
                try:
                    if runner == 'service':
                        outcome = service_runner.run(item)
                    else:
                        outcome = run_cwltool(item, workdir / 'cwltool' / item.key, timeout)
                except Exception as error:  # the harness's own failure: report it, go on
                    outcome = Outcome(False, f'harness error: {type(error).__name__}: {error}')
                result[runner] = outcome.as_dict()
            marks = ' '.join(
                f'{runner} {"pass" if result[runner]["passed"] else "FAIL"}' for runner in runners
            )
            with lock:
                done.append(item.key)
                progress(f'[{len(done)}/{len(prepared)}] {item.test.id}: {marks}')

        with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as pool:
            for future in [pool.submit(one, item) for item in prepared]:
                future.result()
    ordered = [results[item.key] for item in prepared]
    data = {
        'summary': report.summary(ordered, lines, time.monotonic() - started, runners),
        'excluded': selection.excluded,
        'tests': ordered,
    }
    data['summary'].update(total=selection.total, eligible=len(selection.eligible))
    return data


def _stop_leftovers(resource_dir: Path) -> None:
    """Jobs keep running when the service stops; end those of this run, by pid."""
    for pid in processes_mentioning(str(resource_dir)):
        if pid != os.getpid():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='python -m tests.conformance.run',
        description='Run the CWL v1.2 conformance workflows through the service and cwltool.',
    )
    parser.add_argument('--cwl-repo', type=Path, help='a checkout of the cwl-v1.2 repository')
    parser.add_argument(
        '--tarball',
        type=Path,
        default=suite.DEFAULT_TARBALL,
        help='the cwl-v1.2 tarball, used without --cwl-repo (default: %(default)s)',
    )
    parser.add_argument('-k', dest='select', help='only tests whose id contains SUBSTRING')
    parser.add_argument(
        '--jobs', type=int, default=DEFAULT_JOBS, help='tests run at once (default: %(default)s)'
    )
    parser.add_argument(
        '--timeout',
        type=float,
        default=DEFAULT_TIMEOUT,
        help='seconds per test and runner (default: %(default)s)',
    )
    parser.add_argument('--out', type=Path, help='write the results as JSON to this file')
    parser.add_argument('--workdir', type=Path, help='keep all files here (default: a temp dir)')
    parser.add_argument('--no-service', action='store_true', help='only run bare cwltool')
    parser.add_argument('--no-cwltool', action='store_true', help='only run the service')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    runners = tuple(
        runner
        for runner, skip in (('service', args.no_service), ('cwltool', args.no_cwltool))
        if not skip
    )
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix='cerise-conformance-'))
    workdir.mkdir(parents=True, exist_ok=True)
    # the service's log goes to a file, the terminal gets the progress lines
    logging.basicConfig(
        filename=str(workdir / 'service.log'),
        level=logging.INFO,
        format='%(asctime)s %(levelname)s %(name)s: %(message)s',
    )
    try:
        data = run_conformance(
            workdir,
            cwl_repo=args.cwl_repo,
            tarball=args.tarball,
            select=args.select,
            jobs=args.jobs,
            timeout=args.timeout,
            runners=runners,
            progress=lambda line: print(line, flush=True),
        )
    except FileNotFoundError as error:
        print(f'conformance: {error}', file=sys.stderr)
        return 2
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(report.format_report(data))
    if args.out:
        report.write_json(data, args.out)
        print(f'results written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
