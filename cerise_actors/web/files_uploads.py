"""Writes to /files that appear whole or not at all, in the folder that was checked.

WsgiDAV's FilesystemProvider makes an empty file when a PUT starts and
then writes the body into it, truncating an existing file in place: a
stager copying that file as a job's input read a half-written file (300 MB
became 68 MB, and the job ended in Success). Here a PUT (and a COPY, see
files_provider.py) writes a hidden temporary file beside its target
(UPLOAD_PREFIX and a random part, so the name is short whatever the
target's) and renames it over the target once the whole body is written. A
reader sees the old file or the new one, a new file does not exist until
it is complete, and a failed write leaves nothing. Listings leave the
temporary files out; one left by a killed service is removed with its
folder.

The folder is opened once, through `boundary.confined` (no link followed on
the way), and held as a descriptor for the whole upload: the temporary file
is created in it (`O_CREAT | O_EXCL | O_NOFOLLOW`), and renamed in it
(`renameat`), so a folder swapped for a link meanwhile changes nothing, and
the target, whatever it has become, is replaced, never written through.
"""

import contextlib
import errno
import os
import secrets
import stat
from typing import Protocol

from wsgidav.dav_error import HTTP_INSUFFICIENT_STORAGE, DAVError

from ..boundary.confined import ConfinedRoot, WrongKind
from ..defaults import UPLOAD_PREFIX

_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)


def open_for_upload(name: str, dir_fd: int):
    """A new file `name` in the folder `dir_fd`, opened for writing; never an existing one."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC
    return os.fdopen(os.open(name, flags, 0o666, dir_fd=dir_fd), 'wb')


class Writing(Protocol):
    """Where WsgiDAV writes the body of a PUT (`Replacement.stream`)."""

    def write(self, data: bytes) -> object: ...

    def close(self) -> object: ...


class Replacement:
    """A file being written under a hidden name, to be renamed over `name` below `confined`.

    `stream` takes the bytes; then `commit()` puts the file in place, or
    `abandon()` removes it. Either one closes the folder's descriptor.
    """

    def __init__(self, confined: ConfinedRoot, name: str):
        folder, _, self._last = name.rpartition('/')
        if not self._last:
            raise WrongKind(name, 'is a folder, not a file', 'a folder')
        self._held = contextlib.ExitStack()
        try:
            self._folder = self._held.enter_context(confined.folder(folder))
            self._hidden = UPLOAD_PREFIX + secrets.token_hex(8)
            self._file = open_for_upload(self._hidden, self._folder)
        except BaseException:
            self._held.close()
            raise
        self.stream = _Upload(self._file)

    def keep_times_and_mode(self, info: os.stat_result) -> None:
        """Give the written file the permissions and times of `info` (a copy's source)."""
        self._file.flush()
        os.chmod(self._file.fileno(), stat.S_IMODE(info.st_mode) & 0o777)
        os.utime(self._file.fileno(), ns=(info.st_atime_ns, info.st_mtime_ns))

    def commit(self) -> os.stat_result:
        """Rename the written file over the target; its lstat."""
        try:
            self.stream.close()
            info = os.stat(self._hidden, dir_fd=self._folder, follow_symlinks=False)
            os.rename(self._hidden, self._last, src_dir_fd=self._folder, dst_dir_fd=self._folder)
            return info
        except BaseException:
            self.abandon()
            raise
        finally:
            self._held.close()

    def abandon(self) -> None:
        """Remove the written file (after an error); WsgiDAV does not close it then."""
        try:
            with contextlib.suppress(OSError):
                self._file.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._hidden, dir_fd=self._folder)
        finally:
            self._held.close()


class _Upload:
    """The file an upload is written to; a full disk is answered 507, not 500."""

    def __init__(self, file):
        self._file = file

    def write(self, data):
        try:
            return self._file.write(data)
        except OSError as exc:
            raise _storage_error(exc) from exc

    def close(self):
        try:
            self._file.close()
        except OSError as exc:
            raise _storage_error(exc) from exc


def _storage_error(exc: OSError) -> Exception:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DAVError(HTTP_INSUFFICIENT_STORAGE, 'the disk of the file exchange is full')
    return exc
