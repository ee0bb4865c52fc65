"""Following a running job's steps: new runner log lines become job-log lines.

The poller asks `ProgressReader.read(job_id)` for its running jobs each round.
Only the part of the runner's log (stderr.txt on the resource) written since
the last look is read, at most READ_LIMIT bytes a time, and only the step
lines among it are kept (cwl/progress.py). After a service restart the
reader starts again at the end of the log, so no line is logged twice.
"""

import dataclasses
import logging
from typing import Dict, List, Optional

from ..cwl.progress import describe, step_count, step_events
from ..defaults import MAX_WORKFLOW_BYTES
from ..errors import ResourceError
from ..resource.filesystem import FileSystem
from ..resource.layout import ResourceLayout

logger = logging.getLogger(__name__)

#: the most of a runner's log read per job and round
READ_LIMIT = 256 * 1024
#: the most read when a job has ended, to log its last steps
FINAL_READ_LIMIT = 8 * 1024 * 1024
#: the longest unfinished line kept until its newline comes
MAX_LINE = 4096


@dataclasses.dataclass
class _Followed:
    offset: int
    total: Optional[int]
    done: int = 0
    partial: str = ''


class ProgressReader:
    def __init__(self, fs: FileSystem, layout: ResourceLayout):
        self._fs = fs
        self._layout = layout
        self._jobs: Dict[str, _Followed] = {}

    def follow(self, job_id: str, from_start: bool = True) -> None:
        """Start following a job: from the start of its log for a job just
        started, from the end for one found running after a restart."""
        if job_id in self._jobs:
            return
        paths = self._layout.job(job_id)
        try:
            total = step_count(self._fs.read_bytes(paths.workflow, MAX_WORKFLOW_BYTES))
        except ResourceError:
            total = None  # lines then say "N steps done" without "of M"
        try:
            offset = 0 if from_start else (self._fs.size(paths.stderr) or 0)
        except ResourceError:
            offset = 0
        self._jobs[job_id] = _Followed(offset, total)

    def forget(self, job_id: str) -> None:
        self._jobs.pop(job_id, None)

    def read(self, job_id: str, final: bool = False) -> List[str]:
        """Job-log lines for the steps that started or ended since the last read.

        `final` (the job has ended): read on to the end of the log, up to
        FINAL_READ_LIMIT, and take a last line without a newline as well.
        """
        followed = self._jobs.get(job_id)
        if followed is None:
            return []
        messages: List[str] = []
        for _ in range(FINAL_READ_LIMIT // READ_LIMIT if final else 1):
            data = self._next_bytes(job_id, followed)
            if not data:
                break
            messages += self._step_lines(followed, data)
        if final and followed.partial:
            followed.partial, last = '', followed.partial
            messages += self._step_lines(followed, (last + '\n').encode())
        return messages

    def _next_bytes(self, job_id: str, followed: _Followed) -> bytes:
        path = self._layout.job(job_id).stderr
        try:
            size = self._fs.size(path)
            if size is None or size <= followed.offset:
                return b''
            with self._fs.open_read(path) as stream:
                stream.seek(followed.offset)
                data = stream.read(min(READ_LIMIT, size - followed.offset))
        except (ResourceError, OSError) as exc:
            logger.debug('job %s: cannot read the runner log yet: %s', job_id, exc)
            return b''
        followed.offset += len(data)
        return data

    @staticmethod
    def _step_lines(followed: _Followed, data: bytes) -> List[str]:
        text = followed.partial + data.decode('utf-8', errors='replace')
        lines = text.split('\n')
        # an unfinished last line waits for the rest; a step line is short, so
        # output without newlines (a progress bar, binary) cannot pile up here
        followed.partial = lines.pop()[-MAX_LINE:]
        messages = []
        for event in step_events(lines):
            if not event.started:
                followed.done += 1
            messages.append(describe(event, followed.done, followed.total))
        return messages
