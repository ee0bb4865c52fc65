"""`python -m cerise_actors.runner [--cores N] <cwltool arguments>`: cwltool with the sandbox.

It installs the JavaScript sandbox (sandbox.py), prints one line naming the
runner and the versions to stderr, and runs cwltool's own command line with
the arguments unchanged; the exit code is cwltool's, or 2 if the sandbox
cannot be set up (a malformed CERISE_JS_* variable, mini-racer missing).

`--cores N`, first if given, is the job's share of the resource: parallel
steps and scatter run side by side on at most N cores (cwltool's own
parallel executor otherwise counts every core of the machine). `--root DIR`
(repeated) names the folders the job may use: what expressions name and what
cwltool reads must lie inside them (confine.py).
"""

import os
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import List, Optional, Sequence

from . import confine, sandbox

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
    cores, roots = 0, []
    while args[:1] in (['--cores'], ['--root']) and len(args) > 1:
        if args[0] == '--cores' and args[1].isdigit():
            cores = int(args[1])
        elif args[0] == '--root':
            roots.append(os.path.realpath(args[1]))
        else:
            break
        args = args[2:]
    if roots:  # read by the sandbox, and by cwltool's file access below
        os.environ[confine.ROOTS_ENV] = os.pathsep.join(roots)
        confine.confine_file_access(tuple(roots))
    try:
        engine = sandbox.install()
    except (ValueError, ImportError) as exc:
        print(f'{NAME}: {exc}', file=sys.stderr)
        return 2
    print(banner(engine), file=sys.stderr, flush=True)

    import cwltool.main
    from cwltool.executors import MultithreadedJobExecutor

    from . import schemas  # the CWL schemas from the disk cache, not parsed again

    schemas.keep_standard_schemas()
    cached = schemas.load_cache()
    executor = MultithreadedJobExecutor(max_parallel=cores) if cores else None
    try:
        return cwltool.main.main(argsl=args, executor=executor)
    finally:
        engine.close()
        schemas.save_cache(cached)
