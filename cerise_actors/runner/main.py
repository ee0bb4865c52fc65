"""`python -m cerise_actors.runner [--cores N] <cwltool arguments>`: cwltool with the sandbox.

It installs the JavaScript sandbox (sandbox.py), prints one line naming the
runner and the versions to stderr, and runs cwltool's own command line with
the arguments unchanged; the exit code is cwltool's, or 2 if the sandbox
cannot be set up (a malformed CERISE_JS_* variable, mini-racer missing).

`--cores N`, first if given, is the job's share of the resource: parallel
steps and scatter run side by side on at most N cores (cwltool's own
parallel executor otherwise counts every core of the machine).
"""

import sys
from importlib.metadata import PackageNotFoundError, version
from typing import List, Optional, Sequence

from . import sandbox

NAME = 'cerise-runner'


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return 'unknown version'


def banner(engine: sandbox.SandboxedJSEngine) -> str:
    """The line that names the runner, cwltool's version and the sandbox's."""
    return (
        f'{NAME}: cwltool {_version("cwltool")}, JavaScript in a V8 sandbox '
        f'(mini-racer {_version("mini-racer")}; at most {engine.timeout:g} s and '
        f'{engine.max_memory // sandbox.MIB} MiB per expression)'
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run cwltool with `argv` (default: sys.argv[1:]) and return its exit code."""
    args: List[str] = list(sys.argv[1:] if argv is None else argv)
    cores = 0
    if args[:1] == ['--cores'] and len(args) > 1 and args[1].isdigit():
        cores, args = int(args[1]), args[2:]
    try:
        engine = sandbox.install()
    except (ValueError, ImportError) as exc:
        print(f'{NAME}: {exc}', file=sys.stderr)
        return 2
    print(banner(engine), file=sys.stderr, flush=True)

    import cwltool.main
    from cwltool.executors import MultithreadedJobExecutor

    executor = MultithreadedJobExecutor(max_parallel=cores) if cores else None
    try:
        return cwltool.main.main(argsl=args, executor=executor)
    finally:
        engine.close()
