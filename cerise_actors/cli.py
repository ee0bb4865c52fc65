"""The `cerise-actors` command.

`cerise-actors serve [--config FILE] [--api DIR]` runs the service; the
defaults are `conf/config.yml` and `api/`, or the CERISE_CONFIG and
CERISE_API_DIR environment variables. Configuration mistakes end the
command with exit code 2 and one line naming the file and the key.
"""

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional

from . import __version__
from .client.cli_commands import CLIENT_COMMANDS, add_client_commands, run_client_command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='cerise-actors',
        description='Run CWL workflows made of predefined steps on a compute resource.',
    )
    parser.add_argument('--version', action='version', version=f'%(prog)s {__version__}')
    sub = parser.add_subparsers(dest='command', required=True)
    serve = sub.add_parser('serve', help='run the REST service until SIGTERM/SIGINT')
    serve.add_argument(
        '--config',
        type=Path,
        default=Path(os.environ.get('CERISE_CONFIG', 'conf/config.yml')),
        help='main configuration file (default: $CERISE_CONFIG or conf/config.yml)',
    )
    serve.add_argument(
        '--api',
        type=Path,
        default=Path(os.environ.get('CERISE_API_DIR', 'api')),
        help='specialisation folder with config.yml and projects '
        '(default: $CERISE_API_DIR or api/)',
    )
    wheels = sub.add_parser(
        'wheelhouse',
        help='download the wheels the CWL runner is installed from on compute resources',
    )
    wheels.add_argument(
        '--python',
        nargs='+',
        default=None,
        metavar='X.Y',
        help='Python versions of the resources (default: 3.10 to 3.13)',
    )
    wheels.add_argument(
        '--dest',
        type=Path,
        default=None,
        help='folder to fill (default: $CERISE_WHEELHOUSE or ./wheelhouse)',
    )
    add_client_commands(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == 'serve':
        return _serve(args)
    if args.command == 'wheelhouse':
        return _wheelhouse(args)
    if args.command in CLIENT_COMMANDS:
        return run_client_command(args)
    return 2


def _serve(args) -> int:
    # imported here so that `--help` stays fast
    from .app.lifecycle import serve
    from .app.listen import CannotListen
    from .config import load_api_config, load_service_config
    from .errors import CeriseError, ResourceError

    if not args.config.is_file():
        print(
            f'cerise-actors: configuration file {args.config} not found '
            f'(use --config or CERISE_CONFIG)',
            file=sys.stderr,
        )
        return 2
    if not args.api.is_dir():
        print(
            f'cerise-actors: specialisation folder {args.api} not found '
            f'(use --api or CERISE_API_DIR)',
            file=sys.stderr,
        )
        return 2
    try:
        config = load_service_config(args.config)
        api_config = load_api_config(args.api)
        return serve(config, api_config, args.api)
    except ResourceError as exc:
        print(f'cerise-actors: cannot start: {exc}', file=sys.stderr)
        return 1
    except CannotListen as exc:  # already says what, where and the likely cause
        print(f'cerise-actors: {exc}', file=sys.stderr)
        return 1
    except CeriseError as exc:
        print(f'cerise-actors: {exc}', file=sys.stderr)
        return 2
    except OSError as exc:  # the port is taken, a folder cannot be made, ...
        print(f'cerise-actors: cannot start: {exc}', file=sys.stderr)
        return 1


def _wheelhouse(args) -> int:
    import subprocess

    from .staging.runner_install import wheelhouse_dir
    from .staging.wheelhouse import PYTHONS, build_wheelhouse

    dest = args.dest or wheelhouse_dir()
    try:
        folders = build_wheelhouse(dest, args.python or PYTHONS)
    except subprocess.CalledProcessError as exc:
        print(f'cerise-actors: pip could not download the wheels ({exc})', file=sys.stderr)
        return 1
    for folder in folders:
        print(f'{folder}: {len(list(folder.glob("*.whl")))} wheels')
    return 0


if __name__ == '__main__':
    sys.exit(main())
