"""The client commands of `cerise-actors`: submit, list, status, log, cancel, delete.

`cerise_actors/cli.py` adds them next to `serve` with add_client_commands()
and runs them with run_client_command(). They use only the Python client,
so they work against any reachable service, local or remote.

    cerise-actors submit WORKFLOW [INPUTS.yml|json] [--name N] [--wait]
                         [--output-dir DIR] [--no-download] [--timeout S]
    cerise-actors list [--json] [--state STATE]... [--name N] [--page-size N]
    cerise-actors status ID [--json]
    cerise-actors log ID
    cerise-actors wait ID [--output-dir DIR] [--no-download] [--timeout S]
    cerise-actors cancel ID [--wait]
    cerise-actors delete ID
    cerise-actors steps [--json]

ID may be the start of a job id, if no other job's id starts the same way.
Every command takes `--service URL` (default: $CERISE_SERVICE_URL, else
http://127.0.0.1:29593), `--files URL` (the service's file area; default:
$CERISE_FILES_URL, else <service>/files) and `--token-file FILE`. The token
is found as the Python client finds it (credentials.py): --token-file, the
URL's password, $CERISE_TOKEN, $CERISE_TOKEN_FILE, ./run/token. There is
no option taking the token itself: `ps` would show it to every user.

Exit codes (scripts can branch on the job's outcome):

    0  done; for submit --wait and cancel --wait: the job ended in Success
    1  the job ended in PermanentFailure, TemporaryFailure or SystemError
    2  usage or validation error, found before anything was submitted
       (missing workflow or input file, unreadable inputs file, job refused,
       an id prefix that matches several jobs)
    3  the job ended Cancelled
    4  the service is unreachable, refused the token (or needs one), the job
       was not found, or the service failed a request (an upload or download
       included)
    5  --timeout reached while waiting; the job goes on
    130 interrupted (Ctrl-C) while waiting; the job goes on
"""

import argparse
import json
import os
import sys
from pathlib import Path

from .credentials import ENV_TOKEN, ENV_TOKEN_FILE, how_to_give
from .errors import (
    AmbiguousJobId,
    ClientError,
    InputError,
    InvalidJob,
    JobNotFound,
    NotAuthorized,
    ServiceError,
    ServiceUnreachable,
    TransferError,
    WaitTimeout,
)
from .exit_codes import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SERVICE,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    STATE_EXIT,
    fail,
)
from .input_files import UsageError
from .service import DEFAULT_URL, Service
from .steps_command import add_steps_command, steps_command
from .submit_command import follow, progress_printer, submit

ENV_SERVICE = 'CERISE_SERVICE_URL'
ENV_FILES = 'CERISE_FILES_URL'
CLIENT_COMMANDS = ('submit', 'list', 'status', 'log', 'wait', 'cancel', 'delete', 'steps')


def add_client_commands(subparsers) -> None:
    """Add the client commands to an argparse sub-parsers object, in the order
    `--help` lists them; each `_add_<command>` sets up one."""
    common = _common_options()
    _add_submit(subparsers, common)
    add_steps_command(subparsers, common)
    _add_list(subparsers, common)
    _add_status(subparsers, common)
    _add_log(subparsers, common)
    _add_wait(subparsers, common)
    _add_cancel(subparsers, common)
    _add_delete(subparsers, common)


def _common_options() -> argparse.ArgumentParser:
    """The options every client command takes: where the service is, and its token."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        '--service',
        metavar='URL',
        help=f'the service (default: ${ENV_SERVICE}, else {DEFAULT_URL})',
    )
    common.add_argument(
        '--files',
        metavar='URL',
        help=f'its file area (default: ${ENV_FILES}, else <service>/files)',
    )
    common.add_argument(
        '--token-file',
        metavar='FILE',
        help=f"a file holding the service's token (default: the service URL's password, "
        f'${ENV_TOKEN}, the file named by ${ENV_TOKEN_FILE}, else ./run/token for a local '
        f'service); there is no option for the token itself, as ps shows command lines '
        f'to every user',
    )
    return common


def _add_submit(subparsers, common: argparse.ArgumentParser) -> None:
    submit = subparsers.add_parser(
        'submit',
        parents=[common],
        help='upload a workflow and its inputs, and run it',
        description='Upload WORKFLOW and the local files its inputs name, submit the job, '
        'and with --wait follow it and download its outputs.',
    )
    submit.add_argument('workflow', metavar='WORKFLOW', help='the CWL workflow (a file or URL)')
    submit.add_argument(
        'inputs',
        metavar='INPUTS',
        nargs='?',
        help='the input object, YAML or JSON; relative File paths are relative to this file',
    )
    submit.add_argument(
        '--name', help='job name (default: the workflow file name without its extension)'
    )
    submit.add_argument(
        '--wait',
        action='store_true',
        help='follow the job to its end, print its outputs as JSON and download its output files',
    )
    submit.add_argument(
        '--output-dir',
        metavar='DIR',
        type=Path,
        help='where --wait saves output files (default: ./<name>-outputs)',
    )
    submit.add_argument(
        '--no-download',
        action='store_true',
        help='with --wait, print the outputs but do not download them',
    )
    submit.add_argument(
        '--timeout',
        type=float,
        metavar='SECONDS',
        help='with --wait, stop waiting after this long (exit code 5)',
    )


def _add_list(subparsers, common: argparse.ArgumentParser) -> None:
    listing = subparsers.add_parser('list', parents=[common], help='list the jobs')
    listing.add_argument('--json', action='store_true', help='print the jobs as JSON')
    listing.add_argument(
        '--state',
        action='append',
        metavar='STATE',
        help='only jobs in this API state (Waiting, Running, Success, ...); may be repeated',
    )
    listing.add_argument('--name', help='only jobs with exactly this name')
    listing.add_argument(
        '--page-size',
        type=int,
        metavar='N',
        help='fetch the list in pages of N jobs (for services with very many jobs)',
    )


def _add_status(subparsers, common: argparse.ArgumentParser) -> None:
    status = subparsers.add_parser('status', parents=[common], help="show a job's state")
    status.add_argument('job_id', metavar='ID')
    status.add_argument('--json', action='store_true', help='print the whole job as JSON')


def _add_log(subparsers, common: argparse.ArgumentParser) -> None:
    log = subparsers.add_parser('log', parents=[common], help="print a job's log")
    log.add_argument('job_id', metavar='ID')


def _add_wait(subparsers, common: argparse.ArgumentParser) -> None:
    wait = subparsers.add_parser(
        'wait',
        parents=[common],
        help='follow a job to its end, print its outputs and download them',
        description='Follow job ID as submit --wait does: its states on stderr, then its '
        'outputs as JSON and its output files downloaded.',
    )
    wait.add_argument('job_id', metavar='ID')
    wait.add_argument(
        '--output-dir',
        metavar='DIR',
        type=Path,
        help='where the output files are saved (default: ./<name>-outputs)',
    )
    wait.add_argument(
        '--no-download', action='store_true', help='print the outputs but do not download them'
    )
    wait.add_argument(
        '--timeout',
        type=float,
        metavar='SECONDS',
        help='stop waiting after this long (exit code 5)',
    )


def _add_cancel(subparsers, common: argparse.ArgumentParser) -> None:
    cancel = subparsers.add_parser('cancel', parents=[common], help='cancel a job')
    cancel.add_argument('job_id', metavar='ID')
    cancel.add_argument('--wait', action='store_true', help='wait until the job has stopped')


def _add_delete(subparsers, common: argparse.ArgumentParser) -> None:
    delete = subparsers.add_parser(
        'delete', parents=[common], help='delete a job, its outputs and its uploaded inputs'
    )
    delete.add_argument('job_id', metavar='ID')


def run_client_command(args: argparse.Namespace) -> int:
    """Run the command in `args`; its exit code. Messages go to stderr."""
    commands = {
        'submit': submit,
        'list': _list,
        'status': _status,
        'log': _log,
        'wait': _wait,
        'cancel': _cancel,
        'delete': _delete,
        'steps': steps_command,
    }
    try:
        service = _service(args)
        return commands[args.command](service, args)
    except UsageError as exc:
        return fail(str(exc), EXIT_USAGE)
    except (InputError, InvalidJob, AmbiguousJobId) as exc:
        return fail(str(exc), EXIT_USAGE)
    except ServiceUnreachable as exc:
        return fail(
            f'{exc} (is the service running? set --service or ${ENV_SERVICE})', EXIT_SERVICE
        )
    except NotAuthorized as exc:
        return fail(f'{exc.reason}; {how_to_give(cli=True)}', EXIT_SERVICE)
    except (JobNotFound, ServiceError, TransferError) as exc:
        return fail(str(exc), EXIT_SERVICE)
    except WaitTimeout as exc:
        return fail(f'{exc}; it goes on (see: cerise-actors status {exc.job_id})', EXIT_TIMEOUT)
    except ClientError as exc:
        return fail(str(exc), EXIT_SERVICE)


def _service(args) -> Service:
    url = args.service or os.environ.get(ENV_SERVICE) or DEFAULT_URL
    files = args.files or os.environ.get(ENV_FILES) or None
    try:
        return Service(url, files_url=files, token_file=getattr(args, 'token_file', None))
    except ValueError as exc:  # a bad URL, or a token file that cannot be read
        raise UsageError(str(exc)) from None


# --- the other commands ---------------------------------------------------------
def _list(service: Service, args) -> int:
    jobs = service.list_jobs(
        state=getattr(args, 'state', None),
        name=getattr(args, 'name', None),
        page_size=getattr(args, 'page_size', None),
    )
    if args.json:
        print(json.dumps([job.data for job in jobs], indent=2))
        return EXIT_OK
    for job in jobs:
        print(f'{job.id}  {job.data.get("state", "?"):<16}  {job.name}')
    return EXIT_OK


def _status(service: Service, args) -> int:
    job = service.find_job(args.job_id)
    if args.json:
        print(json.dumps(job.data, indent=2))
    else:
        print(f'{job.id}  {job.data.get("state")}  {job.name}')
    return EXIT_OK


def _log(service: Service, args) -> int:
    text = service.find_job(args.job_id).log
    sys.stdout.write(text if text.endswith('\n') or not text else text + '\n')
    return EXIT_OK


def _wait(service: Service, args) -> int:
    return follow(service.find_job(args.job_id), args)


def _cancel(service: Service, args) -> int:
    job = service.find_job(args.job_id)
    state = job.cancel()
    if not args.wait:
        print(state)
        return EXIT_OK
    try:
        state = job.wait(on_progress=progress_printer(job))
    except KeyboardInterrupt:
        return fail('stopped waiting; the cancellation goes on', EXIT_INTERRUPTED)
    print(state)
    return STATE_EXIT.get(state, EXIT_FAILED)


def _delete(service: Service, args) -> int:
    job = service.find_job(args.job_id)
    job.delete()
    uploads = ' and its uploaded inputs' if job.upload_folder else ''
    print(f'cerise-actors: deleted job {job.id}{uploads}', file=sys.stderr)
    return EXIT_OK
