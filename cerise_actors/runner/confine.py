"""Keeping what expressions name, and what cwltool reads, inside the job.

The sandbox stops JavaScript from touching files itself, but an expression
can *return* a File or Directory with any location, a secondaryFiles
pattern such as `../../secret`, or a glob such as `/etc/*`, and cwltool
would then read (and copy back) what it names. So the runner is given the
folders a job may use (`--root DIR`: the job's own folder and the installed
steps) and

- every value an expression returns is checked: a File or Directory (at any
  depth) must lie inside them, and no string may climb with `..` or name an
  absolute path outside them;
- cwltool's file access (globs, existence checks, reads) refuses paths
  outside them.

It imports nothing of cerise_actors: it is copied alone to the resources.
"""

import os
import re
from typing import Any, Iterable, Tuple
from urllib.parse import unquote, urlsplit

from cwl_utils.errors import JavascriptException

ROOTS_ENV = 'CERISE_RUNNER_ROOTS'
_CLIMB = re.compile(r'(^|/)\.\.(/|$)')


def roots_from_env(environ=os.environ) -> Tuple[str, ...]:
    text = environ.get(ROOTS_ENV, '')
    return tuple(os.path.realpath(p) for p in text.split(os.pathsep) if p)


def inside(path: str, roots: Iterable[str]) -> bool:
    real = os.path.realpath(path)
    return any(real == root or real.startswith(root.rstrip('/') + '/') for root in roots)


def _local_path(text: str):
    """The file path a location or path names, or None if it names none here."""
    if text.startswith('file://'):
        return unquote(urlsplit(text).path)
    if text.startswith('/'):
        return text
    return None


def check_value(value: Any, roots: Tuple[str, ...]) -> None:
    """Refuse an expression's value that names something outside `roots`."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            path = _local_path(item)
            if _CLIMB.search(item.split('://', 1)[-1]) or (
                path is not None and not inside(path, roots)
            ):
                raise JavascriptException(
                    f'JavaScript expression named {item[:200]!r}: expressions may only name '
                    f'files of the job and of the installed steps'
                )


def confine_file_access(roots: Tuple[str, ...]) -> None:
    """Make cwltool's StdFsAccess refuse every path outside `roots`."""
    from cwltool.errors import WorkflowException
    from cwltool.stdfsaccess import StdFsAccess

    plain_abs = StdFsAccess._abs

    def confined_abs(self, p: str) -> str:
        result = plain_abs(self, p)
        if not inside(result, roots):
            raise WorkflowException(
                f'{p}: outside the job and the installed steps; a workflow may not read it'
            )
        return result

    StdFsAccess._abs = confined_abs
