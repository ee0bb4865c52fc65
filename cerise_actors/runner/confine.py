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
  outside them, and every location that is not a local file (`http(s)`,
  `ftp`, `s3`, any scheme but `file`): an expression returning
  `{"class": "File", "location": "http://..."}` once made the runner fetch
  that URL (issue 18).

Locations are read by boundary/locations.py, the one parser of the
service; the runner is deployed with a copy of it, so it imports nothing
else of cerise_actors.
"""

import os
import re
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Tuple

from cwl_utils.errors import JavascriptException

if TYPE_CHECKING:  # mypy checks the package, where the boundary is
    from ..boundary import locations
else:
    try:  # inside the service's package
        from ..boundary import locations
    except ImportError:  # deployed alone as cerise_runner: a copy shipped beside it
        from . import _locations as locations

ROOTS_ENV = 'CERISE_RUNNER_ROOTS'
_CLIMB = re.compile(r'(^|/)\.\.(/|$)')


def roots_from_env(environ=os.environ) -> Tuple[str, ...]:
    text = environ.get(ROOTS_ENV, '')
    return tuple(os.path.realpath(p) for p in text.split(os.pathsep) if p)


def inside(path: str, roots: Iterable[str]) -> bool:
    return locations.inside(path, roots)


def _local_path(text: str):
    """The file path a location or path names, or None if it names none here
    (a relative name); raises NotLocal for any other scheme."""
    return locations.local_path(text)


#: the keys of a File or Directory that name where it is
_LOCATION_KEYS = ('location', 'path')


def _is_file_object(item: dict) -> bool:
    cls = item.get('class')
    return isinstance(cls, str) and cls.rsplit('#', 1)[-1].rsplit(':', 1)[-1] in (
        'File',
        'Directory',
    )


def _refuse(item: Any) -> JavascriptException:
    return JavascriptException(
        f'JavaScript expression named {str(item)[:200]!r}: expressions may only name '
        f'files of the job and of the installed steps'
    )


def _plain_name(name: Any) -> bool:
    return isinstance(name, str) and name not in ('', '.', '..') and not set(name) & {'/', '\0'}


def file_object_problem(item: dict, roots: Tuple[str, ...]) -> Any:
    """What a File or Directory object names outside `roots`, or None: a
    location or path that is not a local file inside them, or a basename
    that is not a plain name (cwltool writes a literal File, `contents` and
    `basename`, under that name: an absolute one wrote anywhere)."""
    for key in _LOCATION_KEYS:
        location = item.get(key)
        if location is None:
            continue
        try:  # a File or Directory names a local file inside the roots
            path = _local_path(location)
        except ValueError:  # http(s), ftp, s3, another host, NUL, not text
            return location
        if path is not None and not inside(path, roots):
            return location
    if 'basename' in item and not _plain_name(item['basename']):
        return item['basename']
    return None


def _leaves(value: Any) -> Iterator[Any]:
    """Every dict, and every string, in a JSON value; iterative."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            yield item


def _file_problem(item: Any, roots: Tuple[str, ...]) -> Any:
    """file_object_problem of a File or Directory; None for anything else."""
    if isinstance(item, dict) and _is_file_object(item):
        return file_object_problem(item, roots)
    return None


def check_files(value: Any, roots: Tuple[str, ...]) -> None:
    """Refuse a document (an input object, a workflow) holding a File or
    Directory that names something outside `roots`; raises ValueError."""
    for item in _leaves(value):
        problem = _file_problem(item, roots)
        if problem is not None:
            raise ValueError(
                f'a {item.get("class")} names {str(problem)[:200]!r}, outside the job '
                f'and the installed steps'
            )


def check_value(value: Any, roots: Tuple[str, ...]) -> None:
    """Refuse an expression's value that names something outside `roots`:
    a File or Directory (see file_object_problem), or a string that climbs
    with `..` or names an absolute path outside them."""
    for item in _leaves(value):
        if isinstance(item, dict):
            problem = _file_problem(item, roots)
            if problem is not None:
                raise _refuse(problem)
            continue
        try:
            path = _local_path(item)
        except ValueError:  # a URL of another scheme in a plain string: data, not a file
            path = None
        if _CLIMB.search(item.split('://', 1)[-1]) or (
            path is not None and not inside(path, roots)
        ):
            raise _refuse(item)


def confine_file_access(roots: Tuple[str, ...]) -> None:
    """Make cwltool's StdFsAccess refuse every path outside `roots`."""
    from cwltool.errors import WorkflowException
    from cwltool.stdfsaccess import StdFsAccess

    plain_abs = StdFsAccess._abs

    def confined_abs(self, p: str) -> str:
        result = plain_abs(self, p)
        try:
            path = _local_path(result)
        except ValueError:  # http(s) and every other scheme: never fetched
            path = None
        if path is None or not inside(path, roots):
            raise WorkflowException(
                f'{p}: outside the job and the installed steps; a workflow may not read it'
            )
        return result

    StdFsAccess._abs = confined_abs  # type: ignore[method-assign]  # cwltool has no hook for it
