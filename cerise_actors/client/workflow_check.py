"""`cerise-actors submit`'s look at the workflow file before anything is uploaded.

A workflow that is not valid YAML, or whose `run:` names a step the service
does not offer, used to be uploaded and submitted, and the user learnt of
it from the job's PermanentFailure. The CLI has the file, so it parses it
first (naming file, line and column of a YAML error) and compares each
`run:` that names an installed step with GET /steps (naming the file, the
line and the closest offered steps). Inline tools, `#fragments` of a packed
document and `$import`s are left to the service, as is everything when
PyYAML is missing (the client needs only the standard library) or the
service has no /steps (an older Cerise).
"""

import difflib
import json
import posixpath
from pathlib import Path
from typing import Any, Callable, Iterator, List, Tuple

from .errors import ServiceError
from .input_files import UsageError


def check_workflow(path: Path, offered: Callable[[], List[dict]]) -> None:
    """UsageError if the workflow at `path` is not valid YAML, or names a step
    that `offered()` (GET /steps) does not list."""
    text = path.read_text(encoding='utf-8', errors='replace')
    root = parse(text, path.name)
    if root is None:
        return
    runs = list(step_runs(root))
    if not runs:
        return
    try:
        names = [str(step.get('name')) for step in offered() if isinstance(step, dict)]
    except ServiceError as exc:
        if exc.status == 404:  # an older Cerise service: it checks when staging
            return
        raise
    problems = unknown_steps(runs, names, path.name)
    if problems:
        raise UsageError('\ncerise-actors: '.join(problems))


def parse(text: str, name: str) -> Any:
    """The YAML node tree of the workflow; None without PyYAML; UsageError
    naming file, line and column if it is not valid YAML."""
    try:
        import yaml
    except ImportError:
        try:
            json.loads(text)
        except ValueError as exc:
            if isinstance(exc, json.JSONDecodeError) and text.lstrip().startswith('{'):
                raise UsageError(
                    f'{name}:{exc.lineno}:{exc.colno}: the workflow is not valid JSON: {exc.msg}'
                ) from None
        return None
    try:
        return yaml.compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f'{name}:{mark.line + 1}:{mark.column + 1}' if mark else name
        at = f' (line {mark.line + 1}, column {mark.column + 1})' if mark else ''
        what = ' '.join(str(part) for part in (exc.context, exc.problem) if part)
        raise UsageError(f'{where}: the workflow is not valid YAML{at}: {what}') from None
    except yaml.YAMLError as exc:
        raise UsageError(f'{name}: the workflow is not valid YAML: {exc}') from None


def step_runs(root: Any) -> Iterator[Tuple[str, int]]:
    """(`run:` value, line) of each step naming a file, in a Workflow or a `$graph`."""
    for process in _processes(root):
        steps = _get(process, 'steps')
        items: List[Any] = []
        if _is(steps, 'MappingNode'):
            items = [value for _, value in steps.value]
        elif _is(steps, 'SequenceNode'):
            items = list(steps.value)
        for step in items:
            run = _get(step, 'run')
            if _is(run, 'ScalarNode') and isinstance(run.value, str):
                value = run.value.strip()
                if value and not value.startswith('#') and '://' not in value:
                    yield value, run.start_mark.line + 1


def unknown_steps(runs: List[Tuple[str, int]], offered: List[str], name: str) -> List[str]:
    """One line per `run:` naming no offered step, with the closest offered ones."""
    problems = []
    for run, line in runs:
        wanted = posixpath.normpath(run)
        if wanted in offered:
            continue
        close = difflib.get_close_matches(wanted, offered, n=3, cutoff=0.6)
        hint = f'; the closest it offers: {", ".join(close)}' if close else ''
        problems.append(
            f'{name}:{line}: step {_shown(run)} is not offered by the service{hint} '
            f'(`cerise-actors steps` lists them all); nothing was uploaded'
        )
    return problems


def _processes(root: Any) -> Iterator[Any]:
    graph = _get(root, '$graph')
    if _is(graph, 'SequenceNode'):
        yield from graph.value
    elif _is(root, 'MappingNode'):
        yield root


def _get(node: Any, key: str) -> Any:
    """The value node of `key` in a mapping node, else None (nodes are PyYAML's,
    known by their class names: PyYAML may be missing, so they are Any here)."""
    if not _is(node, 'MappingNode'):
        return None
    for name, value in node.value:
        if getattr(name, 'value', None) == key:
            return value
    return None


def _is(node: Any, kind: str) -> bool:
    return type(node).__name__ == kind


def _shown(text: str) -> str:
    shown = repr(text)
    return shown if len(shown) <= 80 else shown[:77] + '...'
