"""Staging a job out: judge the runner's result and publish its outputs.

Outputs go to `output/<job id>/` in the exchange area and the job's output
JSON gets client URLs. Outputs of a failed run that did produce some are
published too (they help users see what went wrong), and the runner's own
error lines are copied into the job log.

Nothing is read through a link: what the job left is read as
`ConfinedPath`s below its folder on the resource, so a step that made a
link to a file outside the job (an unpacked archive, say) cannot have that
file published. A link among the outputs ends the job in PermanentFailure,
naming the output and the link, and none of its outputs are published
(the runner's log still is). Whatever the configured runner does, this
holds. Writing into the exchange goes through its confined root too, so a
link planted in `output/<job id>/` is replaced, never written through.

What one job publishes is bounded: its output object is read only up to
`MAX_OUTPUT_JSON` bytes (a larger one is a PermanentFailure saying so, see
`cwl/outputs.py`), and at most `MAX_OUTPUT_FILES` files and folders are
published; outputs holding more end the job in PermanentFailure before any
of them is copied. Both come from what the user handed in or asked for,
so the job log says which limit was met, and the service log the sizes.

The runner's two files, and the small outputs a batch at a time, are read
with `FileSystem.read_small_files` (over SFTP: a few round trips for many
files); what that leaves out is read one by one as before, which is also
what says why a file cannot be read.
"""

import contextlib
import copy
import dataclasses
import logging
import posixpath
import re
import stat
from typing import Callable, Optional

from ..boundary.confined import Refused
from ..cwl.outputs import OutputFile, interpret_runner_result, plan_outputs, strip_ansi
from ..defaults import MAX_OUTPUT_FILES, MAX_OUTPUT_JSON, STDERR_TAIL_BYTES, STDERR_TAIL_LINES
from ..errors import DiskFull, InvalidOutput, PermanentResourceError, StagingAborted, StopReason
from ..jobs.states import JobState
from ..resource.filesystem import NO_SPACE, SMALL_FILE, ConfinedPath, FileSystem, NotFollowed
from ..resource.layout import ResourceLayout
from ..resource.scheduler import TIMEOUT_EXIT_CODE
from .exchange import Exchange

logger = logging.getLogger(__name__)

#: the runner's whole log, published beside every job's outputs
RUNNER_LOG_NAME = 'cerise-runner.log'
#: entries counted between two looks at whether the job should stop
_STOP_EVERY = 1000
#: outputs read ahead together, and the largest one read so
_READ_AHEAD, _READ_AHEAD_BYTES = 32, 256 * 1024


@dataclasses.dataclass(frozen=True)
class StageOutResult:
    state: JobState
    reason: str
    output: Optional[dict]
    files: int
    runner_log_tail: str
    runner_log_url: Optional[str] = None  # the whole log, in the exchange area


class StageOut:
    def __init__(self, fs: FileSystem, layout: ResourceLayout, exchange: Exchange):
        self._fs = fs
        self._layout = layout
        self._exchange = exchange

    def run(
        self,
        job_id: str,
        exit_code: Optional[int],
        time_limit: int,
        should_stop: Callable[[], Optional[StopReason]],
        owner: str = '',
    ) -> StageOutResult:
        """Publish the job's outputs in `owner`'s file area (`Exchange.for_user`)."""
        exchange = self._exchange.for_user(owner)
        if exchange is not self._exchange:  # this object is shared by the stagers
            twin = copy.copy(self)
            twin._exchange = exchange
            return twin.run(job_id, exit_code, time_limit, should_stop)
        paths = self._layout.job(job_id)
        stdout_path = ConfinedPath(paths.dir, posixpath.basename(paths.stdout))
        stderr_path = ConfinedPath(paths.dir, posixpath.basename(paths.stderr))
        read = self._fs.read_small_files([stdout_path, stderr_path], SMALL_FILE)
        limit = MAX_OUTPUT_JSON
        stdout_size: Optional[int]  # None: its size could not be read
        if stdout_path in read:
            stdout_size = len(read[stdout_path])
            stdout = '' if stdout_size > limit else read[stdout_path].decode(errors='replace')
        else:
            stdout_size = self._fs.size(stdout_path)
            too_large = stdout_size is not None and stdout_size > limit
            stdout = '' if too_large else self._read_text(stdout_path, limit)
        if stderr_path in read:
            stderr = read[stderr_path][-STDERR_TAIL_BYTES:].decode(errors='replace')
        else:
            stderr = self._read_tail(stderr_path)
        timed_out = exit_code == TIMEOUT_EXIT_CODE and time_limit > 0
        result = interpret_runner_result(
            exit_code, stdout, stderr, timed_out, stdout_size=stdout_size, max_stdout=limit
        )
        if result.detail:
            logger.warning(
                'job %s: %s: %s (%s)', job_id, result.state.value, result.reason, result.detail
            )
        tail = '' if result.state is JobState.SUCCESS else _tail(stderr)
        target = self._exchange.output_name(job_id)
        root = self._exchange.root
        with _publishing(self._exchange, target):
            root.mkdir(target)
            log_url = None
            log = read.get(stderr_path)
            if log is not None or self._fs.size(stderr_path) is not None:  # every job's
                self._publish_file(stderr_path, f'{target}/{RUNNER_LOG_NAME}', log)
                log_url = f'{self._exchange.output_url(job_id)}/{RUNNER_LOG_NAME}'
        if result.output is None:
            return StageOutResult(result.state, result.reason, None, 0, tail, log_url)
        try:
            doc, files = plan_outputs(result.output, paths.work, self._exchange.output_url(job_id))
        except InvalidOutput as exc:
            return StageOutResult(
                JobState.SYSTEM_ERROR, f'unusable runner output: {exc}', None, 0, tail, log_url
            )
        published = []
        counter = _Counter(should_stop)
        try:
            self._count(paths.work, files, counter)
        except _TooMany as exc:
            logger.warning('job %s: outputs not published: %s', job_id, exc.detail)
            return StageOutResult(JobState.PERMANENT_FAILURE, str(exc), None, 0, tail, log_url)
        except _LinkInOutput as exc:
            return StageOutResult(JobState.PERMANENT_FAILURE, str(exc), None, 0, tail, log_url)
        counter = _Counter(should_stop)
        ahead = _ReadAhead(
            self._fs, [ConfinedPath(paths.work, i.relative) for i in files if not i.is_directory]
        )
        try:
            with _publishing(self._exchange, target):
                for item in files:
                    reason = should_stop()
                    if reason:
                        raise StagingAborted(reason)
                    published.append(item)
                    self._fetch(paths.work, item, target, counter, ahead)
        except (_LinkInOutput, _TooMany) as exc:
            with _publishing(self._exchange, target):
                for item in published:  # all outputs or none; the runner's log stays
                    root.remove(f'{target}/{item.relative}')
            return StageOutResult(JobState.PERMANENT_FAILURE, str(exc), None, 0, tail, log_url)
        return StageOutResult(result.state, result.reason, doc, len(files), tail, log_url)

    def _read_text(self, path: str, limit: int) -> str:
        if self._fs.size(path) is None:
            return ''
        return self._fs.read_bytes(path, limit).decode(errors='replace')

    def _read_tail(self, path: str) -> str:
        size = self._fs.size(path)
        if size is None:
            return ''
        with self._fs.open_read(path) as stream:
            if size > STDERR_TAIL_BYTES:
                stream.seek(size - STDERR_TAIL_BYTES)
            return stream.read().decode(errors='replace')

    def _count(self, work: str, files: list, counter: '_Counter') -> None:
        """Count what `files` would publish, before anything is: _TooMany
        as soon as it is more than MAX_OUTPUT_FILES."""
        for item in files:
            counter.add(item)
            if item.is_directory:
                try:
                    for _ in self._fs.walk(ConfinedPath(work, item.relative)):
                        counter.add(item)
                except NotFollowed as exc:
                    raise _LinkInOutput(item, exc.detail) from exc

    def _fetch(
        self, work: str, item: OutputFile, target: str, counter: '_Counter', ahead: '_ReadAhead'
    ) -> None:
        """Publish one output, reading it below the work dir without
        following a link; a link (or a FIFO, a device) is _LinkInOutput.
        Counted again as it is copied: a folder that grew since it was
        counted is _TooMany all the same."""
        dest = f'{target}/{item.relative}'
        self._exchange.root.mkdir(posixpath.dirname(dest))
        source = ConfinedPath(work, item.relative)
        counter.add(item)
        try:
            if not item.is_directory:
                self._publish_file(source, dest, ahead.take(source))
                return
            self._exchange.root.mkdir(dest)
            entries = list(self._fs.walk(source))
            inside = _ReadAhead(
                self._fs,
                [
                    ConfinedPath(work, f'{item.relative}/{rel}')
                    for rel, _, m in entries
                    if stat.S_ISREG(m)
                ],
            )
            for rel, is_dir, mode in entries:
                counter.add(item)
                if is_dir:
                    self._exchange.root.mkdir(f'{dest}/{rel}')
                elif stat.S_ISREG(mode):
                    name = ConfinedPath(work, f'{item.relative}/{rel}')
                    self._publish_file(name, f'{dest}/{rel}', inside.take(name))
                else:
                    raise _LinkInOutput(item, f'{item.relative}/{rel} is {_kind(mode)}')
        except NotFollowed as exc:
            raise _LinkInOutput(item, exc.detail) from exc

    def _publish_file(self, source: str, target: str, data: Optional[bytes] = None) -> None:
        """Copy to a temporary name beside `target` (a name in the exchange),
        then rename: a client never sees a half-written output, and a failed
        copy leaves none. `data`: the source's bytes, read ahead."""
        root = self._exchange.root
        folder, name = posixpath.split(target)
        part = posixpath.join(folder, f'.{name}.part')
        try:
            if data is not None:
                with root.create(part) as out:
                    out.write(data)
            else:
                with self._fs.open_read(source) as stream, root.create(part) as out:
                    _copy(stream, out)
            root.rename(part, target)
        except BaseException:
            with contextlib.suppress(OSError, Refused):
                root.unlink(part)
            raise


class _ReadAhead:
    """The small regular files among `sources` (in the order they are
    published), read _READ_AHEAD at a time with `read_small_files`; `take`
    gives one's bytes, or None for the ordinary way."""

    def __init__(self, fs: FileSystem, sources: list):
        self._fs = fs
        self._sources = sources
        self._index = {source: n for n, source in enumerate(sources)}
        self._read: dict = {}
        self._end = 0  # sources before this were read ahead (or passed)

    def take(self, source: str) -> Optional[bytes]:
        where = self._index.get(source)
        if where is None:
            return None
        if where >= self._end:
            self._end = where + _READ_AHEAD
            batch = self._sources[where : self._end]
            self._read = self._fs.read_small_files(batch, _READ_AHEAD_BYTES)
        return self._read.pop(source, None)


class _LinkInOutput(Exception):
    """An output holds a link, or a file that is neither file nor folder."""

    def __init__(self, item: OutputFile, what: str):
        super().__init__(
            f"output '{item.output}': {what}; links in outputs are not published, "
            f'so none of the outputs were'
        )


class _TooMany(Exception):
    """The outputs hold more files and folders than one job publishes."""

    def __init__(self, item: OutputFile, limit: int):
        super().__init__(
            f'the outputs hold more than {limit:,} files and folders (output '
            f"'{item.output}' reached the count), more than the service publishes for one "
            'job, so none of them were published; return fewer, larger files (an archive, say)'
        )
        self.detail = f'more than MAX_OUTPUT_FILES ({limit}) entries, counting {item.relative}'


class _Counter:
    """Counts the entries a job publishes, up to MAX_OUTPUT_FILES, and asks
    now and then whether the job should stop."""

    def __init__(self, should_stop: Callable[[], Optional[StopReason]]):
        self._should_stop = should_stop
        self.count = 0
        self.limit = MAX_OUTPUT_FILES

    def add(self, item: OutputFile) -> None:
        self.count += 1
        if self.count > self.limit:
            raise _TooMany(item, self.limit)
        if self.count % _STOP_EVERY == 0:
            reason = self._should_stop()
            if reason:
                raise StagingAborted(reason)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return 'a symbolic link, which is never followed'
    return 'neither a file nor a folder'


@contextlib.contextmanager
def _publishing(exchange: Exchange, target: str):
    """Errors writing to the exchange area, told as the service's: a full disk
    is DiskFull (and what was published goes, all outputs or none); a link
    or a file in the way is a permanent problem."""
    try:
        yield
    except Refused as exc:
        raise PermanentResourceError(
            f'cannot publish the outputs in the file exchange area: {exc}'
        ) from exc
    except OSError as exc:
        if exc.errno not in NO_SPACE:
            raise PermanentResourceError(
                f'cannot publish the outputs in the file exchange area: {exc}'
            ) from exc
        with contextlib.suppress(OSError, Refused):
            exchange.root.remove(target)
        raise DiskFull(
            f"the service's disk is full: cannot publish the outputs in the file "
            f'exchange area ({exc.strerror})'
        ) from exc


def _copy(stream, out) -> None:
    while True:
        chunk = stream.read(1 << 20)
        if not chunk:
            return
        out.write(chunk)


#: runner log lines that say nothing to a user of the service
_NOISE = re.compile(r"^INFO (/\S+/cwltool/__main__\.py |Resolved ')")


def _tail(stderr: str) -> str:
    lines = strip_ansi(stderr).splitlines()
    lines = [line for line in lines if line.strip() and not _NOISE.match(line)]
    return '\n'.join(lines[-STDERR_TAIL_LINES:])
