"""The FileSystem interface and its local implementation.

Staging, API installation and clean-up talk to the resource only through
this small interface, so the same code serves the local machine and (later)
SFTP. Paths are POSIX strings on the resource; streams are binary.

What a job leaves behind is not trusted: a step may have made a link to a
file outside the job. So `walk` never follows a link (it reports it, with
its own mode), and a path given as a `ConfinedPath` (a folder and a name
below it) is read without following any link below that folder: locally
through `boundary.confined.ConfinedRoot` (one `openat` per component), over
SFTP by an `lstat` of each component. A link met there raises `NotFollowed`.

A remote file system pays a round trip for each call, so two calls take
many files at once: `put_small_files` (a job's folders and small files,
staging in) and `read_small_files` (the small files a job left, staging
out). Their defaults here are the one-call-at-a-time way.
"""

import abc
import contextlib
import dataclasses
import errno
import io
import os
import shutil
from typing import (
    BinaryIO,
    Callable,
    ContextManager,
    Dict,
    Iterator,
    Optional,
    Protocol,
    Sequence,
    Tuple,
)

from ..boundary.confined import ConfinedRoot, Refused
from ..defaults import CHUNK
from ..errors import DiskFull, PermanentResourceError, ResourceError, TemporaryResourceError

#: the largest file staging sends or reads whole, with others, in one go
SMALL_FILE = 1 << 20


def go_on() -> None:
    """A `check` of put_small_files that never stops it."""


@dataclasses.dataclass(frozen=True)
class SmallFile:
    """A file `FileSystem.put_small_files` writes whole, from memory.
    `keep_same_size`: a regular file of the same size already there is left
    as it is (an input sent before a restart is not sent again)."""

    path: str
    data: bytes
    mode: Optional[int] = None
    keep_same_size: bool = False


class ConfinedPath(str):
    """A path on the resource that is reached from `root` without following
    any link below it: `name` is relative to `root`. As a str it is the
    whole path, so messages, logs and code that only looks at the text
    see the usual path."""

    root: str
    name: str

    def __new__(cls, root: str, name: str) -> 'ConfinedPath':
        path = super().__new__(cls, f'{root.rstrip("/")}/{name}' if name else root)
        path.root = root
        path.name = name
        return path


class ByteSource(Protocol):
    """What `FileSystem.put_stream` sends: anything read in chunks (a file,
    bytes in memory, staging's size-bounded and cancellable sources)."""

    def read(self, n: int = -1, /) -> bytes: ...


class ReadStream(ByteSource, Protocol):
    """What `FileSystem.open_read` yields: a local file, or over SFTP a
    paramiko file that prefetches. Nobody uses what `seek` returns (the
    SFTP file returns nothing), so that is left open."""

    def seek(self, offset: int, whence: int = 0, /) -> object: ...

    def tell(self) -> int: ...


class NotFollowed(PermanentResourceError):
    """A link (or something that is neither file nor folder) on the way to a
    `ConfinedPath`. `detail` says what, naming it relative to the root
    ("results/x is a symbolic link, ..."); the message adds what was done."""

    def __init__(self, detail: str, doing: str = ''):
        super().__init__(f'{doing}: {detail}' if doing else detail)
        self.detail = detail


class FileSystem(abc.ABC):
    """What the service needs from a file system on a compute resource."""

    @abc.abstractmethod
    def mkdir(self, path: str) -> None:
        """Create `path` and its parents; fine if it exists."""
        ...

    @abc.abstractmethod
    def put_stream(self, stream: ByteSource, path: str, mode: Optional[int] = None) -> int:
        """Write `stream` to `path` (replacing it); returns bytes written."""
        ...

    @abc.abstractmethod
    def open_read(self, path: str) -> ContextManager[ReadStream]:
        """A context manager yielding a binary stream of the file; for a
        ConfinedPath, reached without following a link below its root
        (else NotFollowed), and only a regular file."""
        ...

    @abc.abstractmethod
    def size(self, path: str) -> Optional[int]:
        """Size of a regular file, or None if there is none."""
        ...

    @abc.abstractmethod
    def is_dir(self, path: str) -> bool: ...

    @abc.abstractmethod
    def walk(self, path: str) -> Iterator[Tuple[str, bool, int]]:
        """(relative path, is_dir, st_mode) for everything below `path`,
        parents first. No link is followed: a link is listed with its own
        st_mode (`stat.S_ISLNK`), never entered. For a ConfinedPath, the
        way from its root to `path` holds no link either (else NotFollowed)."""
        ...

    @abc.abstractmethod
    def remove(self, path: str) -> None:
        """Remove a file or a whole tree; fine if it does not exist."""
        ...

    # conveniences built on the primitives
    def write_bytes(self, path: str, data: bytes, mode: Optional[int] = None) -> None:
        self.put_stream(io.BytesIO(data), path, mode)

    def put_small_files(
        self,
        folders: Sequence[str],
        files: Sequence[SmallFile],
        check: Callable[[], None] = go_on,
    ) -> int:
        """Make `folders` (with their parents), then write each of `files` as
        `put_stream` does; returns the bytes written. This default makes and
        writes one at a time, calling `check` as each file is written (it
        raises to stop, leaving none of that file: StageIn's raises
        StagingAborted on a cancel); SFTP sends them all in a few round trips
        instead."""
        for folder in folders:
            self.mkdir(folder)
        sent = 0
        for small in files:
            if small.keep_same_size and self.size(small.path) == len(small.data):
                continue
            sent += self.put_stream(_Checked(small.data, check), small.path, small.mode)
        return sent

    def read_small_files(self, paths: Sequence[str], limit: int) -> Dict[str, bytes]:
        """The whole bytes of each of `paths` (ConfinedPaths) that is plainly
        a regular file of at most `limit` bytes, reached without a link, in
        as few round trips as this file system can. Whatever else a path is
        (missing, larger, a link, a FIFO, unreadable) it is left out: the
        caller reads it the ordinary way, which says what is wrong. This
        default reads nothing: on the local disk the ordinary way costs no
        round trips."""
        return {}

    def read_bytes(self, path: str, limit: Optional[int] = None) -> bytes:
        with self.open_read(path) as stream:
            return stream.read() if limit is None else stream.read(limit)


class _Checked(io.BytesIO):
    """Bytes read as a source is: `check()` first at each read."""

    def __init__(self, data: bytes, check: Callable[[], None]):
        super().__init__(data)
        self._check = check

    def read(self, n: Optional[int] = -1) -> bytes:
        self._check()
        return super().read(n)


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

    def put_stream(self, stream: ByteSource, path: str, mode: Optional[int] = None) -> int:
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
    def open_read(self, path: str) -> Iterator[ReadStream]:
        stream: BinaryIO
        try:
            if isinstance(path, ConfinedPath):
                stream = ConfinedRoot(path.root).open_read(path.name)
            else:
                stream = open(path, 'rb')
        except Refused as exc:
            raise NotFollowed(exc.reason, f'cannot read {path}') from exc
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

    def walk(self, path: str) -> Iterator[Tuple[str, bool, int]]:
        if isinstance(path, ConfinedPath):
            confined, name = ConfinedRoot(path.root), path.name
        else:
            confined, name = ConfinedRoot(path), ''
        try:
            for entry in confined.walk(name):
                yield entry.name, entry.is_dir, entry.stat.st_mode
        except Refused as exc:
            raise NotFollowed(exc.reason, f'cannot list {path}') from exc
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
