"""The one parser of locations: which local path a URL or a path names.

Users, workflows, expressions and the runner's outputs name files by
location: an absolute path, a `file://` URL, a relative name, or a URL of
some other scheme. Every part of Cerise that must decide whether such a
location is a local file, and whether it lies inside a given folder, asks
this module, so that a location is read the same way everywhere:

- `local_path(location)`: the local path of an absolute path or a `file://`
  URL (host empty or `localhost`, percent-decoded); None for a relative
  name; `NotLocal` for every other scheme, another host, or NUL. A
  fragment (`#...`) names a part of a document, not a file, and is left
  out; a query is refused, since no local file has one.
- `inside(path, roots)`: whether a path, *with every link resolved*
  (`realpath`), is one of `roots` or below one. For code that hands the
  path to something else that will follow links (the runner hands paths
  to cwltool). It answers about the file system as it is now: to read or
  write a file below a root safely, open it through
  `confined.ConfinedRoot` instead.
- `relative_below(path, root)`: the same question asked of the text
  only (dot segments resolved lexically, no file system look-up; names
  in URLs are read by `names.py`). For code that then reaches the file
  through a `ConfinedRoot`, which follows no link, so the text is all there is to
  check; and for paths on another machine (the runner's outputs on a
  compute resource), which no `realpath` here can see.

Both kinds of check fail closed: anything they cannot read is refused.

Standard library only, no relative imports: the runner ships a copy of this
module alone to each compute resource.
"""

import os
import re
from typing import Iterable, List, Optional, Tuple
from urllib.parse import unquote, urlsplit

#: a URL scheme, as RFC 3986 spells it, at the start of a location
SCHEME = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*:')
#: the `reason` of a refusal for a NUL character (literal or %00)
NUL = 'contains a NUL character, which no file name can hold'


class NotLocal(ValueError):
    """The location names no local file: another scheme, another host, a
    query, or a NUL character. `scheme` is the URL's scheme in lower case
    ('' for a path)."""

    def __init__(self, location: str, reason: str, scheme: str = ''):
        super().__init__(f'{location!r}: {reason}')
        self.location = location
        self.reason = reason
        self.scheme = scheme


def scheme_of(location: str) -> str:
    """The scheme of a URL in lower case, '' if `location` has none."""
    match = SCHEME.match(location)
    return match.group(0)[:-1].lower() if match else ''


def local_path(location: str) -> Optional[str]:
    """The local path `location` names, None if it is a relative name.

    An absolute path is taken as it is written (no percent-decoding). A
    `file://` URL must have no host or `localhost`; its path is
    percent-decoded. Raises NotLocal for any other scheme (http, https,
    ftp, s3, data, keep, ...), a file URL with another host, a query, or
    NUL (literal or `%00`). Dot segments are left as written: see
    `normalise`.
    """
    if not isinstance(location, str):
        raise NotLocal(repr(location), 'is not a string')
    if '\x00' in location:
        raise NotLocal(location, NUL)
    if location.startswith('/'):
        return location
    scheme = scheme_of(location)
    if not scheme:
        return None
    if scheme != 'file':
        raise NotLocal(location, f'is a {scheme}: URL, not a local file', scheme)
    try:
        parts = urlsplit(location)
    except ValueError as exc:  # e.g. an unbalanced [ in the host
        raise NotLocal(location, f'is not a valid URL ({exc})', scheme) from None
    if parts.netloc not in ('', 'localhost'):
        raise NotLocal(location, 'is a file URL naming another host', scheme)
    if parts.query or location.endswith('?'):
        raise NotLocal(location, 'is a file URL with a query, which no file has', scheme)
    path = unquote(parts.path, errors='surrogateescape')
    if '\x00' in path:
        raise NotLocal(location, NUL, scheme)
    if not path.startswith('/'):
        raise NotLocal(location, 'is a file URL without an absolute path', scheme)
    return path


def normalise(path: str) -> str:
    """`path` with `.`, `..` and repeated slashes resolved as text.

    Like `posixpath.normpath`, except that a leading `//` becomes `/` and
    `..` at the top stays at the top, as the kernel treats it. Only right
    for a path without links, or one whose links will not be followed.
    """
    absolute = path.startswith('/')
    kept: List[str] = []
    for part in path.split('/'):
        if part in ('', '.'):
            continue
        if part == '..':
            if kept and kept[-1] != '..':
                kept.pop()
            elif not absolute:
                kept.append('..')
            continue
        kept.append(part)
    text = '/'.join(kept)
    return '/' + text if absolute else (text or '.')


def relative_below(path: str, root: str) -> Optional[str]:
    """The name of `path` relative to `root` ('' for the root itself), or
    None if it is not below it; both absolute, compared as text (see
    `normalise`). No file system look-up: the answer is about the text."""
    if not (isinstance(path, str) and isinstance(root, str)):
        return None
    if not (path.startswith('/') and root.startswith('/')) or '\x00' in path + root:
        return None
    path, root = normalise(path), normalise(root)
    if path == root:
        return ''
    prefix = root.rstrip('/') + '/'
    return path[len(prefix) :] if path.startswith(prefix) else None


def real_roots(roots: Iterable[str]) -> Tuple[str, ...]:
    """`roots` with their links resolved, as `inside` compares them."""
    return tuple(os.path.realpath(root) for root in roots)


def inside(path: str, roots: Iterable[str]) -> bool:
    """Whether `path`, with every link resolved, is one of `roots` (also
    resolved) or below one. False for anything it cannot look at (NUL, not
    a string), so a caller refuses it. See the module's docstring for when
    this is the right check and when a ConfinedRoot is."""
    if not isinstance(path, str) or '\x00' in path:
        return False
    try:
        real = os.path.realpath(path)
        resolved = real_roots(roots)
    except (OSError, ValueError):
        return False
    return any(real == root or real.startswith(root.rstrip('/') + '/') for root in resolved)
