"""WES tasks: one per workflow step, from the step lines of the job log.

While a job runs, the service logs "Step 'X' started." and "Step 'X'
finished; N of M steps done." (or "ended (STATUS)") as the runner reports
them (staging/progress.py). A WES TaskLog is read back from those lines:
the step's name as its id, the times of the two lines, exit code 0 for a
step that finished and 1 for one that ended otherwise, and the job log and
the runner's whole log as its stdout and stderr. Pure functions.
"""

from typing import Dict, List, Optional, Sequence, Tuple

from ...jobs.step_lines import parse_step_line
from .views import iso


def task_logs(
    lines: Sequence[Tuple[float, str, str]], log_url: str, runner_log_url: Optional[str]
) -> List[dict]:
    """TaskLogs in the order the steps started."""
    tasks: Dict[str, dict] = {}
    for when, _level, message in lines:
        line = parse_step_line(message)
        if line is None:
            continue
        task = tasks.setdefault(line.step, _task(line.step, log_url, runner_log_url))
        if line.started:
            task['start_time'] = iso(when)
        else:
            task['end_time'] = iso(when)
            task['exit_code'] = 1 if line.status else 0
            task['system_logs'] = [message] if line.status else []
    # the schema has no nulls: what is not known yet (a running step's end) is left out
    return [
        {key: value for key, value in task.items() if value is not None} for task in tasks.values()
    ]


def _task(step: str, log_url: str, runner_log_url: Optional[str]) -> dict:
    return {
        'id': step,
        'name': step,
        'start_time': None,
        'end_time': None,
        'stdout': log_url,
        'stderr': runner_log_url or log_url,
        'exit_code': None,
        'system_logs': [],
    }


def runner_log_url(lines: Sequence[Tuple[float, str, str]]) -> Optional[str]:
    """The URL of the runner's whole log, once stage-out has named it."""
    for _when, _level, message in lines:
        if message.startswith("The workflow runner's whole log: "):
            return message.rsplit(' ', 1)[1]
    return None
