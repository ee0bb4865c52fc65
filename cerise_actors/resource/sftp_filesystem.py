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
`NotFollowed`), and `walk` lists with `lstat` attributes (what OpenSSH's
sftp-server sends for a folder listing) and never enters a link. That
leaves the moment between the look and the open to whoever else writes in
the job's folder on the resource; the job's own steps have finished by the
time its outputs are read.
"""

import contextlib
import errno
import posixpath
import stat
import threading
from typing import BinaryIO, List, Optional

import paramiko

from ..defaults import CHUNK, SFTP_CHANNELS
from ..errors import (
    CeriseError,
    DiskFull,
    PermanentResourceError,
    ResourceError,
    TemporaryResourceError,
)
from .filesystem import ConfinedPath, FileSystem, NotFollowed
from .ssh_connection import SshConnection


class SftpFileSystem(FileSystem):
    def __init__(self, connection: SshConnection, pool_size: int = SFTP_CHANNELS):
        self._connection = connection
        self._lock = threading.Lock()
        self._free: List[paramiko.SFTPClient] = []
        self._pool_size = pool_size

    @contextlib.contextmanager
    def _client(self, what: str):
        with self._lock:
            client = self._free.pop() if self._free else None
        if client is None or client.get_channel().closed:
            client = self._connection.open_sftp()
        try:
            yield client
        except CeriseError:  # ours (a resource error, or the source being read)
            self._give_back(client)
            raise
        except (paramiko.SSHException, EOFError, OSError) as exc:
            channel = client.get_channel()
            if channel.closed or not channel.get_transport().is_active():
                _close(client)
                self._connection.drop()
                raise TemporaryResourceError(f'{what}: connection lost ({exc})') from exc
            self._give_back(client)
            raise _translate(exc, what) from exc
        else:
            self._give_back(client)

    def _give_back(self, client) -> None:
        with self._lock:
            if len(self._free) < self._pool_size:
                self._free.append(client)
                return
        _close(client)

    def mkdir(self, path: str) -> None:
        with self._client(f'cannot create folder {path}') as sftp:
            _makedirs(sftp, path)

    def put_stream(self, stream: BinaryIO, path: str, mode: Optional[int] = None) -> int:
        tmp = f'{path}.part'
        with self._client(f'cannot write {path}') as sftp:
            written = 0
            try:
                with sftp.open(tmp, 'wb') as out:
                    out.set_pipelined(True)
                    while True:
                        chunk = stream.read(CHUNK)
                        if not chunk:
                            break
                        out.write(chunk)
                        written += len(chunk)
            except CeriseError:  # the source failed or was stopped: leave nothing behind
                with contextlib.suppress(OSError, paramiko.SSHException, EOFError):
                    sftp.remove(tmp)
                raise
            if mode is not None:
                sftp.chmod(tmp, mode & 0o7777)
            sftp.posix_rename(tmp, path)
            return written

    @contextlib.contextmanager
    def open_read(self, path: str):
        with self._client(f'cannot read {path}') as sftp:
            if isinstance(path, ConfinedPath):
                _check_way(sftp, path, regular=True)
            with sftp.open(path, 'rb') as stream:
                stream.prefetch()
                yield stream

    def size(self, path: str) -> Optional[int]:
        with self._client(f'cannot look at {path}') as sftp:
            try:
                attrs = sftp.stat(path)
            except FileNotFoundError:
                return None
            return attrs.st_size if stat.S_ISREG(attrs.st_mode) else None

    def is_dir(self, path: str) -> bool:
        with self._client(f'cannot look at {path}') as sftp:
            try:
                return stat.S_ISDIR(sftp.stat(path).st_mode)
            except FileNotFoundError:
                return False

    def walk(self, path: str):
        with self._client(f'cannot list {path}') as sftp:
            if isinstance(path, ConfinedPath):
                _check_way(sftp, path, regular=False)
            entries = list(_walk(sftp, path, ''))
        yield from entries

    def remove(self, path: str) -> None:
        with self._client(f'cannot remove {path}') as sftp:
            _remove_tree(sftp, path)

    def close(self) -> None:
        with self._lock:
            clients, self._free = self._free, []
        for client in clients:
            _close(client)


def _close(client) -> None:
    try:
        client.close()
    except Exception:  # closing a broken client may raise anything
        pass


def _translate(exc: Exception, what: str) -> ResourceError:
    """An SFTP error on a live connection: missing or forbidden is permanent.
    A full disk is DiskFull where the server says so with an errno; OpenSSH's
    sftp-server says only "Failure", which stays a temporary error."""
    if getattr(exc, 'errno', None) in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(f"the compute resource's disk is full: {what}")
    if isinstance(exc, (FileNotFoundError, PermissionError)) or getattr(exc, 'errno', None) in (
        errno.ENOENT,
        errno.EACCES,
        errno.EPERM,
    ):
        return PermanentResourceError(f'{what}: {getattr(exc, "strerror", None) or exc}')
    return TemporaryResourceError(f'{what}: {exc}')


def _makedirs(sftp, path: str) -> None:
    missing = []
    current = posixpath.normpath(path)
    while current not in ('/', ''):
        try:
            if stat.S_ISDIR(sftp.stat(current).st_mode):
                break
            raise PermanentResourceError(f'{current} exists and is not a folder')
        except FileNotFoundError:
            missing.append(current)
            current = posixpath.dirname(current)
    for folder in reversed(missing):
        try:
            sftp.mkdir(folder)
        except OSError:
            if not stat.S_ISDIR(sftp.stat(folder).st_mode):  # raced with another mkdir
                raise


def _check_way(sftp, path: ConfinedPath, regular: bool) -> None:
    """Raise NotFollowed unless every component of `path` below its root is
    a folder (the last: a regular file if `regular`), looked at with lstat."""
    parts = [part for part in path.name.split('/') if part not in ('', '.')]
    if '..' in parts:
        raise NotFollowed(f'{path.name} climbs out of {path.root} with ..', f'cannot read {path}')
    current = path.root
    for number, part in enumerate(parts):
        current = posixpath.join(current, part)
        mode = sftp.lstat(current).st_mode
        where = '/'.join(parts[: number + 1])
        if stat.S_ISLNK(mode):
            raise NotFollowed(
                f'{where} is a symbolic link, which is never followed', f'cannot read {path}'
            )
        last = number == len(parts) - 1
        wanted = stat.S_ISREG(mode) if last and regular else stat.S_ISDIR(mode)
        if not wanted:
            kind = 'not a regular file' if last and regular else 'not a folder'
            raise NotFollowed(f'{where} is {kind}', f'cannot read {path}')


def _walk(sftp, root: str, prefix: str):
    """Folder listings carry lstat attributes, so a link is listed as a
    link (with its own st_mode) and never entered."""
    for attrs in sorted(
        sftp.listdir_attr(posixpath.join(root, prefix) if prefix else root),
        key=lambda a: a.filename,
    ):
        rel = f'{prefix}/{attrs.filename}' if prefix else attrs.filename
        is_dir = stat.S_ISDIR(attrs.st_mode)
        yield rel, is_dir, attrs.st_mode
        if is_dir:
            yield from _walk(sftp, root, rel)


def _remove_tree(sftp, path: str) -> None:
    try:
        attrs = sftp.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(attrs.st_mode):
        for entry in sftp.listdir_attr(path):
            _remove_tree(sftp, posixpath.join(path, entry.filename))
        sftp.rmdir(path)
    else:
        sftp.remove(path)
