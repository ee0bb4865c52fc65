"""A FileSystem on a remote host over SFTP.

SFTP clients are not shared between threads: each operation borrows a
client from a small pool (opening one if none is free) and gives it back,
so two stagers can transfer at once without ever using one client from two
threads. A client whose connection dropped is thrown away, and the next
operation opens a new one on a fresh Transport. Writes go to `<name>.part`
first and are renamed, so a half-sent file is never mistaken for a staged
one (staging skips files whose size already matches).

SFTP has no `openat`: a `ConfinedPath` is read after an `lstat` of each
component below its root (a link, or a file that is not regular, raises
`NotFollowed`), and `walk` never enters a link: a folder is lstat'ed as it
is opened, whatever attributes the server sent in its listing. That
leaves the moment between the look and the open to whoever else writes in
the job's folder on the resource; the job's own steps have finished by the
time its outputs are read.

Requests that do not wait for each other's answers go together (see
sftp_pipeline.py and sftp_batch.py): the folders and small files of a job
are sent in three round trips, its small outputs read in three, a tree
listed a level per two round trips and removed in one more, the lstats of a
`ConfinedPath`'s way in one.
"""

import contextlib
import posixpath
import stat
import threading
from typing import Callable, Dict, Iterator, List, Optional, Protocol, Sequence, Tuple, cast

import paramiko
from paramiko.sftp import CMD_ATTRS

from ..defaults import CHUNK, SFTP_CHANNELS
from ..errors import CeriseError, PermanentResourceError, TemporaryResourceError
from . import sftp_batch as batch
from .filesystem import ByteSource, ConfinedPath, FileSystem, ReadStream, SmallFile, go_on
from .sftp_pipeline import (
    Pipeline,
    Request,
    chunks,
    close,
    list_folders,
    mode_of,
    translate,
    walk_listing,
)
from .ssh_connection import SshConnection


class SftpFileSystem(FileSystem):
    def __init__(self, connection: SshConnection, pool_size: int = SFTP_CHANNELS):
        self._connection = connection
        self._lock = threading.Lock()
        self._free: List[paramiko.SFTPClient] = []
        self._pool_size = pool_size

    @contextlib.contextmanager
    def _client(self, what: str) -> Iterator[paramiko.SFTPClient]:
        with self._lock:
            client = self._free.pop() if self._free else None
        if client is None or _channel(client).closed:
            client = self._connection.open_sftp()
        try:
            yield client
        except CeriseError:  # ours (a resource error, or the source being read)
            self._give_back(client)
            raise
        except (paramiko.SSHException, EOFError, OSError) as exc:
            channel = _channel(client)
            if channel.closed or not channel.get_transport().is_active():
                _close(client)
                self._connection.drop()
                raise TemporaryResourceError(f'{what}: connection lost ({exc})') from exc
            self._give_back(client)
            raise translate(exc, what) from exc
        else:
            self._give_back(client)

    def _give_back(self, client: paramiko.SFTPClient) -> None:
        with self._lock:
            if len(self._free) < self._pool_size:
                self._free.append(client)
                return
        _close(client)

    def mkdir(self, path: str) -> None:
        with self._client(f'cannot create folder {path}') as sftp:
            if not batch.make_folders(Pipeline(sftp), [path]):
                _makedirs(sftp, path)

    def put_small_files(
        self,
        folders: Sequence[str],
        files: Sequence[SmallFile],
        check: Callable[[], None] = go_on,
    ) -> int:
        """All in three round trips (sftp_batch.put_files); `check` is not
        called: there is nothing to stop between them."""
        what = f'cannot write {files[0].path}' if files else 'cannot create folders'
        with self._client(what) as sftp:
            sent = batch.put_files(Pipeline(sftp), folders, files)
        if sent is None:  # a folder could not simply be made: the careful way says why
            for folder in folders:
                self.mkdir(folder)
            with self._client(what) as sftp:
                sent = batch.put_files(Pipeline(sftp), (), files)
            if sent is None:  # never: only a folder to make can fail that way, and none was asked
                raise PermanentResourceError(f'{what}: no folder asked, yet one failed')
        return sent

    def write_bytes(self, path: str, data: bytes, mode: Optional[int] = None) -> None:
        self.put_small_files((), [SmallFile(path, data, mode)])

    def put_stream(self, stream: ByteSource, path: str, mode: Optional[int] = None) -> int:
        """Open, then the writes, the close and the mode in a window of
        requests as the source is read, then (all acknowledged) the rename."""
        tmp = batch.part(path)
        with self._client(f'cannot write {path}') as sftp:
            pipe = Pipeline(sftp)
            handle = pipe.run([batch.open_file(tmp, batch.WRITE)])[0].handle
            written = [0]

            def requests() -> Iterator[Request]:
                while True:
                    chunk = stream.read(CHUNK)
                    if not chunk:
                        break
                    for offset, length in chunks(len(chunk)):
                        data = chunk[offset : offset + length]
                        yield batch.write(handle, written[0], data)
                        written[0] += length
                yield close(handle)
                if mode is not None:  # acknowledged before the rename is sent
                    yield batch.chmod(tmp, mode)

            try:
                refused = pipe.first_refusal(requests())
            except CeriseError:  # the source failed or was stopped: leave nothing behind
                with contextlib.suppress(OSError, paramiko.SSHException, EOFError):
                    pipe.run([close(handle), batch.remove(tmp)])
                raise
            except BaseException:
                with contextlib.suppress(OSError, paramiko.SSHException, EOFError):
                    pipe.forget(close(handle))
                raise
            if refused is not None:
                raise refused
            pipe.run([batch.rename(tmp, path)])[0].check()
            return written[0]

    @contextlib.contextmanager
    def open_read(self, path: str) -> Iterator[ReadStream]:
        """The lstats of the way (a ConfinedPath) or a stat beside the open
        give the size, so reading starts a prefetch of exactly what is left
        from where it starts (after a seek: only the tail) without asking."""
        with self._client(f'cannot read {path}') as sftp:
            pipe = Pipeline(sftp)
            if isinstance(path, ConfinedPath):
                attrs = batch.check_way(pipe, path, regular=True)
                size = attrs.st_size if attrs is not None else None
                handle = pipe.run([batch.open_file(path)])[0].handle
            else:
                opened, looked = pipe.run([batch.open_file(path), batch.look(path)])
                handle = opened.handle
                size = looked.attrs.st_size if looked.kind == CMD_ATTRS else None
            stream = paramiko.SFTPFile(sftp, handle, 'rb')
            try:
                yield _Prefetching(stream, size)
            finally:
                # paramiko's own way not to wait for the answer; private, so not in its
                # stubs: by construction an SFTPFile has it (see _ClosesUnanswered)
                cast(_ClosesUnanswered, stream)._close(async_=True)

    def read_small_files(self, paths: Sequence[str], limit: int) -> Dict[str, bytes]:
        with self._client('cannot read the small files of a job') as sftp:
            return batch.read_files(Pipeline(sftp), paths, limit)

    def size(self, path: str) -> Optional[int]:
        with self._client(f'cannot look at {path}') as sftp:
            try:
                attrs = sftp.stat(path)
            except FileNotFoundError:
                return None
            return attrs.st_size if stat.S_ISREG(mode_of(attrs)) else None

    def is_dir(self, path: str) -> bool:
        with self._client(f'cannot look at {path}') as sftp:
            try:
                return stat.S_ISDIR(mode_of(sftp.stat(path)))
            except FileNotFoundError:
                return False

    def walk(self, path: str) -> Iterator[Tuple[str, bool, int]]:
        with self._client(f'cannot list {path}') as sftp:
            pipe = Pipeline(sftp)
            if isinstance(path, ConfinedPath):
                batch.check_way(pipe, path, regular=False)
            listing = list_folders(pipe, path)
        for rel, attrs in walk_listing(listing):
            mode = mode_of(attrs)
            yield rel, stat.S_ISDIR(mode), mode

    def remove(self, path: str) -> None:
        with self._client(f'cannot remove {path}') as sftp:
            batch.remove_tree(Pipeline(sftp), path)

    def close(self) -> None:
        with self._lock:
            clients, self._free = self._free, []
        for client in clients:
            _close(client)


def _channel(client: paramiko.SFTPClient) -> paramiko.Channel:
    """The client's channel: open_sftp's clients always have one (paramiko's
    stubs allow None, for a client made otherwise)."""
    channel = client.get_channel()
    if channel is None:
        raise TemporaryResourceError('an SFTP client without a channel')
    return channel


def _close(client: paramiko.SFTPClient) -> None:
    try:
        client.close()
    except Exception:  # closing a broken client may raise anything
        pass


def _makedirs(sftp: paramiko.SFTPClient, path: str) -> None:
    missing: List[str] = []
    current = posixpath.normpath(path)
    while current not in ('/', ''):
        try:
            if stat.S_ISDIR(mode_of(sftp.stat(current))):
                break
            raise PermanentResourceError(f'{current} exists and is not a folder')
        except FileNotFoundError:
            missing.append(current)
            current = posixpath.dirname(current)
    for folder in reversed(missing):
        try:
            sftp.mkdir(folder)
        except OSError as refused:
            try:
                made = stat.S_ISDIR(mode_of(sftp.stat(folder)))  # raced with another mkdir
            except OSError:
                made = False
            if not made:
                raise refused from None


class _ClosesUnanswered(Protocol):
    """paramiko.SFTPFile's private close (sftp_file.py), which with `async_`
    sends the close without waiting for its answer."""

    def _close(self, async_: bool = False) -> None: ...


class _Prefetching:
    """An SFTP file that starts paramiko's prefetch at its first read, from
    where it is then (all of the file, or the tail after a seek) to the size
    known when it was opened; a file grown since is read on without it."""

    def __init__(self, stream: paramiko.SFTPFile, size: Optional[int]):
        self._stream = stream
        self._size = size
        self._started = False

    def read(self, n: int = -1) -> bytes:
        if not self._started:
            self._started = True
            if self._size is not None and self._stream.tell() < self._size:
                self._stream.prefetch(self._size)
        return self._stream.read(n if n is not None and n >= 0 else None)

    def seek(self, offset: int, whence: int = 0) -> None:
        self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()
