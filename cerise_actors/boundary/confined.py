"""A folder whose files are reached without ever following a link out of it.

A check on a path and a later open of that path are two separate looks at
the file system, and whoever may write in the folder can swap a folder for
a symbolic link to `/etc` in between. So nothing here checks a path and
then opens it: a `ConfinedRoot` opens the root once, then opens each
component of a relative name from the folder opened before it (`openat`
with `O_NOFOLLOW`, `O_DIRECTORY` for folders). What it opens is, by
construction, below the root, whatever happens in between: a link met
anywhere on the way is refused, never followed, never resolved.

Names are relative, `/`-separated, as the service computes them (see
locations.py for turning a URL into one). `..`, an absolute name and NUL
are refused outright; empty and `.` components are skipped. The root
itself is trusted (it is configured by the administrator) and may be
reached through links.

Errors: `Outside` (the name leaves the root: `..`, absolute, NUL or a
link on the way) and `WrongKind` (it is there but is not what was asked:
a FIFO where a file was wanted, a file where a folder was), both
`Refused`; a missing file is the usual `FileNotFoundError`, and other
`OSError`s pass as they are. Callers translate them into their own errors
with a message naming what the user named.

Standard library only; this module imports nothing of cerise_actors.
"""

import contextlib
import errno
import os
import stat
from typing import BinaryIO, Iterator, List, NamedTuple, Optional, Union

_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
#: O_NONBLOCK: opening a FIFO must not wait for a writer (or a reader)
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC
#: errno values of an open refused because the name is a link (or not a folder)
_NOT_FOLLOWED = (errno.ELOOP, errno.ENOTDIR, errno.EMLINK)

#: what a file that is not a regular file is, in words for a user
KINDS = {
    stat.S_IFIFO: 'a named pipe (FIFO)',
    stat.S_IFSOCK: 'a socket',
    stat.S_IFCHR: 'a character device',
    stat.S_IFBLK: 'a block device',
    stat.S_IFDIR: 'a folder, not a file',
    stat.S_IFLNK: 'a symbolic link',
    stat.S_IFREG: 'a file, not a folder',
}

#: how deep a walk goes before it refuses (each level holds a descriptor)
MAX_DEPTH = 200


class Refused(Exception):
    """A name the confined root will not follow or open.

    `name` is the relative name asked for, `reason` says why in words for
    a user ("input/a is a symbolic link").
    """

    def __init__(self, name: str, reason: str):
        super().__init__(f'{name}: {reason}' if name else reason)
        self.name = name
        self.reason = reason


class Outside(Refused):
    """The name leaves the root: absolute, `..`, NUL, or a link on the way."""


class WrongKind(Refused):
    """The name is there but is not what was asked for; `kind` says what it is."""

    def __init__(self, name: str, reason: str, kind: str):
        super().__init__(name, reason)
        self.kind = kind


class Entry(NamedTuple):
    """One thing met by `ConfinedRoot.walk`."""

    name: str  # relative to the folder walked, '/'-separated
    stat: os.stat_result  # of the thing itself, never of a link's target

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.stat.st_mode)

    @property
    def is_file(self) -> bool:
        return stat.S_ISREG(self.stat.st_mode)

    @property
    def is_link(self) -> bool:
        return stat.S_ISLNK(self.stat.st_mode)


def kind_of(mode: int) -> str:
    """What a file of `st_mode` is, in words."""
    return KINDS.get(stat.S_IFMT(mode), 'not a regular file')


def components(name: str) -> List[str]:
    """The components of a relative name; raises Outside for `..`, NUL or `/...`."""
    if not isinstance(name, str):
        raise TypeError(f'a relative name is a str, not {type(name).__name__}')
    if '\x00' in name:
        raise Outside(repr(name), 'contains a NUL character, which no file name can hold')
    if name.startswith('/'):
        raise Outside(name, 'is an absolute name; only names below the folder are followed')
    parts = [part for part in name.split('/') if part not in ('', '.')]
    if '..' in parts:
        raise Outside(name, 'climbs out with ..; only names below the folder are followed')
    return parts


class ConfinedRoot:
    """One folder; files below it are located, read, created and walked
    without following any link (see the module's docstring)."""

    def __init__(self, root: 'Union[str, os.PathLike[str]]') -> None:
        self.root: str = os.fspath(root)

    def __repr__(self) -> str:
        return f'ConfinedRoot({self.root!r})'

    # --- reading -----------------------------------------------------------------
    def locate(self, name: str) -> os.stat_result:
        """What `name` is, like `lstat`: a link is told as a link, not followed.

        Raises FileNotFoundError if it is not there, Outside if the way to
        it leaves the root.
        """
        parts = components(name)
        with self._folder(parts[:-1], name) as fd:
            if not parts:
                return os.fstat(fd)
            return os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)

    def open_read(self, name: str) -> BinaryIO:
        """A binary stream of the regular file `name`, opened without
        following any link. A FIFO, socket or device is refused before it is
        read (it would block or never end), as is a folder or a link."""
        return os.fdopen(self.open_fd(name), 'rb')

    def open_fd(self, name: str) -> int:
        """`open_read`, as a bare (blocking) descriptor the caller closes."""
        parts = components(name)
        if not parts:
            raise WrongKind(name, 'is the folder itself, not a file', KINDS[stat.S_IFDIR])
        with self._folder(parts[:-1], name) as parent:
            fd = self._open(parent, parts[-1], _READ, name)
        try:
            opened = os.fstat(fd)
            if not stat.S_ISREG(opened.st_mode):
                kind = kind_of(opened.st_mode)
                raise WrongKind(name, f'is {kind}; only regular files are read', kind)
            os.set_blocking(fd, True)
            return fd
        except BaseException:
            os.close(fd)
            raise

    @contextlib.contextmanager
    def folder(self, name: str) -> Iterator[int]:
        """A descriptor of the folder `name` (closed on leaving), reached
        without following any link."""
        with self._folder(components(name), name) as fd:
            yield fd

    def walk(self, name: str = '') -> Iterator[Entry]:
        """Everything below the folder `name`, parents first, sorted by name.

        Links are reported (`Entry.is_link`), never followed; a folder is
        entered through `openat(O_NOFOLLOW | O_DIRECTORY)`, so one swapped
        for a link meanwhile is refused with Outside. Errors are raised,
        never skipped: a walk that cannot see everything does not end as if
        it had.
        """
        parts = components(name)
        with self._folder(parts, name) as fd:
            yield from self._walk(fd, '', name, 0)

    def _walk(self, fd: int, prefix: str, name: str, depth: int) -> Iterator[Entry]:
        if depth > MAX_DEPTH:
            raise Refused(name, f'is nested deeper than {MAX_DEPTH} folders')
        with os.scandir(fd) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
        for entry in entries:
            rel = prefix + entry.name
            info = entry.stat(follow_symlinks=False)
            yield Entry(rel, info)
            if stat.S_ISDIR(info.st_mode):
                below = self._open(fd, entry.name, _FOLDER, _join(name, rel))
                try:
                    yield from self._walk(below, rel + '/', name, depth + 1)
                finally:
                    os.close(below)

    # --- writing -----------------------------------------------------------------
    def mkdir(self, name: str, mode: int = 0o777) -> None:
        """Create the folder `name` and its parents; fine if it exists. A
        link on the way (or in the place of the folder) is refused. The
        root itself is made if it is missing (it is trusted)."""
        parts = components(name)
        os.makedirs(self.root, exist_ok=True)
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
        try:
            for number, part in enumerate(parts):
                try:
                    os.mkdir(part, mode, dir_fd=fd)
                except FileExistsError:
                    pass
                below = self._open(fd, part, _FOLDER, '/'.join(parts[: number + 1]))
                os.close(fd)
                fd = below
        finally:
            os.close(fd)

    def create(self, name: str, mode: int = 0o666) -> BinaryIO:
        """A new, empty regular file `name`, open for writing.

        Its folder must exist. Whatever file was there is removed first
        (a link is removed, never written through); a folder is not.
        """
        parts = components(name)
        if not parts:
            raise WrongKind(name, 'is the folder itself, not a file', KINDS[stat.S_IFDIR])
        with self._folder(parts[:-1], name) as parent:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(parts[-1], dir_fd=parent)
            fd = self._open(parent, parts[-1], _CREATE, name, mode)
        try:
            os.set_blocking(fd, True)
            return os.fdopen(fd, 'wb')
        except BaseException:
            os.close(fd)
            raise

    def rename(self, old: str, new: str) -> None:
        """Move `old` to `new` (replacing a file there), both below the root.
        A rename never follows a link in its last components."""
        old_parts, new_parts = components(old), components(new)
        if not old_parts or not new_parts:
            raise WrongKind(old if not old_parts else new, 'is the folder itself', 'a folder')
        with self._folder(old_parts[:-1], old) as src, self._folder(new_parts[:-1], new) as dst:
            os.rename(old_parts[-1], new_parts[-1], src_dir_fd=src, dst_dir_fd=dst)

    def unlink(self, name: str) -> None:
        """Remove the file (or link) `name`; fine if it is not there."""
        parts = components(name)
        if not parts:
            raise WrongKind(name, 'is the folder itself', 'a folder')
        with self._folder(parts[:-1], name) as parent:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(parts[-1], dir_fd=parent)

    def remove(self, name: str) -> None:
        """Remove `name`, a file, a link (not what it points to) or a whole
        folder, without following any link; fine if it is not there."""
        parts = components(name)
        if not parts:
            raise WrongKind(name, 'is the folder itself, which is never removed', 'a folder')
        with self._folder(parts[:-1], name) as parent:
            _remove_at(parent, parts[-1], 0)

    # --- the one walk of components ----------------------------------------------
    @contextlib.contextmanager
    def _folder(self, parts: List[str], name: str) -> Iterator[int]:
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
        try:
            for number, part in enumerate(parts):
                below = self._open(fd, part, _FOLDER, '/'.join(parts[: number + 1]), named=name)
                os.close(fd)
                fd = below
            yield fd
        finally:
            os.close(fd)

    @staticmethod
    def _open(
        fd: int, part: str, flags: int, where: str, mode: int = 0o666, named: Optional[str] = None
    ) -> int:
        """openat(fd, part); a link (or a non-folder where a folder is
        needed) comes out as Outside or WrongKind naming `where`.

        The errno of a refused open says only "a link, or not a folder";
        an lstat after it tells which, unless the thing was swapped back
        meanwhile: then it was a link (or a file) at the open, and the
        refusal says so rather than pass the bare errno on.
        """
        named = where if named is None else named
        try:
            return os.open(part, flags, mode, dir_fd=fd)
        except OSError as exc:
            if exc.errno not in _NOT_FOLLOWED:
                raise
            try:
                found = os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode
            except OSError:
                found = None
            if found is not None and stat.S_ISLNK(found):
                raise Outside(
                    named, f'{where} is a symbolic link, which is never followed'
                ) from None
            if found is not None and flags & os.O_DIRECTORY and not stat.S_ISDIR(found):
                kind = kind_of(found)
                raise WrongKind(named, f'{where} is {kind}, not a folder', kind) from None
            raise Outside(
                named,
                f'{where} changed while it was opened: a symbolic link (never followed) '
                f'or a file was in its place',
            ) from None


def _remove_at(parent: int, part: str, depth: int) -> None:
    """Remove `part` of the folder `parent`: a folder is emptied through a
    descriptor opened with O_NOFOLLOW, so nothing outside it is touched."""
    try:
        found = os.stat(part, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(found.st_mode):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part, dir_fd=parent)
        return
    if depth > MAX_DEPTH:
        raise Refused(part, f'is nested deeper than {MAX_DEPTH} folders')
    fd = ConfinedRoot._open(parent, part, _FOLDER, part)
    try:
        with os.scandir(fd) as listing:
            names = [entry.name for entry in listing]
        for below in names:
            _remove_at(fd, below, depth + 1)
    finally:
        os.close(fd)
    with contextlib.suppress(FileNotFoundError):
        os.rmdir(part, dir_fd=parent)


def _join(name: str, rel: str) -> str:
    parts = [part for part in name.split('/') if part not in ('', '.')]
    return '/'.join(parts + [rel])
