"""The FileSystem interface and its local implementation.

Staging, API installation and clean-up talk to the resource only through
this small interface, so the same code serves the local machine and (later)
SFTP. Paths are POSIX strings on the resource; streams are binary.
"""

import abc
import contextlib
import errno
import io
import os
import shutil
from typing import BinaryIO, Iterator, Optional, Tuple

from ..defaults import CHUNK
from ..errors import DiskFull, PermanentResourceError, ResourceError, TemporaryResourceError


class FileSystem(abc.ABC):
    """What the service needs from a file system on a compute resource."""

    @abc.abstractmethod
    def mkdir(self, path: str) -> None:
        """Create `path` and its parents; fine if it exists."""
        ...

    @abc.abstractmethod
    def put_stream(self, stream: BinaryIO, path: str, mode: Optional[int] = None) -> int:
        """Write `stream` to `path` (replacing it); returns bytes written."""
        ...

    @abc.abstractmethod
    def open_read(self, path: str):
        """A context manager yielding a binary stream of the file."""
        ...

    @abc.abstractmethod
    def size(self, path: str) -> Optional[int]:
        """Size of a regular file, or None if there is none."""
        ...

    @abc.abstractmethod
    def is_dir(self, path: str) -> bool: ...

    @abc.abstractmethod
    def walk(self, path: str) -> Iterator[Tuple[str, bool, int]]:
        """(relative path, is_dir, mode) for everything below `path`, parents first."""
        ...

    @abc.abstractmethod
    def remove(self, path: str) -> None:
        """Remove a file or a whole tree; fine if it does not exist."""
        ...

    # conveniences built on the primitives
    def write_bytes(self, path: str, data: bytes, mode: Optional[int] = None) -> None:
        self.put_stream(io.BytesIO(data), path, mode)

    def read_bytes(self, path: str, limit: Optional[int] = None) -> bytes:
        with self.open_read(path) as stream:
            return stream.read() if limit is None else stream.read(limit)


#: errno values that mean "no space left"
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def translate_os_error(exc: OSError, what: str) -> ResourceError:
    """Map an OSError to our errors: missing/denied are permanent, a full
    disk is DiskFull, others may pass."""
    if exc.errno in NO_SPACE:
        return DiskFull(f"the compute resource's disk is full: {what} ({exc.strerror})")
    permanent = (
        FileNotFoundError,
        PermissionError,
        NotADirectoryError,
        IsADirectoryError,
        FileExistsError,
    )
    cls = PermanentResourceError if isinstance(exc, permanent) else TemporaryResourceError
    return cls(f'{what}: {exc.strerror or exc}')


class LocalFileSystem(FileSystem):
    """The service machine's own file system."""

    def mkdir(self, path: str) -> None:
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            raise translate_os_error(exc, f'cannot create folder {path}') from exc

    def put_stream(self, stream: BinaryIO, path: str, mode: Optional[int] = None) -> int:
        tmp = f'{path}.part'
        try:
            with open(tmp, 'wb') as out:
                shutil.copyfileobj(stream, out, CHUNK)
                written = out.tell()
            if mode is not None:
                os.chmod(tmp, mode & 0o7777)
            os.replace(tmp, path)
            return written
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise translate_os_error(exc, f'cannot write {path}') from exc
        except BaseException:  # the source failed or was stopped: leave nothing half-written
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    @contextlib.contextmanager
    def open_read(self, path: str):
        try:
            stream = open(path, 'rb')
        except OSError as exc:
            raise translate_os_error(exc, f'cannot read {path}') from exc
        with stream:
            yield stream

    def size(self, path: str) -> Optional[int]:
        try:
            return os.path.getsize(path) if os.path.isfile(path) else None
        except OSError:
            return None

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def walk(self, path: str):
        try:
            for root, dirs, files in os.walk(path):
                dirs.sort()
                rel_root = os.path.relpath(root, path)
                for name in dirs + sorted(files):
                    full = os.path.join(root, name)
                    rel = name if rel_root == '.' else f'{rel_root}/{name}'
                    st = os.stat(full)
                    yield rel, os.path.isdir(full), st.st_mode & 0o7777
        except OSError as exc:
            raise translate_os_error(exc, f'cannot list {path}') from exc

    def remove(self, path: str) -> None:
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.unlink(path)
        except OSError as exc:
            raise translate_os_error(exc, f'cannot remove {path}') from exc
