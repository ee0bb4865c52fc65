"""Staging a job out: judge the runner's result and publish its outputs.

Outputs go to `output/<job id>/` in the exchange area and the job's output
JSON gets client URLs. Outputs of a failed run that did produce some are
published too (they help users see what went wrong), and the runner's own
error lines are copied into the job log.
"""

import contextlib
import dataclasses
import os
import re
import shutil
from pathlib import Path
from typing import Callable, Optional

from ..cwl.outputs import interpret_runner_result, plan_outputs, strip_ansi
from ..defaults import MAX_OUTPUT_JSON, STDERR_TAIL_BYTES, STDERR_TAIL_LINES
from ..errors import DiskFull, InvalidOutput, PermanentResourceError, StagingAborted, StopReason
from ..jobs.states import JobState
from ..resource.filesystem import NO_SPACE, FileSystem
from ..resource.layout import ResourceLayout
from ..resource.scheduler import TIMEOUT_EXIT_CODE
from .exchange import Exchange

#: the runner's whole log, published beside every job's outputs
RUNNER_LOG_NAME = 'cerise-runner.log'


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
    ) -> StageOutResult:
        paths = self._layout.job(job_id)
        stdout = self._read_text(paths.stdout, MAX_OUTPUT_JSON)
        stderr = self._read_tail(paths.stderr)
        timed_out = exit_code == TIMEOUT_EXIT_CODE and time_limit > 0
        result = interpret_runner_result(exit_code, stdout, stderr, timed_out)
        tail = '' if result.state is JobState.SUCCESS else _tail(stderr)
        target_dir = self._exchange.output_dir(job_id)
        with _publishing(target_dir):
            target_dir.mkdir(parents=True, exist_ok=True)
            log_url = None
            if self._fs.size(paths.stderr) is not None:  # for every job, success too
                self._publish_file(paths.stderr, target_dir / RUNNER_LOG_NAME)
                log_url = f'{self._exchange.output_url(job_id)}/{RUNNER_LOG_NAME}'
        if result.output is None:
            return StageOutResult(result.state, result.reason, None, 0, tail, log_url)
        try:
            doc, files = plan_outputs(result.output, paths.work, self._exchange.output_url(job_id))
        except InvalidOutput as exc:
            return StageOutResult(
                JobState.SYSTEM_ERROR, f'unusable runner output: {exc}', None, 0, tail, log_url
            )
        with _publishing(target_dir):
            for item in files:
                reason = should_stop()
                if reason:
                    raise StagingAborted(reason)
                self._fetch(item.source, target_dir / item.relative, item.is_directory)
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

    def _fetch(self, source: str, target: Path, is_directory: bool) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not is_directory:
            self._publish_file(source, target)
            return
        target.mkdir(parents=True, exist_ok=True)
        for rel, is_dir, _mode in self._fs.walk(source):
            dest = target / rel
            if is_dir:
                dest.mkdir(parents=True, exist_ok=True)
            else:
                self._publish_file(f'{source}/{rel}', dest)

    def _publish_file(self, source: str, target: Path) -> None:
        """Copy to a temporary name beside `target`, then rename: a client
        never sees a half-written output, and a failed copy leaves none."""
        part = target.with_name(f'.{target.name}.part')
        try:
            with self._fs.open_read(source) as stream, open(part, 'wb') as out:
                _copy(stream, out)
            os.replace(part, target)
        except BaseException:
            with contextlib.suppress(OSError):
                part.unlink()
            raise


@contextlib.contextmanager
def _publishing(target_dir: Path):
    """Errors writing to the exchange area, told as the service's: a full disk
    is DiskFull (and what was published goes, all outputs or none)."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in NO_SPACE:
            raise PermanentResourceError(
                f'cannot publish the outputs in the file exchange area: {exc}'
            ) from exc
        shutil.rmtree(target_dir, ignore_errors=True)
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
