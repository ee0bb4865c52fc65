"""The WsgiDAV provider of /files: every look and every change through a ConfinedRoot.

WsgiDAV's FilesystemProvider checks a path with `realpath` and then acts
on the path again (`open`, `unlink`, `shutil.rmtree`, `shutil.move`,
`copy2`, `mkdir`, `listdir`): a user with a shell on the exchange folder
who swaps a folder for a symbolic link in between (renameat2 with
RENAME_EXCHANGE in a loop) made the service delete, overwrite, create or
read files outside the exchange area. Here a resource holds a name
relative to the exchange folder and a `boundary.confined.ConfinedRoot`, and
every file-system call is made by that root (one `openat`/`O_NOFOLLOW` walk
of components from the exchange folder) or relative to a folder descriptor
it opened: `unlinkat`, `renameat`, `mkdirat`, an fd-based tree removal, an
upload created with `O_EXCL | O_NOFOLLOW` in its folder's descriptor. A link
met anywhere, at any moment, is refused (403), never followed; what was
checked is what is acted on. Nothing here takes a path string that the
kernel would resolve through links.

Resources are made from an `lstat` (`ConfinedRoot.locate`) or from one scan
of a folder's descriptor, so a PROPFIND or the walk of a COPY never looks a
name up twice. Like the listings (files_listing.py), members are what
`files_members.py` shows: regular files and folders only, at most
MAX_LISTING_ENTRIES of them in one PROPFIND or COPY (more is a 403), as
WsgiDAV holds every resource it walks in memory at once. DELETE and MOVE of
a folder are done without WsgiDAV's walk of the whole tree first.

Errors of the file system become WebDAV answers (`answered`): a link on
the way 403, a missing name 404, a file where a folder is (or one changed
kind meanwhile) 409, a full disk 507. Anything else stays an error of the
service (500, with its traceback in the log).
"""

import os
import stat
from typing import BinaryIO, Callable, List, Optional, Tuple, Union, cast

from wsgidav import util
from wsgidav.dav_error import (
    HTTP_CONFLICT,
    HTTP_FORBIDDEN,
    HTTP_METHOD_NOT_ALLOWED,
    HTTP_NOT_FOUND,
    DAVError,
)
from wsgidav.dav_provider import DAVCollection, DAVNonCollection, DAVProvider

from ..boundary.confined import ConfinedRoot, Outside
from ..defaults import DAV_BLOCK_SIZE, MAX_LISTING_ENTRIES
from .files_errors import answered
from .files_members import TooManyEntries, members
from .files_uploads import Replacement, Writing


def _split(name: str) -> Tuple[str, str]:
    """(folder, last name) of a relative name."""
    folder, _, last = name.rpartition('/')
    return folder, last


def _relative(path: str) -> str:
    """The name below the exchange folder of a WsgiDAV path (`/input/a` is `input/a`)."""
    return path.strip('/')


class ConfinedProvider(DAVProvider):
    """Serves the exchange folder; its resources act only through `self.confined`."""

    def __init__(self, root_folder: str):
        super().__init__()
        self.confined = ConfinedRoot(root_folder)
        self.root_folder_path = self.confined.root
        self.readonly = False

    def __repr__(self) -> str:
        return f'{self.__class__.__name__} for {self.confined.root!r}'

    def get_resource_inst(self, path: str, environ: dict) -> Optional['_Resource']:
        """The file or folder at `path`, or None. A link is refused (403);
        a FIFO, socket or device is not there (WsgiDAV would open a FIFO and
        wait for a writer forever)."""
        self._count_get_resource_inst += 1
        name = _relative(path)
        try:
            with answered(name):
                found = self.confined.locate(name)
        except DAVError as exc:
            if exc.value in (HTTP_NOT_FOUND, HTTP_CONFLICT):
                return None  # not there, or a file on the way: WsgiDAV answers 404 or 409
            raise
        return _resource(path, environ, found)


def _resource(path: str, environ: dict, found: os.stat_result) -> Optional['_Resource']:
    if stat.S_ISLNK(found.st_mode):
        raise DAVError(
            HTTP_FORBIDDEN,
            f'{_relative(path)} is a symbolic link, which is never followed; '
            'links are not served from /files',
        )
    if stat.S_ISDIR(found.st_mode):
        return ConfinedFolder(path, environ, found)
    if stat.S_ISREG(found.st_mode):
        return ConfinedFile(path, environ, found)
    return None


class _Confined:
    """What files and folders share: their name, their root, their lstat."""

    file_stat: Optional[os.stat_result]
    # set by WsgiDAV's resource classes, which this one is mixed into
    path: str
    name: str
    environ: dict
    provider: ConfinedProvider

    @property
    def rel(self) -> str:
        return _relative(self.path)

    @property
    def confined(self) -> ConfinedRoot:
        return self.provider.confined

    def get_creation_date(self) -> Optional[float]:
        return self.file_stat.st_ctime if self.file_stat else None

    def get_last_modified(self) -> Optional[float]:
        return self.file_stat.st_mtime if self.file_stat else None

    def get_display_name(self) -> str:
        return self.name

    def is_link(self) -> bool:
        return False  # a link is never made into a resource

    def _writable(self) -> None:
        if self.provider.readonly:
            raise DAVError(HTTP_FORBIDDEN)

    def set_last_modified(
        self, dest_path: str, time_stamp: Union[int, str], *, dry_run: bool
    ) -> bool:
        """Set the time stamp of `dest_path` (PROPPATCH getlastmodified), link not followed."""
        secs = time_stamp if isinstance(time_stamp, int) else util.parse_time_string(time_stamp)
        if not dry_run:
            folder, last = _split(_relative(dest_path))
            with answered(_relative(dest_path)), self.confined.folder(folder) as fd:
                os.utime(last, (secs, secs), dir_fd=fd, follow_symlinks=False)
        return True

    def support_recursive_move(self, dest_path: str) -> bool:
        return True

    def move_recursive(self, dest_path: str) -> None:
        """MOVE: one rename, from folder descriptor to folder descriptor."""
        self._writable()
        with answered(self.rel):
            self.confined.rename(self.rel, _relative(dest_path))


class ConfinedFile(_Confined, DAVNonCollection):
    """A regular file below the exchange folder."""

    def __init__(self, path: str, environ: dict, found: Optional[os.stat_result]):
        super().__init__(path, environ)
        self.file_stat = found  # None for a file a PUT is about to write
        self.name = util.get_uri_name(path)
        self._writing: Optional[Replacement] = None

    def get_content_length(self) -> int:
        return self.file_stat.st_size if self.file_stat else 0

    def get_content_type(self) -> str:
        return util.guess_mime_type(self.path, self.environ['wsgidav.config'])

    def get_etag(self) -> Optional[str]:
        """WsgiDAV's etag (inode-mtime-size), from the lstat this resource was made of."""
        info = self.file_stat
        if info is None:
            return None
        return f'{info.st_ino}-{int(info.st_mtime)}-{info.st_size}'

    def support_etag(self) -> bool:
        return True

    def support_ranges(self) -> bool:
        return True

    def get_content(self) -> BinaryIO:
        with answered(self.rel):
            return self.confined.open_read(self.rel)

    def begin_write(self, *, content_type: Optional[str] = None) -> Writing:
        """PUT: the body goes to a hidden file beside this one (files_uploads.py)."""
        self._writable()
        with answered(self.rel):
            self._writing = Replacement(self.confined, self.rel)
        return self._writing.stream

    def end_write(self, *, with_errors: bool) -> None:
        writing, self._writing = self._writing, None
        if writing is None:
            return
        if with_errors:
            writing.abandon()
            return
        with answered(self.rel):
            self.file_stat = writing.commit()

    def delete(self) -> None:
        self._writable()
        with answered(self.rel):
            self.confined.unlink(self.rel)

    def copy_move_single(self, dest_path: str, *, is_move: bool) -> None:
        """COPY (and a MOVE WsgiDAV does piece by piece): read through the
        root, write a hidden file in the destination's folder, rename it
        into place; an existing destination is replaced, never written into."""
        self._writable()
        with answered(self.rel):
            with self.confined.open_read(self.rel) as source:
                writing = Replacement(self.confined, _relative(dest_path))
                try:
                    while True:
                        block = source.read(DAV_BLOCK_SIZE)
                        if not block:
                            break
                        writing.stream.write(block)
                    info = os.fstat(source.fileno())
                    writing.keep_times_and_mode(info)
                    writing.stream.close()
                except BaseException:
                    writing.abandon()
                    raise
                writing.commit()


class ConfinedFolder(_Confined, DAVCollection):
    """A folder below the exchange folder (or the exchange folder itself)."""

    file_stat: os.stat_result  # a folder is made of the lstat that found it

    def __init__(self, path: str, environ: dict, found: os.stat_result):
        super().__init__(path, environ)
        self.file_stat = found
        self.name = util.get_uri_name(path.rstrip('/'))

    def get_directory_info(self) -> None:
        return None

    def get_etag(self) -> None:
        return None

    def _statvfs(self) -> os.statvfs_result:
        with answered(self.rel), self.confined.folder(self.rel) as fd:
            return os.statvfs(fd)

    def get_used_bytes(self) -> int:
        info = self._statvfs()
        return (info.f_blocks - info.f_bfree) * info.f_frsize

    def get_available_bytes(self) -> int:
        info = self._statvfs()
        return info.f_bavail * info.f_frsize

    def get_member_list(self) -> List['_Resource']:
        """The files and folders in this folder, from one scan of its descriptor;
        more than MAX_LISTING_ENTRIES is refused (files_members.py)."""
        with answered(self.rel), self.confined.folder(self.rel) as fd:
            found = _bounded(members, fd, self.rel)
        found.sort(key=lambda member: member[0])
        # members() shows regular files and folders only, each of which is a resource
        return cast(
            List[_Resource],
            [_resource(util.join_uri(self.path, name), self.environ, info) for name, info in found],
        )

    def get_descendants(
        self,
        *,
        collections: bool = True,
        resources: bool = True,
        depth_first: bool = False,
        depth: str = 'infinity',
        add_self: bool = False,
    ) -> List['_Resource']:
        """WsgiDAV's walk (PROPFIND, COPY), held to MAX_LISTING_ENTRIES resources in all:
        a PROPFIND answer or a COPY holds every resource it walks in memory at once.

        A MOVE asks for the whole source tree only to check If headers on each
        member (there are no locks here) before one rename (`move_recursive`):
        it is given this folder alone, so a large folder moves without a walk.
        """
        if self.environ.get('REQUEST_METHOD') == 'MOVE' and depth == 'infinity':
            return [self] if add_self else []
        found: List[_Resource] = []
        budget = [MAX_LISTING_ENTRIES]
        self._descend(found, budget, (collections, resources), depth_first, depth, add_self)
        return found

    def _descend(
        self,
        found: List['_Resource'],
        budget: List[int],
        wanted: Tuple[bool, bool],
        depth_first: bool,
        depth: str,
        add_self: bool,
    ) -> None:
        collections, resources = wanted
        if add_self and not depth_first:
            found.append(self)
        if depth != '0':
            for child in self.get_member_list():
                budget[0] -= 1
                if budget[0] < 0:
                    raise DAVError(HTTP_FORBIDDEN, str(TooManyEntries(self.rel)))
                want = collections if child.is_collection else resources
                if want and not depth_first:
                    found.append(child)
                if child.is_collection and depth == 'infinity':
                    child._descend(found, budget, wanted, depth_first, depth, False)
                if want and depth_first:
                    found.append(child)
        if add_self and depth_first:
            found.append(self)

    def handle_delete(self) -> bool:
        """DELETE of a folder, done here: WsgiDAV would first list the whole tree
        (every resource in memory at once) only to check locks, which /files has not."""
        self.delete()
        return True

    def get_member_names(self) -> List[str]:
        return [member.name for member in self.get_member_list()]

    def get_member(self, name: str) -> Optional['_Resource']:
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def create_empty_resource(self, name: str) -> ConfinedFile:
        """The resource of a new file, which appears only once a PUT has written it whole."""
        self._writable()
        return ConfinedFile(util.join_uri(self.path, name), self.environ, None)

    def create_collection(self, name: str) -> None:
        """MKCOL: mkdirat in this folder's descriptor."""
        self._writable()
        rel = _relative(util.join_uri(self.path, name))
        with answered(rel), self.confined.folder(self.rel) as fd:
            try:
                os.mkdir(name, dir_fd=fd)
            except FileExistsError:
                raise DAVError(HTTP_METHOD_NOT_ALLOWED, f'{rel} already exists') from None

    def support_recursive_delete(self) -> bool:
        return True

    def delete(self) -> None:
        """DELETE: the tree is removed through descriptors opened with O_NOFOLLOW."""
        self._writable()
        with answered(self.rel):
            self.confined.remove(self.rel)

    def copy_move_single(self, dest_path: str, *, is_move: bool) -> None:
        """COPY of a folder, without its members: make it (or keep the folder there)."""
        self._writable()
        target = _relative(dest_path)
        folder, last = _split(target)
        with answered(target), self.confined.folder(folder) as fd:
            try:
                os.mkdir(last, dir_fd=fd)
            except FileExistsError:
                there = os.stat(last, dir_fd=fd, follow_symlinks=False)
                if stat.S_ISLNK(there.st_mode):
                    raise Outside(target, f'{target} is a symbolic link, never followed') from None
                if not stat.S_ISDIR(there.st_mode):
                    raise
            times = (self.file_stat.st_atime_ns, self.file_stat.st_mtime_ns)
            os.utime(last, ns=times, dir_fd=fd, follow_symlinks=False)


def _bounded(
    scan: Callable[[int, str], List[Tuple[str, os.stat_result]]], fd: int, name: str
) -> List[Tuple[str, os.stat_result]]:
    """`scan(fd, name)`, a folder too large to list answered 403."""
    try:
        return scan(fd, name)
    except TooManyEntries as exc:
        raise DAVError(HTTP_FORBIDDEN, str(exc)) from None


#: what the provider serves: a file or a folder (never a link, FIFO or device)
_Resource = Union[ConfinedFile, ConfinedFolder]
