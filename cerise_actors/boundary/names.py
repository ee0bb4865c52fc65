"""Relative names as users write them in URLs, resolved lexically, once.

Every place where a user names a file by a path (a WebDAV request under
/files, its Destination header, a WES attachment or `workflow_url`) turns
that path into a tuple of names with `resolve`, and checks and uses that
tuple only. Resolving first and checking second is the point: a check made
on the text `output/.` or `input/%2e` saw a name that was not `output` or
`input`, and the folder was deleted all the same.

The rules, in the order they apply:

- With `decode=True` the path is percent-decoded once, as a UTF-8 URL
  path; `%2f` becomes a separator, as it does for the file system that
  will see it. (A WSGI server has already decoded PATH_INFO once, so the
  WebDAV layer passes `decode=False`.)
- A NUL (no file name holds one) or a backslash (a separator on Windows,
  so the name is ambiguous) is refused, and so is any other control
  character (C0, DEL, C1: `x\x01y`, a newline, an escape sequence): no
  user means one in a file name, and one that reaches a log line, a
  terminal or a listing can forge what follows it.
- Empty and `.` segments are dropped; `..` removes the name before it,
  and a `..` with no name before it climbs above the root: `LeavesRoot`.
  This is RFC 3986's remove_dot_segments, and what WsgiDAV does.
- A name that would decode once more to `.`, `..`, or to text holding `/`,
  a backslash or a NUL (`%252e`, `%25252e%252e`, ...) is refused: a
  component that decodes twice (a proxy, a future WsgiDAV option) would
  see a dot segment or separator we did not, so no one gets to choose.
- More than MAX_DEPTH names, or a name longer than MAX_NAME_BYTES in
  UTF-8, is refused. Names removed by a later `..` are held to the length
  cap too.

The rules are lexical: no file system is consulted, so a symlink is not
followed here; `confined.py` opens what the names designate without
following one.
"""

import re
import urllib.parse
from typing import List, Tuple

#: the most folders a name may lie below its root (an input tree fits easily)
MAX_DEPTH = 64
#: the longest single name, in bytes of UTF-8 (NAME_MAX of common Linux file systems)
MAX_NAME_BYTES = 255

_DOTS = ('.', '..')
_FORBIDDEN = ('\x00', '\\')
#: C0 control characters, DEL and C1 control characters
_CONTROL = re.compile('[\x00-\x1f\x7f-\x9f]')


class NameRefused(ValueError):
    """A path that cannot be resolved safely. The message completes "the path ..."."""


class LeavesRoot(NameRefused):
    """A path whose `..` segments climb above its root."""


def resolve(path: str, *, decode: bool = False, max_depth: int = MAX_DEPTH) -> Tuple[str, ...]:
    """The names below a root that the relative URL path `path` designates.

    A leading `/` is the root itself: `/a/./b/../c` and `a/c` both give
    ('a', 'c'), and `''`, `/`, `.` give (). Raises `LeavesRoot` if `..`
    climbs above the root and `NameRefused` for the other rules in this
    module's docstring.
    """
    if decode:
        try:
            path = urllib.parse.unquote_to_bytes(path).decode('utf-8')
        except UnicodeDecodeError:
            raise NameRefused('is not UTF-8 once percent-decoded') from None
    if '\x00' in path:
        raise NameRefused('holds a NUL character, which no file name can hold')
    if '\\' in path:
        raise NameRefused('holds a backslash; separate folders with /')
    control = _CONTROL.search(path)
    if control is not None:
        raise NameRefused(
            f'holds a control character ({ord(control.group()):#04x}), which no name here may hold'
        )
    names: List[str] = []
    for segment in path.split('/'):
        if segment in ('', '.'):
            continue
        if segment == '..':
            if not names:
                raise LeavesRoot('leaves its folder with ..')
            names.pop()
            continue
        if _decodes_to_danger(segment):
            raise NameRefused(
                f'holds a name, {segment[:40]!r}, that percent-decodes to a dot segment or '
                'a separator: it was encoded twice; encode names once'
            )
        if len(segment.encode('utf-8', 'surrogateescape')) > MAX_NAME_BYTES:
            raise NameRefused(f'has a name longer than {MAX_NAME_BYTES} bytes')
        names.append(segment)
    if len(names) > max_depth:
        raise NameRefused(f'is deeper than {max_depth} folders')
    return tuple(names)


def resolve_below(path: str, root: str, *, decode: bool = False) -> Tuple[str, ...]:
    """The names below the absolute path `root` of the absolute path `path`.

    Both are resolved lexically (`root` is not decoded); `LeavesRoot` if
    `path` is not `root` or below it, NameRefused as `resolve`. Used for file
    URLs and absolute paths a user gives: `/ex/../cerise.db` is not below
    `/ex`, whatever its text starts with.
    """
    if not path.startswith('/') or not root.startswith('/'):
        raise NameRefused('is not an absolute path')
    top = resolve(root, max_depth=len(root))
    names = resolve(path, decode=decode, max_depth=len(top) + MAX_DEPTH)
    if names[: len(top)] != top:
        raise LeavesRoot(f'is outside {root}')
    return names[len(top) :]


def _decodes_to_danger(segment: str) -> bool:
    """Whether decoding `segment` again (and again) gives a dot segment or separator."""
    seen = segment
    while '%' in seen:
        decoded = urllib.parse.unquote(seen)
        if decoded == seen:
            return False
        if decoded in _DOTS or '/' in decoded or any(c in decoded for c in _FORBIDDEN):
            return True
        seen = decoded
    return False
