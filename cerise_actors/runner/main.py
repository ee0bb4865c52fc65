"""`python -m cerise_actors.runner [--cores N] <cwltool arguments>`: cwltool with the sandbox.

It installs the JavaScript sandbox (sandbox.py), prints one line naming the
runner and the versions to stderr, and runs cwltool's own command line with
the arguments unchanged; the exit code is cwltool's, or 2 if the sandbox
cannot be set up (a malformed CERISE_JS_* variable, mini-racer missing).

`--cores N`, first if given, is the job's share of the resource: parallel
steps and scatter run side by side on at most N cores (cwltool's own
parallel executor otherwise counts every core of the machine). `--root DIR`
(repeated) names the folders the job may use: what expressions name and what
cwltool reads must lie inside them (confine.py). `--steps DIR` names the
installed API: a root too, and the only place processes may come from
(loader.py). With either, the runner is confined: it loads only the
service's self-contained rewritten workflow, reads documents only from the
installed steps and the job's folder, fetches nothing over the network, and
runs only installed steps, whatever it is handed.
"""

import os
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import List, Optional, Sequence

from . import confine, loader, sandbox

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
    cores, roots, steps = 0, [], []
    while args[:1] in (['--cores'], ['--root'], ['--steps']) and len(args) > 1:
        if args[0] == '--cores' and args[1].isdigit():
            # no more side by side than this machine has cores: a workflow asking
            # for 100,000 made cwltool start as many threads, and fail
            cores = min(int(args[1]), os.cpu_count() or 1)
        elif args[0] == '--root':
            roots.append(os.path.realpath(args[1]))
        elif args[0] == '--steps':
            steps.append(args[1])
            roots.append(os.path.realpath(args[1]))
        else:
            break
        args = args[2:]
    confinement = loader.Confinement(steps, roots) if roots else None
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
        if confinement is None:
            return cwltool.main.main(argsl=args, executor=executor)
        return _confined_main(args, confinement, executor)
    finally:
        engine.close()
        schemas.save_cache(cached)


def _confined_main(args: List[str], confinement: 'loader.Confinement', executor) -> int:
    """cwltool's main with the loader confined (loader.py); a workflow the
    runner will not load ends with cwltool's own words for a refused
    workflow, so the service reports a PermanentFailure."""
    import cwltool.main
    from cwltool.argparser import arg_parser

    parsed = arg_parser().parse_args(args)
    if parsed.workflow:
        try:
            loader.check_workflow_file(parsed.workflow, confinement)
            if len(parsed.job_order) != 1:  # one input object, no inputs as options
                raise loader.Refused(f'expected one input object, got {parsed.job_order!r}')
            loader.check_job_order(parsed.job_order[0], confinement)
        except loader.Refused as refused:
            print(f'{NAME}: Workflow error, refused to load it: {refused}', file=sys.stderr)
            return 1
    loader.no_downloads()
    context, _ = loader.loading_context(parsed, confinement)
    return cwltool.main.main(args=parsed, executor=executor, loadingContext=context)
