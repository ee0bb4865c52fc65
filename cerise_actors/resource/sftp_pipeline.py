"""SFTP requests sent together: a job's folders, small files and listings in a few round trips.

paramiko's SFTPClient sends one request and waits for its answer, so every
stat, mkdir, open, close and rename of a job costs a round trip to the
resource: a trivial job took about a hundred of them from stage-in to
clean-up. The SFTP protocol lets a client send many requests before reading
any answer, and an SFTP server must give the same results as if each had
been sent after the answer to the one before (draft-ietf-secsh-filexfer-02,
section 6: requests are processed in order). So a mkdir and the open of a
file in that folder may go together, and what needs no answer of another
request (a handle) costs no round trip of its own.

`Pipeline.run` sends requests (a window of them at a time, so that answers
waiting to be read never fill the channel's window) and returns each one's
answer or error in order; nothing is raised for a refused request, the
caller decides. It uses paramiko's request layer (`_async_request`,
`_read_response`, `_convert_status`), which paramiko's own files use for
their pipelined writes and prefetch; the client is used by one thread at a
time (SftpFileSystem lends it out). The tree operations built on it are in
sftp_batch.py.
"""

import dataclasses
import errno
import posixpath
import stat
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Protocol, Tuple, cast

from paramiko import Message, SFTPAttributes, SFTPClient
from paramiko.sftp import (
    CMD_ATTRS,
    CMD_CLOSE,
    CMD_DATA,
    CMD_HANDLE,
    CMD_LSTAT,
    CMD_MKDIR,
    CMD_NAME,
    CMD_OPENDIR,
    CMD_READ,
    CMD_READDIR,
    CMD_STATUS,
    int64,
)

from ..errors import DiskFull, PermanentResourceError, ResourceError, TemporaryResourceError

#: requests in flight at once; answers to them must fit the channel's window
MAX_IN_FLIGHT = 64
#: bytes of answers (file data) in flight at once, well below paramiko's 2 MiB window
MAX_ANSWER_BYTES = 1 << 20
#: bytes per read or write request (the size every SFTP server accepts)
REQUEST_BYTES = 32768
#: a folder read answers at most this many names here (OpenSSH: 100); two are asked at once
_READDIRS = 2

#: a folder tree as `list_folders` gives it: relative folder -> its entries
Listing = Dict[str, List[SFTPAttributes]]


class _RequestLayer(Protocol):
    """The private part of paramiko's SFTPClient this module uses (see above);
    types-paramiko leaves it out, so its signatures are written here, as in
    paramiko's sftp_client.py."""

    def _async_request(self, fileobj: object, t: int, *args: object) -> int: ...

    def _read_response(self) -> object: ...

    def _convert_status(self, msg: Message) -> None: ...


class _FromMessage(Protocol):
    """SFTPAttributes' private reader of an answer (paramiko's sftp_attr.py)."""

    def _from_msg(
        self, msg: Message, filename: Optional[str] = None, longname: Optional[str] = None
    ) -> SFTPAttributes: ...


#: SFTPAttributes as the reader of answers it is at run time
_ATTRIBUTES = cast(_FromMessage, SFTPAttributes)


@dataclasses.dataclass(frozen=True)
class Request:
    command: int
    #: strings, handles, int64s, ints or SFTPAttributes, as paramiko packs them
    args: Tuple[object, ...]
    answer_bytes: int = 0  # how much data the answer carries (a read's length)


@dataclasses.dataclass(frozen=True)
class Answer:
    """What the server said to one request: a handle, attributes, data,
    a folder's entries (with the attributes the server sends, OpenSSH's
    lstat's; `.` and `..` left out), nothing (a plain "OK"), or an `error`."""

    kind: int = CMD_STATUS
    value: object = None  # what `_parse` made of it: its type follows `kind`
    error: Optional[Exception] = None  # the server said no (OSError, EOFError)

    # each cast below is known by construction: `_value` checked the kind, and
    # `_parse` makes that type of that kind
    @property
    def handle(self) -> bytes:
        return cast(bytes, self._value(CMD_HANDLE))

    @property
    def attrs(self) -> SFTPAttributes:
        return cast(SFTPAttributes, self._value(CMD_ATTRS))

    @property
    def data(self) -> bytes:
        return cast(bytes, self._value(CMD_DATA))

    @property
    def names(self) -> List[SFTPAttributes]:
        return cast(List[SFTPAttributes], self._value(CMD_NAME))

    def _value(self, kind: int) -> object:
        self.check()
        if self.kind != kind:
            raise OSError(f'unexpected SFTP answer {self.kind} where {kind} was due')
        return self.value

    def check(self) -> 'Answer':
        """This answer, or its error raised."""
        if self.error is not None:
            raise self.error
        return self


def _parse(kind: int, message: Message) -> object:
    if kind == CMD_HANDLE:
        return message.get_binary()
    if kind == CMD_ATTRS:
        return _ATTRIBUTES._from_msg(message)
    if kind == CMD_DATA:
        return message.get_string()
    if kind == CMD_NAME:
        found: List[SFTPAttributes] = []
        for _ in range(message.get_int()):
            name = message.get_text()
            longname = message.get_text()
            attrs = _ATTRIBUTES._from_msg(message, name, longname)
            if name not in ('.', '..'):
                found.append(attrs)
        return found
    return None


class _Collector:
    """Where paramiko hands the answers to this pipeline's requests."""

    def __init__(self) -> None:
        self.arrived: Dict[int, Tuple[int, Message]] = {}

    def _async_response(self, kind: int, message: Message, number: int) -> None:
        self.arrived[number] = (kind, message)


class Pipeline:
    def __init__(self, sftp: SFTPClient):
        # by construction: every SFTPClient has the request layer (see _RequestLayer)
        self._sftp = cast(_RequestLayer, sftp)

    def run(self, requests: Iterable[Request]) -> List[Answer]:
        """Each request's answer, in order. `requests` is consumed as the
        window allows, so a generator may read its data as it goes."""
        answers: List[Optional[Answer]] = []

        def keep(index: int, answer: Answer) -> None:
            answers[index] = answer

        self._drive(requests, keep, lambda: answers.append(None))
        return cast(List[Answer], answers)  # by construction: _drive answered each request

    def first_refusal(self, requests: Iterable[Request]) -> Optional[Exception]:
        """The error of the first refused request, if any, keeping no other
        answer (for the thousands of writes of a large file)."""
        refusals: Dict[int, Exception] = {}

        def keep(index: int, answer: Answer) -> None:
            if answer.error is not None:
                refusals[index] = answer.error

        self._drive(requests, keep, lambda: None)
        return refusals[min(refusals)] if refusals else None

    def _drive(
        self,
        requests: Iterable[Request],
        take: Callable[[int, Answer], None],
        sent: Callable[[], None],
    ) -> None:
        """Send `requests` a window at a time; `take(index, answer)` for each."""
        sftp, collector = self._sftp, _Collector()
        waiting: Dict[int, Tuple[int, int]] = {}  # request number -> (index, answer bytes)
        count = in_flight_bytes = 0
        pending = iter(requests)
        nxt = next(pending, None)
        while nxt is not None or waiting:
            while (
                nxt is not None
                and len(waiting) < MAX_IN_FLIGHT
                and (not waiting or in_flight_bytes + nxt.answer_bytes <= MAX_ANSWER_BYTES)
            ):
                number = sftp._async_request(collector, nxt.command, *nxt.args)
                waiting[number] = (count, nxt.answer_bytes)
                count += 1
                sent()
                in_flight_bytes += nxt.answer_bytes
                nxt = next(pending, None)
            # a full window is read half empty before more is sent: on a far
            # link each refill then costs one round trip, not one per answer
            while waiting and (
                nxt is None
                or len(waiting) > MAX_IN_FLIGHT // 2
                or in_flight_bytes + nxt.answer_bytes > MAX_ANSWER_BYTES // 2
            ):
                sftp._read_response()  # one packet, handed to the collector
                for number, (kind, message) in list(collector.arrived.items()):
                    del collector.arrived[number]
                    index, size = waiting.pop(number)
                    in_flight_bytes -= size
                    take(index, self._answer(kind, message))

    def forget(self, request: Request) -> None:
        """Send a request whose answer nobody reads (closing a handle)."""
        self._sftp._async_request(type(None), request.command, *request.args)

    def _answer(self, kind: int, message: Message) -> Answer:
        if kind != CMD_STATUS:
            return Answer(kind, _parse(kind, message))
        try:
            self._sftp._convert_status(message)
        except (OSError, EOFError) as exc:
            return Answer(kind, None, exc)
        return Answer(kind)


def translate(exc: Exception, what: str) -> ResourceError:
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


# --- requests ---------------------------------------------------------------


def lstat(path: str) -> Request:
    return Request(CMD_LSTAT, (path,))


def folder_mode(mode: int = 0o777) -> SFTPAttributes:
    attrs = SFTPAttributes()
    attrs.st_mode = mode
    return attrs


def mkdir(path: str) -> Request:
    return Request(CMD_MKDIR, (path, folder_mode()))


def opendir(path: str) -> Request:
    return Request(CMD_OPENDIR, (path,))


def close(handle: bytes) -> Request:
    return Request(CMD_CLOSE, (handle,))


def read(handle: bytes, offset: int, length: int) -> Request:
    return Request(CMD_READ, (handle, int64(offset), length), length)


def chunks(size: int) -> Iterable[Tuple[int, int]]:
    """(offset, length) of the requests that read or write `size` bytes."""
    return ((offset, min(REQUEST_BYTES, size - offset)) for offset in range(0, size, REQUEST_BYTES))


def mode_of(attrs: SFTPAttributes) -> int:
    """The st_mode of an answer's attributes. SFTP makes it optional (OpenSSH
    always sends it): one left out is an odd answer, a resource error that
    gives the client back, as an answer of the wrong kind is."""
    if attrs.st_mode is None:
        raise TemporaryResourceError('the SFTP server sent attributes without a file mode')
    return attrs.st_mode


def size_of(attrs: SFTPAttributes) -> int:
    """The st_size of an answer's attributes; as `mode_of`."""
    if attrs.st_size is None:
        raise TemporaryResourceError('the SFTP server sent attributes without a file size')
    return attrs.st_size


def ancestors(path: str) -> List[str]:
    """`path` and the folders above it, top first, without `/` itself."""
    path = posixpath.normpath(path)
    found: List[str] = []
    while path not in ('/', '', '.'):
        found.append(path)
        path = posixpath.dirname(path)
    return found[::-1]


def list_folders(pipe: Pipeline, root: str) -> Listing:
    """The whole tree below the folder `root`: relative folder ('' for
    `root`) -> its entries (sorted by name). One level of folders at a time:
    opened together, read together, closed unanswered. A link is never
    entered, whatever attributes a listing has (OpenSSH's are lstat's; stat's
    would make a link to a folder look like one): each folder below `root`
    is opened right after an lstat of it, in the same round trip, and one
    that is no folder is listed with those attributes, unread. Errors are
    raised."""
    listing: Listing = {}
    level = ['']
    while level:
        asked: List[Request] = []
        for rel in level:
            path = posixpath.join(root, rel) if rel else root
            asked += [lstat(path), opendir(path)] if rel else [opendir(path)]
        answers = iter(pipe.run(asked))
        looked: Dict[str, Answer] = {}
        opened: Dict[str, Answer] = {}
        for rel in level:
            if rel:
                looked[rel] = next(answers)
            opened[rel] = next(answers)
        open_ = {rel: a.handle for rel, a in opened.items() if a.kind == CMD_HANDLE}
        try:
            for rel, look in looked.items():
                if look.error is None and not stat.S_ISDIR(mode_of(look.attrs)):
                    _relist(listing, rel, look.attrs)  # a link: listed as one, not entered
                    del opened[rel]
                    if rel in open_:
                        pipe.forget(close(open_.pop(rel)))
            for answer in opened.values():
                answer.handle  # noqa: B018 (raises the first refusal)
            entries = _read_folders(pipe, open_)
        finally:
            for handle in open_.values():  # those not read to their end
                pipe.forget(close(handle))
        level = []
        for rel, found in entries.items():
            found.sort(key=lambda a: a.filename)
            listing[rel] = found
            level += [
                f'{rel}/{a.filename}' if rel else a.filename
                for a in found
                if stat.S_ISDIR(mode_of(a))
            ]
    return listing


def _relist(listing: Listing, rel: str, attrs: SFTPAttributes) -> None:
    """List `rel` with the lstat attributes `attrs` among its folder's entries."""
    folder, _, name = rel.rpartition('/')
    attrs.filename = name
    listing[folder] = [attrs if a.filename == name else a for a in listing[folder]]


def _read_folders(pipe: Pipeline, open_: Dict[str, bytes]) -> Listing:
    """Read the open folders (relative name -> handle) to their ends, a few
    reads of each at a time; a folder read to its end is closed and taken out
    of `open_`."""
    entries: Listing = {rel: [] for rel in open_}
    while open_:
        asked = [(rel, handle) for rel, handle in open_.items() for _ in range(_READDIRS)]
        answers = pipe.run(Request(CMD_READDIR, (handle,)) for _, handle in asked)
        for (rel, handle), answer in zip(asked, answers):
            if rel not in open_:
                continue  # read to its end by an earlier answer
            if isinstance(answer.error, EOFError):
                del open_[rel]
                pipe.forget(close(handle))
            else:
                entries[rel] += answer.names
    return entries


def walk_listing(listing: Listing, rel: str = '') -> Iterator[Tuple[str, SFTPAttributes]]:
    """(relative path, attrs) of everything in `listing`, parents first, as a
    depth-first walk sorted by name."""
    for attrs in listing.get(rel, ()):
        name = f'{rel}/{attrs.filename}' if rel else attrs.filename
        yield name, attrs
        if stat.S_ISDIR(mode_of(attrs)):
            yield from walk_listing(listing, name)
