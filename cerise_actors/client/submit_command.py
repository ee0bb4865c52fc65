"""`cerise-actors submit` (and the following of a job that `wait` shares).

Uploads the workflow and local input files to the service's file area,
submits, and with `--wait` follows the job to its end: progress on stderr,
outputs downloaded, the log printed if it failed. See cli_commands.py for
the command line and docs/cli.md for what users see.
"""

import json
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Tuple

from .errors import ClientError, ServiceUnreachable
from .exit_codes import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SERVICE,
    EXIT_USAGE,
    STATE_EXIT,
    fail,
)
from .input_files import UsageError, read_inputs, resolve_local_files
from .input_types import type_problems
from .inputs import FILE_CLASSES, check_input, is_url, safe_name
from .job import Job
from .outputs import output_files, wrap_outputs
from .service import Service
from .workflow_check import check_workflow
from .workflow_types import MAX_BYTES, declared_input_types


def submit(service: Service, args) -> int:
    workflow: Any = args.workflow
    if not is_url(workflow):
        workflow = Path(workflow).expanduser()
        if not workflow.is_file():
            raise UsageError(f'workflow file not found: {workflow}')
        check_workflow(workflow, service.steps)  # valid YAML, offered steps: before uploading
    inputs, base = read_inputs(args.inputs)
    missing: List[Tuple[Path, str]] = []
    resolved = {
        key: resolve_local_files(value, base, str(key), missing) for key, value in inputs.items()
    }
    if missing:
        where = f' in {args.inputs}' if args.inputs else ''
        for path, name in missing:
            print(
                f"cerise-actors: input file not found: {path} (input '{name}'{where})",
                file=sys.stderr,
            )
        print('cerise-actors: nothing was submitted', file=sys.stderr)
        return EXIT_USAGE
    for key, value in resolved.items():
        check_input(str(key), value, strings_as_paths=False)
    if isinstance(workflow, Path) and args.inputs:
        declared = declared_input_types(workflow.read_bytes()[:MAX_BYTES])
        problems = type_problems(inputs, declared, Path(args.inputs).expanduser())
        if problems:
            for problem in problems:
                print(f'cerise-actors: {problem}', file=sys.stderr)
            print('cerise-actors: nothing was submitted', file=sys.stderr)
            return EXIT_USAGE
    name = args.name or _default_name(args.workflow)

    job = service.create_job(name)
    submitting = False
    try:
        job.set_workflow(workflow)
        for key, value in resolved.items():
            job.add_input(str(key), value, strings_as_paths=False)
        submitting = True
        job.run()
    except BaseException as exc:
        # leave no orphaned uploads behind, unless the job may exist after all
        # (the answer to the submission was lost)
        if not (submitting and isinstance(exc, ServiceUnreachable)):
            _quietly_delete(job)
        raise
    print(f'cerise-actors: submitted job {job.id} ({name!r})', file=sys.stderr)
    if not args.wait:
        print(job.id)
        return EXIT_OK
    return follow(job, args)


def _default_name(workflow: str) -> str:
    path = urllib.parse.urlsplit(workflow).path if is_url(workflow) else workflow
    return Path(path).stem or 'job'


def _quietly_delete(job: Job) -> None:
    try:
        job.delete()
    except ClientError:
        pass


def progress_printer(job: Job):
    """Job.wait's on_progress: each new state, and outages of the service, on stderr."""

    def report(data: dict, status: str) -> None:
        print(f'{time.strftime("%H:%M:%S")} {job.id} {status}', file=sys.stderr, flush=True)

    return report


def follow(job: Job, args) -> int:
    try:
        state = job.wait(timeout=args.timeout, on_progress=progress_printer(job))
    except KeyboardInterrupt:
        return fail(
            f'stopped waiting; job {job.id} goes on (cancel it with: cerise-actors '
            f'cancel {job.id})',
            EXIT_INTERRUPTED,
        )
    data = job.refresh()
    outputs = wrap_outputs(data.get('output') or {}, job.service.http, job.id)
    saved: Dict[str, Path] = {}
    code = STATE_EXIT.get(state, EXIT_FAILED)
    if outputs and not args.no_download:
        target = args.output_dir or Path(f'{safe_name(job.name, "job")}-outputs')
        try:
            for item in output_files(outputs):
                saved[item.location] = item.save(target / item.relative_path)
            if saved:
                print(f'cerise-actors: {len(saved)} output(s) saved in {target}', file=sys.stderr)
        except ClientError as exc:
            print(f'cerise-actors: {exc}', file=sys.stderr)
            code = code or EXIT_SERVICE
    print(json.dumps(_with_paths(data.get('output') or {}, saved), indent=2))
    if state != 'Success':
        print(f'cerise-actors: job {job.id} ended {state}; its log:', file=sys.stderr)
        print(_indent(job.log), file=sys.stderr)
    return code


def _with_paths(value: Any, saved: Dict[str, Path]) -> Any:
    """The output object, each downloaded File/Directory with its local `path`."""
    if isinstance(value, list):
        return [_with_paths(item, saved) for item in value]
    if isinstance(value, dict):
        result = {key: _with_paths(item, saved) for key, item in value.items()}
        if value.get('class') in FILE_CLASSES and value.get('location') in saved:
            result['path'] = str(saved[value['location']].resolve())
        return result
    return value


def _indent(text: str) -> str:
    return '\n'.join('  ' + line for line in text.rstrip().splitlines())
