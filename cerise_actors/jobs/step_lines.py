"""The job-log lines that tell a workflow step's start and end.

Written by the service as the runner reports steps (cwl/progress.py) and
read back by the GA4GH WES tasks (web/wes/tasks.py), so both keep to one
format, defined here. (The Python client, which imports nothing of the
service, reads the same lines with its own pattern in client/progress.py.)
"""

import re
from typing import NamedTuple, Optional

_STARTED = re.compile(r"^Step '(?P<step>[^']*)' started\.$")
_ENDED = re.compile(r"^Step '(?P<step>[^']*)' (?:finished|ended \((?P<status>\w+)\));")


class StepLine(NamedTuple):
    step: str
    started: bool  # True: it started; False: it ended, with `status` ('' for success)
    status: str = ''


def started_line(step: str) -> str:
    return f"Step '{step}' started."


def ended_line(step: str, status: str, done: int, total: Optional[int]) -> str:
    """`done` counts the steps ended so far, of `total` if known."""
    outcome = 'finished' if status == 'success' else f'ended ({status})'
    of = f' of {total}' if total else ''
    return f"Step '{step}' {outcome}; {done}{of} steps done."


def parse_step_line(message: str) -> Optional[StepLine]:
    """The step a job-log message tells about, or None for other messages."""
    match = _STARTED.match(message)
    if match:
        return StepLine(match.group('step'), True)
    match = _ENDED.match(message)
    if match:
        return StepLine(match.group('step'), False, match.group('status') or '')
    return None
