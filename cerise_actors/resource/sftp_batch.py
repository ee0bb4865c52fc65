"""What SftpFileSystem does in a few round trips: folders, small files, reads, removal.

Each function sends its requests through a `Pipeline` (sftp_pipeline.py) in
a fixed number of rounds, whatever the number of files, and keeps the rules
of the one-request-at-a-time code it replaces:

- files are written to `<name>.part` and renamed only once every byte of
  them and their mode were acknowledged, so a half-written file, or one
  with a mode refused, never takes a staged name;
- a `ConfinedPath` is read only after an lstat of each component below its
  root said folder, folder, ..., regular file, so no link is followed and a
  FIFO is never opened; `read_files` leaves out whatever is not plainly such
  a file, for the caller's ordinary way, which says what is wrong;
- a tree is removed without entering a link: links are removed as entries,
  whatever attributes the server lists (list_folders lstats a folder as
  it opens it).

Where the plain way of a batch fails (a folder that cannot simply be made),
it says so, and the caller does it the careful way, which names the problem
as before.
"""

import posixpath
import stat
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from paramiko import SFTPAttributes
from paramiko.sftp import (
    CMD_ATTRS,
    CMD_CLOSE,
    CMD_DATA,
    CMD_EXTENDED,
    CMD_FSTAT,
    CMD_HANDLE,
    CMD_OPEN,
    CMD_REMOVE,
    CMD_RMDIR,
    CMD_SETSTAT,
    CMD_STAT,
    CMD_WRITE,
    SFTP_FLAG_CREATE,
    SFTP_FLAG_READ,
    SFTP_FLAG_TRUNC,
    SFTP_FLAG_WRITE,
    int64,
)

from ..errors import PermanentResourceError
from .filesystem import ConfinedPath, NotFollowed, SmallFile
from .sftp_pipeline import (
    Answer,
    Listing,
    Pipeline,
    Request,
    ancestors,
    chunks,
    close,
    folder_mode,
    list_folders,
    lstat,
    mkdir,
    mode_of,
    read,
    size_of,
    translate,
)

WRITE = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_TRUNC


def look(path: str) -> Request:
    """stat: follows links, as the one-at-a-time code's size() and mkdir did."""
    return Request(CMD_STAT, (path,))


def open_file(path: str, flags: int = SFTP_FLAG_READ) -> Request:
    return Request(CMD_OPEN, (path, flags, SFTPAttributes()))


def remove(path: str) -> Request:
    return Request(CMD_REMOVE, (path,))


def rename(old: str, new: str) -> Request:
    """OpenSSH's posix-rename: replaces `new`, as the one-at-a-time code did."""
    return Request(CMD_EXTENDED, ('posix-rename@openssh.com', old, new))


def chmod(path: str, mode: int) -> Request:
    return Request(CMD_SETSTAT, (path, folder_mode(mode & 0o7777)))


def write(handle: bytes, offset: int, data: bytes) -> Request:
    return Request(CMD_WRITE, (handle, int64(offset), data))


def part(path: str) -> str:
    return f'{path}.part'


# --- folders ----------------------------------------------------------------


def folder_requests(folders: Iterable[str]) -> List[str]:
    """Every folder to make, parents first, once."""
    wanted: Dict[str, None] = {}
    for folder in folders:
        wanted.update(dict.fromkeys(ancestors(folder)))
    return list(wanted)


def made(folders: List[str], answers: Sequence[Answer]) -> bool:
    """Judge [mkdir, stat] answers of `folders`: True if all are folders now,
    False if one is missing (the careful way then says why); something else
    in the way is an error."""
    for folder, looked in zip(folders, answers[1::2]):
        if looked.error is not None:
            return False
        if not stat.S_ISDIR(mode_of(looked.attrs)):
            raise PermanentResourceError(f'{folder} exists and is not a folder')
    return True


def make_folders(pipe: Pipeline, folders: Iterable[str]) -> bool:
    """Make `folders` and their parents in one round trip (mkdir of each,
    top first, an existing one refusing harmlessly, then a stat that says
    whether it is a folder now); see `made`."""
    wanted = folder_requests(folders)
    answers = pipe.run(r for folder in wanted for r in (mkdir(folder), look(folder)))
    return made(wanted, answers)


# --- small files -------------------------------------------------------------


def put_files(pipe: Pipeline, folders: Sequence[str], files: Sequence[SmallFile]) -> Optional[int]:
    """Make `folders`, then write `files`, in three round trips: (1) the
    folders, a stat of each target that may be kept, and the opens of the
    `.part` files; (2) the writes, closes and modes; (3) once all were
    acknowledged, the renames, so that a file whose mode was refused never
    takes its name. Returns the bytes written, or None if a folder could not
    simply be made (nothing was written then)."""
    wanted = folder_requests(folders)
    first: List[Request] = [r for folder in wanted for r in (mkdir(folder), look(folder))]
    for small in files:
        if small.keep_same_size:
            first.append(look(small.path))
        first.append(open_file(part(small.path), WRITE))
    answers = pipe.run(first)
    rest = iter(answers[2 * len(wanted) :])
    opened: List[Answer] = []
    keep: List[bool] = []
    for small in files:
        looked = next(rest) if small.keep_same_size else None
        keep.append(_same_size(looked, len(small.data)))
        opened.append(next(rest))
    handles = [a.handle if a.error is None and a.kind == CMD_HANDLE else None for a in opened]
    try:
        if not made(wanted, answers[: 2 * len(wanted)]):
            return None
        for small, answer in zip(files, opened):
            if answer.error is not None or answer.kind != CMD_HANDLE:
                raise translate(answer.error or OSError('no handle'), f'cannot write {small.path}')
        second: List[Tuple[SmallFile, Request]] = []
        for small, answer, kept in zip(files, opened, keep):
            handle = answer.handle  # each was checked above
            if not kept:
                second += [
                    (small, write(handle, off, small.data[off : off + n]))
                    for off, n in chunks(len(small.data))
                ]
            second.append((small, close(handle)))
            if kept:  # left as it is: only the empty .part goes
                second.append((small, remove(part(small.path))))
            elif small.mode is not None:  # here, so that a refusal stops the rename
                second.append((small, chmod(part(small.path), small.mode)))
        handles = []  # closed by the second round, whatever it answers
        _raise_first(second, pipe.run(r for _, r in second))
    finally:
        for left in handles:
            if left is not None:
                pipe.forget(close(left))
    third = [(f, rename(part(f.path), f.path)) for f, kept in zip(files, keep) if not kept]
    _raise_first(third, pipe.run(r for _, r in third))
    return sum(len(small.data) for small, kept in zip(files, keep) if not kept)


def _same_size(looked: Optional[Answer], size: int) -> bool:
    return (
        looked is not None
        and looked.error is None
        and looked.kind == CMD_ATTRS
        and stat.S_ISREG(mode_of(looked.attrs))
        and looked.attrs.st_size == size
    )


def _raise_first(asked: Sequence[Tuple[SmallFile, Request]], answers: Sequence[Answer]) -> None:
    """Raise the first refusal among the answers to `asked` ((file, request)
    pairs), naming its file."""
    for (small, _), answer in zip(asked, answers):
        if answer.error is not None:
            raise translate(answer.error, f'cannot write {small.path}')


# --- reading ---------------------------------------------------------------------


def way_requests(path: ConfinedPath) -> List[str]:
    """The components of `path` below its root, each as a whole path."""
    parts = [part for part in path.name.split('/') if part not in ('', '.')]
    return [posixpath.join(path.root, *parts[: n + 1]) for n in range(len(parts))]


def judge_way(
    path: ConfinedPath, answers: Sequence[Answer], regular: bool
) -> Optional[SFTPAttributes]:
    """The lstat attributes of `path` itself (None for its root), after the
    lstat answers of its components said: folders, then (`regular`) a regular
    file or (else) a folder. A refusal is raised as the server said it; a
    link or the wrong kind is NotFollowed."""
    parts = [part for part in path.name.split('/') if part not in ('', '.')]
    if '..' in parts:
        raise NotFollowed(f'{path.name} climbs out of {path.root} with ..', f'cannot read {path}')
    attrs: Optional[SFTPAttributes] = None
    for number, answer in enumerate(answers):
        attrs = answer.check().attrs
        mode = mode_of(attrs)
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
    return attrs


def check_way(pipe: Pipeline, path: ConfinedPath, regular: bool) -> Optional[SFTPAttributes]:
    """`judge_way` in one round trip."""
    return judge_way(path, pipe.run(lstat(p) for p in way_requests(path)), regular)


def read_files(pipe: Pipeline, paths: Sequence[str], limit: int) -> Dict[str, bytes]:
    """The whole bytes of each of `paths` (ConfinedPaths; a plain path is
    left out) that is plainly a regular file of at most `limit` bytes reached
    without a link, in three round trips: the lstats of the ways, the opens,
    the reads (with an fstat: a file that changed size meanwhile is left out)
    and closes. Anything else is left out, unread and unopened if it is no
    regular file."""
    ways = {p: way_requests(p) for p in paths if isinstance(p, ConfinedPath)}
    components = list(dict.fromkeys(c for way in ways.values() for c in way))
    looked = dict(zip(components, pipe.run(lstat(c) for c in components)))
    sizes: Dict[ConfinedPath, int] = {}
    for path, way in ways.items():
        try:
            attrs = judge_way(path, [looked[c] for c in way], regular=True)
        except (NotFollowed, OSError, EOFError):
            continue
        size = None if attrs is None else size_of(attrs)
        if size is not None and size <= limit:
            sizes[path] = size
    candidates = list(sizes)
    opened = pipe.run(open_file(str(p)) for p in candidates)
    handles = {p: a.handle for p, a in zip(candidates, opened) if a.kind == CMD_HANDLE}
    asked: List[Tuple[ConfinedPath, Request]] = []
    for path, handle in handles.items():
        asked += [(path, read(handle, off, n)) for off, n in chunks(sizes[path])]
        asked += [(path, Request(CMD_FSTAT, (handle,))), (path, close(handle))]
    found: Dict[str, List[bytes]] = {path: [] for path in handles}
    for (path, request), answer in zip(asked, pipe.run(r for _, r in asked)):
        if path not in found or request.command == CMD_CLOSE:
            continue
        if request.command == CMD_FSTAT:
            whole = answer.kind == CMD_ATTRS and answer.attrs.st_size == sizes[path]
        else:  # a read: all of what was asked, or the file is left out
            whole = answer.kind == CMD_DATA and len(answer.data) == request.answer_bytes
            if whole:
                found[path].append(answer.data)
        if answer.error is not None or not whole:
            del found[path]
    return {path: b''.join(parts) for path, parts in found.items()}


# --- removing ------------------------------------------------------------------


def remove_tree(pipe: Pipeline, path: str) -> None:
    """Remove `path`: a file or link at once, a folder with everything in
    it (listed a level at a time, then removed deepest first in one batch);
    fine if it is not there. Errors are raised, the first first."""
    [looked] = pipe.run([lstat(path)])
    if isinstance(looked.error, FileNotFoundError):
        return
    if not stat.S_ISDIR(mode_of(looked.attrs)):
        pipe.run([remove(path)])[0].check()
        return
    listing = list_folders(pipe, path)
    requests = list(_removals(listing, path, ''))
    for answer in pipe.run(requests):
        if answer.error is not None and not isinstance(answer.error, FileNotFoundError):
            raise answer.error


def _removals(listing: Listing, root: str, rel: str) -> Iterator[Request]:
    """What removes the folder `rel` of `listing`: its subfolders first
    (deepest first), then its other entries, then itself."""
    folder = posixpath.join(root, rel) if rel else root
    for attrs in listing.get(rel, ()):
        name = f'{rel}/{attrs.filename}' if rel else attrs.filename
        if stat.S_ISDIR(mode_of(attrs)):
            yield from _removals(listing, root, name)
        else:
            yield remove(posixpath.join(root, name))
    yield Request(CMD_RMDIR, (folder,))
