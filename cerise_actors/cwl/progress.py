"""Reading a workflow's progress from what cwltool writes while it runs.

cwltool logs `[step NAME] start` when a workflow step starts and
`[step NAME] completed STATUS` when it ends (`success`, `permanentFail`,
...), whichever runner wraps it, so the service can tell users how far a
job is without anything of its own inside the runner. Pure functions: the
staging side feeds them text and the workflow the job runs.
"""

import dataclasses
import json
import re
from typing import List, Optional

from ..jobs.step_lines import ended_line, started_line

_STEP = re.compile(r'\[step (?P<step>[^\]]+)\] (?:(?P<start>start)|completed (?P<status>\w+))\s*$')


@dataclasses.dataclass(frozen=True)
class StepEvent:
    step: str
    started: bool  # True: the step started; False: it ended with `status`
    status: str = ''


def step_events(lines: List[str]) -> List[StepEvent]:
    """The step starts and ends among runner log lines, in order."""
    events = []
    for line in lines:
        if '[step ' not in line:
            continue
        match = _STEP.search(line)
        if match is None:
            continue
        step = match.group('step').strip()
        if match.group('start'):
            events.append(StepEvent(step, True))
        else:
            events.append(StepEvent(step, False, match.group('status')))
    return events


def step_count(workflow_json: bytes) -> Optional[int]:
    """How many steps the job's (rewritten, JSON) workflow has; None if unknown."""
    try:
        steps = json.loads(workflow_json).get('steps')
    except (ValueError, AttributeError):
        return None
    return len(steps) if isinstance(steps, (list, dict)) else None


def describe(event: StepEvent, done: int, total: Optional[int]) -> str:
    """The job-log line for an event; `done` counts the steps ended so far."""
    if event.started:
        return started_line(event.step)
    return ended_line(event.step, event.status, done, total)
