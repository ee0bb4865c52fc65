"""Staging a job in: fetch and check the workflow, copy inputs to the resource.

Plain code, no actors: the StagerActor calls `StageIn.run` and turns what it
returns or raises into a state transition. Copies are idempotent (a file of
the same size already on the resource is not sent again), so a job put back
into SUBMITTED by a restart resumes cheaply. Small files (most inputs, the
workflow and the input description) are read first and then sent together
with the job's folders (`FileSystem.put_small_files`: over SFTP, three round
trips for a whole job); larger ones are streamed one by one. `should_stop` is asked between
files and, while a file is read, by a watchdog (see sources.py), so that a
cancel or shutdown aborts promptly even when a source has gone silent.
"""

import copy
import dataclasses
import json
import posixpath
import stat
from types import MappingProxyType
from typing import Callable, List, Mapping, Optional, Sequence

from ..boundary.confined import Refused
from ..cwl.inputs import InputFile, plan_inputs
from ..cwl.secondary import add_secondary_files
from ..cwl.workflow import plan_workflow
from ..defaults import UPLOAD_PREFIX
from ..errors import InvalidInput, InvalidWorkflow, SourceUnavailable, StagingAborted, StopReason
from ..resource.filesystem import SMALL_FILE, FileSystem, SmallFile
from ..resource.layout import ResourceLayout
from .bounded import SourceLimits
from .exchange import Exchange
from .sources import Sources
from .validate import WorkflowValidator


@dataclasses.dataclass(frozen=True)
class StageInResult:
    cores: int
    time_limit: int
    remote_dir: str
    files: int
    bytes_sent: int
    steps: tuple
    workflow_content: bytes  # as the user submitted it, kept with the job
    staged_input: str  # the input description with locations on the resource
    notes: tuple = ()  # job-log lines about the workflow (hints ignored)
    warnings: tuple = ()  # cwltool's warnings about the input object, for the job log

    @property
    def summary(self) -> str:
        """What the job log says about it."""
        steps = f'steps {", ".join(self.steps)}' if self.steps else 'no steps'
        return (
            f'Staged in: workflow with {steps}; '
            f'{self.files} input file(s), {self.bytes_sent} bytes sent.'
        )


class StageIn:
    def __init__(
        self,
        fs: FileSystem,
        layout: ResourceLayout,
        exchange: Exchange,
        catalogue: Mapping[str, dict],
        installed_files: Mapping[str, Optional[str]] = MappingProxyType({}),
        limits: SourceLimits = SourceLimits(),
        validator: Optional[WorkflowValidator] = None,
        javascript: bool = True,
    ):
        """`installed_files`: the non-step files installed with the steps, which
        workflows may import (see cwl/imports.py); `limits` bound each source;
        `validator` checks the workflow and input with cwltool's loader;
        `javascript`: whether workflows may hold JavaScript (only where the
        service's own runner evaluates it, in its sandbox)."""
        self._fs = fs
        self._layout = layout
        self._exchange = exchange
        self._catalogue = catalogue
        self._installed_files = installed_files
        self._limits = limits
        self._validator = validator
        self._javascript = javascript

    def run(
        self,
        job_id: str,
        workflow_url: str,
        input_json: str,
        should_stop: Callable[[], Optional[StopReason]],
        owner: str = '',
    ) -> StageInResult:
        """Stage the job in from `owner`'s file area (`Exchange.for_user`)."""
        exchange = self._exchange.for_user(owner)
        if exchange is not self._exchange:  # this object is shared by the stagers
            twin = copy.copy(self)
            twin._exchange = exchange
            return twin.run(job_id, workflow_url, input_json, should_stop)
        sources = Sources(self._exchange, self._limits, should_stop)
        raw = sources.read_workflow(workflow_url)
        paths = self._layout.job(job_id)
        plan = plan_workflow(
            raw,
            self._catalogue,
            self._layout.api_dir,
            url=workflow_url,
            read=lambda url: self._read_reference(sources, url),
            work_dir=paths.work,
            exists=self._exists,
            installed_files=self._installed_files,
            javascript=self._javascript,
        )
        try:
            input_doc = json.loads(input_json)
        except ValueError as exc:
            raise InvalidInput(f'the input is not valid JSON: {exc}') from exc
        warnings: tuple = ()  # cwltool's about the input object, for the job log
        if self._validator is not None:  # types, required inputs, step wiring: now, not queued
            warnings = self._validator.check(
                workflow_url,
                raw,
                input_doc,
                lambda url: self._read_reference(sources, url),
                plan.content,
                self._layout.api_dir,
            )
        input_doc = add_secondary_files(input_doc, list(plan.secondary_files), self._exists)
        staged_doc, files = plan_inputs(input_doc, paths.work)
        self._check_defaults(plan.files)
        self._check_sources(files)
        files = list(plan.files) + files
        # only the work folder: the runner (cwltool) makes its tmp folder when it
        # starts, and a folder fewer is an inode fewer per job (issue 21)
        batch = _Batch(self._fs, should_stop, [paths.work])
        sent = 0
        for item in files:
            reason = should_stop()
            if reason:
                raise StagingAborted(reason)
            sent += self._copy(sources, item, posixpath.join(paths.work, item.target), batch)
        staged_input = json.dumps(staged_doc, indent=2)
        sent += batch.send(
            [SmallFile(paths.workflow, plan.content), SmallFile(paths.input, staged_input.encode())]
        )
        return StageInResult(
            plan.cores,
            plan.time_limit,
            paths.dir,
            len(files),
            sent,
            plan.steps,
            raw,
            staged_input,
            tuple(plan.notes),
            tuple(warnings),
        )

    def _read_reference(self, sources: Sources, url: str) -> bytes:
        """What a `$import` or `$include` names: only files in the exchange area."""
        try:
            local = self._exchange.name_of(url)
        except InvalidInput as exc:
            raise InvalidWorkflow(f'$import or $include of {exc}') from exc
        if local is None:
            raise InvalidWorkflow(
                f'$import or $include of {url}: a workflow may import only files in '
                f'the file exchange area'
            )
        return sources.read_workflow(url)

    def _exists(self, url: str) -> bool:
        """Whether a file a secondaryFiles pattern names is in the exchange area
        (a regular file, reached without following a link)."""
        try:
            name = self._exchange.name_of(url)
            return name is not None and stat.S_ISREG(self._exchange.root.locate(name).st_mode)
        except (InvalidInput, Refused, OSError):
            return False

    def _check_defaults(self, files: Sequence[InputFile]) -> None:
        """File defaults of the workflow: only from the exchange area."""
        for item in files:
            try:
                local = self._exchange.checked_name(item.source)
            except InvalidInput as exc:
                raise InvalidWorkflow(f'the {item.name}: {exc}') from exc
            if local is None:
                raise InvalidWorkflow(
                    f'the {item.name}: {item.source} is not in the file exchange area; '
                    f'files the workflow itself names must be next to it there'
                )

    def _check_sources(self, files: Sequence[InputFile]) -> None:
        """Refuse the whole job before copying anything if a location is bad."""
        for item in files:
            try:
                self._exchange.checked_name(item.source)
            except InvalidInput as exc:
                raise InvalidInput(f"input '{item.name}': {exc}") from exc

    def _copy(self, sources: Sources, item: InputFile, target: str, batch: '_Batch') -> int:
        """Stream `item` to `target`, or read it into `batch` if it is small;
        the bytes streamed."""
        try:
            if item.is_directory:
                folder = sources.directory(item.source)
                return self._copy_tree(sources, folder, item.source, target, batch)
            with sources.open(item.source) as stream:
                if stream.size is not None and stream.size <= SMALL_FILE:
                    batch.add(SmallFile(target, _read_all(stream), keep_same_size=True))
                    return 0
                self._fs.mkdir(posixpath.dirname(target))
                if stream.size is not None and self._fs.size(target) == stream.size:
                    return 0
                return self._fs.put_stream(stream, target)
        except (InvalidInput, SourceUnavailable) as exc:
            raise type(exc)(f"input '{item.name}': {exc}") from exc

    def _copy_tree(
        self, sources: Sources, folder: str, url: str, target: str, batch: '_Batch'
    ) -> int:
        """Copy the exchange folder `folder` (a name relative to the area) to
        `target`: walked and read through the area's confined root, so no link
        is followed, inside the folder or on the way to it; a link is refused."""
        sent = 0
        batch.folders.append(target)
        for entry in sources.walk(folder, url):
            if posixpath.basename(entry.name).startswith(UPLOAD_PREFIX):
                continue  # an upload over /files still being written
            dest = posixpath.join(target, entry.name)
            if entry.is_dir:
                batch.folders.append(dest)
                continue
            name = f'{folder}/{entry.name}' if folder else entry.name
            mode = entry.stat.st_mode
            with sources.open_file(name, f'{url}/{entry.name}') as stream:
                if stream.size is None:  # opened from the exchange area, with its size
                    raise ValueError(f'{name}: opened without its size')
                if stream.size <= SMALL_FILE:
                    batch.add(SmallFile(dest, _read_all(stream), mode, keep_same_size=True))
                    continue
                self._fs.mkdir(posixpath.dirname(dest))
                if self._fs.size(dest) != stream.size:
                    sent += self._fs.put_stream(stream, dest, mode)
        return sent


#: the most bytes of small files held before they are sent
_BATCH_BYTES = 8 * SMALL_FILE


class _Batch:
    """A job's folders and small files, sent together when they reach
    _BATCH_BYTES and at the end."""

    def __init__(self, fs: FileSystem, should_stop, folders: List[str]):
        self._fs = fs
        self._should_stop = should_stop
        self.folders = list(folders)
        self._files: List[SmallFile] = []
        self._bytes = 0
        self.sent = 0  # bytes of inputs sent by earlier sends

    def _check(self) -> None:
        """Raises StagingAborted if the job should stop (asked as files are written)."""
        reason = self._should_stop()
        if reason:
            raise StagingAborted(reason)

    def add(self, small: SmallFile) -> None:
        if self._bytes + len(small.data) > _BATCH_BYTES:
            self.sent += self._send([])
        self.folders.append(posixpath.dirname(small.path))
        self._files.append(small)
        self._bytes += len(small.data)

    def send(self, last: List[SmallFile]) -> int:
        """Send what is left with the `last` files (always written, never
        counted): the bytes of inputs sent, by this and earlier sends."""
        written = self._send(last) - sum(len(small.data) for small in last)
        return self.sent + written

    def _send(self, extra: List[SmallFile]) -> int:
        folders = list(dict.fromkeys(self.folders))
        sent = self._fs.put_small_files(folders, self._files + extra, self._check)
        self.folders, self._files, self._bytes = [], [], 0
        return sent


def _read_all(stream) -> bytes:
    """A bounded source to its end (where it is checked for a change)."""
    parts: List[bytes] = []
    while True:
        chunk = stream.read(SMALL_FILE)
        if not chunk:
            return b''.join(parts)
        parts.append(chunk)
