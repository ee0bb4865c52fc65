"""Uploads over /files that appear whole or not at all.

WsgiDAV's FilesystemProvider makes an empty file when a PUT starts and
then writes the body into it, truncating an existing file in place: a
stager copying that file as a job's input read a half-written file (300 MB
became 68 MB, and the job ended in Success). Here a PUT writes a hidden
temporary file beside its target (UPLOAD_PREFIX and a random part, so the
name is short whatever the target's) and renames it over the target once
the whole body is written. A reader sees the old file or the new one, a new
file does not exist until it is complete, and a failed write leaves
nothing. Listings leave the temporary files out; one left by a killed
service is removed with its folder.
"""

import errno
import os
import secrets
import stat

from wsgidav import util
from wsgidav.dav_error import HTTP_FORBIDDEN, HTTP_INSUFFICIENT_STORAGE, DAVError
from wsgidav.dav_provider import DAVNonCollection
from wsgidav.fs_dav_provider import FileResource, FilesystemProvider, FolderResource

from ..defaults import UPLOAD_PREFIX


def open_for_upload(path: str):
    """A new file at `path`, opened for writing; never an existing one."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    return os.fdopen(os.open(path, flags, 0o666), 'wb')


class AtomicUploads(FilesystemProvider):
    """FilesystemProvider whose files are written by PUT through a temporary file."""

    def get_resource_inst(self, path: str, environ: dict):
        """As FilesystemProvider's, but a FIFO, socket or device is not there (404).

        WsgiDAV would open a FIFO to serve it and wait for a writer forever,
        holding a thread; its listings already leave such entries out.
        """
        self._count_get_resource_inst += 1
        file_path = self._loc_to_file_path(path, environ)
        try:
            mode = os.lstat(file_path).st_mode
        except OSError:
            return None
        if stat.S_ISLNK(mode):  # follow_symlinks is off
            raise DAVError(HTTP_FORBIDDEN, f'Symlink support is disabled: {file_path!r}')
        if stat.S_ISDIR(mode):
            return _Folder(path, environ, file_path)
        if stat.S_ISREG(mode):
            return _AtomicFile(path, environ, file_path)
        return None


class _Folder(FolderResource):
    def get_member_names(self):
        return [n for n in super().get_member_names() if not n.startswith(UPLOAD_PREFIX)]

    def create_empty_resource(self, name):
        """The resource of a new file, which appears only once written whole."""
        if self.provider.readonly:
            raise DAVError(HTTP_FORBIDDEN)
        path = util.join_uri(self.path, name)
        return _AtomicFile(
            path, self.environ, self.provider._loc_to_file_path(path, self.environ), new=True
        )


class _AtomicFile(FileResource):
    """A file that PUT replaces by renaming a complete temporary file over it."""

    def __init__(self, path: str, environ: dict, file_path: str, new: bool = False):
        if new:  # FileResource would stat a file that is not there yet
            DAVNonCollection.__init__(self, path, environ)
            self._file_path = file_path
            self.file_stat = None
            self.name = os.path.basename(file_path)
        else:
            super().__init__(path, environ, file_path)
        self._upload = self._upload_path = None

    def begin_write(self, *, content_type=None):
        if self.provider.readonly:
            raise DAVError(HTTP_FORBIDDEN)
        folder = os.path.dirname(self._file_path)
        self._upload_path = os.path.join(folder, UPLOAD_PREFIX + secrets.token_hex(8))
        self._upload = open_for_upload(self._upload_path)
        return _Upload(self._upload)

    def end_write(self, *, with_errors):
        """Rename the written file into place, or remove it after an error."""
        if self._upload_path is None:
            return
        upload_path, self._upload_path = self._upload_path, None
        try:
            if with_errors:
                raise OSError('the upload failed')
            os.replace(upload_path, self._file_path)
            self.file_stat = os.stat(self._file_path)
        except BaseException:
            try:
                self._upload.close()  # WsgiDAV does not close it after an error
            except OSError:
                pass
            try:
                os.unlink(upload_path)
            except FileNotFoundError:
                pass
            if not with_errors:
                raise


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
