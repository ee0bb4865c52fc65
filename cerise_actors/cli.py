"""The `cerise-actors` command.

`cerise-actors serve [--config FILE] [--api DIR] [--port PORT] [--host ADDRESS]`
runs the service; the defaults are `conf/config.yml` and `api/`, or the
CERISE_CONFIG and CERISE_API_DIR environment variables; `--port` and
`--host` win over CERISE_PORT, CERISE_HOSTNAME and the file. Configuration mistakes end the
command with exit code 2 and one line naming the file and the key.

`cerise-actors add-user NAME [--users FILE] [--replace]` adds a user to the
users file (`rest-service.users` of the same configuration) and prints
their token, the one time it is ever shown: only the token on stdout, so a
script can capture it, and the explanation on stderr.
"""

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional

from . import __version__
from .client.cli_commands import CLIENT_COMMANDS, add_client_commands, run_client_command


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--config',
        type=Path,
        default=Path(os.environ.get('CERISE_CONFIG', 'conf/config.yml')),
        help='main configuration file (default: $CERISE_CONFIG or conf/config.yml)',
    )


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f'expected a port from 0 to 65535, got {text!r}')
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='cerise-actors',
        description='Run CWL workflows made of predefined steps on a compute resource.',
    )
    parser.add_argument('--version', action='version', version=f'%(prog)s {__version__}')
    sub = parser.add_subparsers(dest='command', required=True)
    _add_serve(sub)
    _add_wheelhouse(sub)
    _add_add_user(sub)
    add_client_commands(sub)
    return parser


def _add_serve(subparsers) -> None:
    """`serve`: run the service."""
    serve = subparsers.add_parser('serve', help='run the REST service until SIGTERM/SIGINT')
    _config_option(serve)
    serve.add_argument(
        '--api',
        type=Path,
        default=Path(os.environ.get('CERISE_API_DIR', 'api')),
        help='specialisation folder with config.yml and projects '
        '(default: $CERISE_API_DIR or api/)',
    )
    serve.add_argument(
        '--port',
        type=_port,
        metavar='PORT',
        help='port to listen on, 0 for a free one (default: $CERISE_PORT, else '
        'rest-service.port of the configuration, else 29593)',
    )
    serve.add_argument(
        '--host',
        metavar='ADDRESS',
        help='address to listen on, e.g. 0.0.0.0 for all (default: $CERISE_HOSTNAME, '
        'else rest-service.hostname, else 127.0.0.1)',
    )


def _add_wheelhouse(subparsers) -> None:
    """`wheelhouse`: fill a folder with the runner's wheels for offline resources."""
    wheels = subparsers.add_parser(
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
        '--platform',
        nargs='+',
        default=None,
        choices=('x86_64', 'aarch64'),
        metavar='MACHINE',
        help='machines of the resources, as `uname -m` names them: x86_64, aarch64 '
        '(default: x86_64); one folder cpXY-MACHINE per Python and machine',
    )
    wheels.add_argument(
        '--dest',
        type=Path,
        default=None,
        help='folder to fill (default: $CERISE_WHEELHOUSE or ./wheelhouse)',
    )


def _add_add_user(subparsers) -> None:
    """`add-user`: a new user in the users file, and their token printed once."""
    add_user = subparsers.add_parser(
        'add-user',
        help='add a user to the users file and print their token (once)',
        description='Add user NAME to the users file and print their new token on stdout; '
        'it is shown this once and kept nowhere in clear. A running service reads the '
        'changed file within a second, without a restart.',
    )
    add_user.add_argument('name', metavar='NAME', help='the user name')
    add_user.add_argument(
        '--users',
        type=Path,
        metavar='FILE',
        help='the users file (default: rest-service.users of the configuration file)',
    )
    add_user.add_argument(
        '--replace',
        action='store_true',
        help='give an existing user a new token; their old one stops working',
    )
    _config_option(add_user)


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == 'serve':
        return _serve(args)
    if args.command == 'wheelhouse':
        return _wheelhouse(args)
    if args.command == 'add-user':
        return _add_user(args)
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
        env = dict(os.environ)  # the command line wins over the environment and the file
        if args.port is not None:
            env['CERISE_PORT'] = str(args.port)
        if args.host:
            env['CERISE_HOSTNAME'] = args.host
        config = load_service_config(args.config, env=env)
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


def _add_user(args) -> int:
    from .auth.users import UsersFileError, add_user, read_users

    users = args.users or _users_file_of(args.config)
    if users is None:
        return 2
    try:
        known = read_users(users).hashes if users.exists() else {}
        token = add_user(users, args.name, replace=args.replace)
    except UsersFileError as exc:
        print(f'cerise-actors: {exc}', file=sys.stderr)
        return 2
    except OSError as exc:
        print(f'cerise-actors: cannot write the users file {users}: {exc}', file=sys.stderr)
        return 1
    if args.name in known:
        done = f'gave user {args.name} a new token in {users} (the old one no longer works)'
    else:
        done = f'added user {args.name} to {users}'
    print(
        f'cerise-actors: {done}.\n'
        f'Their token is on stdout, shown this once and kept nowhere: hand it to them '
        f'(they give it as $CERISE_TOKEN, with --token-file FILE, or in the URL as '
        f'http://{args.name}:<token>@host:port).\n'
        f'A running service picks up the change within a second, without a restart.',
        file=sys.stderr,
    )
    print(token, flush=True)
    return 0


def _users_file_of(config_file: Path) -> Optional[Path]:
    """`rest-service.users` of the configuration `serve` would read; None
    (after saying why on stderr) if there is none."""
    from .config import load_service_config
    from .errors import CeriseError

    hint = f'set rest-service.users in {config_file} or pass --users FILE'
    if not config_file.is_file():
        print(
            f'cerise-actors: no users file: configuration file {config_file} not found '
            f'(use --config or CERISE_CONFIG); {hint}',
            file=sys.stderr,
        )
        return None
    try:
        config = load_service_config(config_file)
    except CeriseError as exc:
        print(f'cerise-actors: {exc}', file=sys.stderr)
        return None
    if config.users_file is None:
        print(f'cerise-actors: {config_file} names no users file; {hint}', file=sys.stderr)
    return config.users_file


def _wheelhouse(args) -> int:
    import subprocess

    from .staging.runner_install import wheelhouse_dir
    from .staging.wheelhouse import MACHINES, PYTHONS, build_wheelhouse

    dest = args.dest or wheelhouse_dir()
    try:
        folders = build_wheelhouse(dest, args.python or PYTHONS, args.platform or MACHINES[:1])
    except subprocess.CalledProcessError as exc:
        print(f'cerise-actors: pip could not download the wheels ({exc})', file=sys.stderr)
        return 1
    for folder in folders:
        print(f'{folder}: {len(list(folder.glob("*.whl")))} wheels')
    return 0


if __name__ == '__main__':
    sys.exit(main())
