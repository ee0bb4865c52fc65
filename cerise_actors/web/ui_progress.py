"""How far a job's workflow is, read from its log, for the jobs page (`ui.py`).

The service logs "Step 'X' started." and "Step 'X' finished; N of M steps
done." (or "ended (STATUS); ...") as the runner reports steps; the format
is `jobs/step_lines.py`, which this reads with `parse_step_line`, as the WES
tasks do. The page shows more than the WES tasks need: how many steps are
done of how many, which are running and which failed, so it also reads the
count at the end of an "ended" line. Pure functions of the log lines, so
the page's progress can be tested without a service.
"""

import re
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from ..jobs.step_lines import parse_step_line

#: the count an ended line closes with (`step_lines.ended_line`)
_COUNT = re.compile(r'; (?P<done>\d+)(?: of (?P<total>\d+))? steps done\.$')


class StepRun(NamedTuple):
    """One step of a job as its log tells it; times are Unix seconds."""

    name: str
    started: Optional[float]
    ended: Optional[float]
    status: str  # '' while running or after success, else the runner's status

    @property
    def state(self) -> str:
        if self.ended is None:
            return 'running'
        return 'failed' if self.status else 'done'


class Progress(NamedTuple):
    steps: Tuple[StepRun, ...]  # in the order they started
    done: int  # steps ended, as the latest ended line counts them
    total: Optional[int]  # steps in the workflow, once a step has ended

    @property
    def running(self) -> List[str]:
        return [step.name for step in self.steps if step.state == 'running']

    @property
    def failed(self) -> List[str]:
        return [step.name for step in self.steps if step.state == 'failed']

    def summary(self) -> str:
        """'1 of 2 steps done; running: b', or 'no step started' for a log
        without step lines (a job before its run, or one that failed before)."""
        if not self.steps:
            return 'no step started'
        of = f' of {self.total}' if self.total else ''
        parts = [f'{self.done}{of} steps done']
        if self.running:
            parts.append(f'running: {", ".join(self.running)}')
        if self.failed:
            parts.append(f'failed: {", ".join(self.failed)}')
        return '; '.join(parts)


def progress_of(lines: Sequence[Tuple[float, str, str]]) -> Progress:
    """The progress told by a job's log, (time, level, message) lines."""
    steps: Dict[str, StepRun] = {}
    done, total = 0, None
    for when, _level, message in lines:
        line = parse_step_line(message)
        if line is None:
            continue
        known = steps.get(line.step, StepRun(line.step, None, None, ''))
        if line.started:
            steps[line.step] = StepRun(line.step, when, None, '')
            continue
        steps[line.step] = known._replace(ended=when, status=line.status)
        count = _COUNT.search(message)
        if count:
            done = int(count.group('done'))
            total = int(count.group('total')) if count.group('total') else total
        else:
            done += 1
    return Progress(tuple(steps.values()), done, total)
