"""How far a running job is, read from its log (for Job.wait's on_progress).

The service logs "Step 'X' started." and "Step 'X' finished; N of M steps
done." as the runner reports them (the format is cerise_actors/jobs/step_lines.py
on the service side); this reads the latest back as a short phrase for a person
watching `submit --wait`. Pure, and tolerant: a log without such lines (an
older service) gives None, and the wait goes on as before.
"""

import re
from typing import List, Optional

_DONE = re.compile(
    r"Step '(?P<step>[^']*)' (?:finished|ended \((?P<status>\w+)\)); (?P<count>\d+(?: of \d+)?) steps done\."
)
_STARTED = re.compile(r"Step '(?P<step>[^']*)' started\.")


def step_progress(log_text: str) -> Optional[str]:
    """'1 of 2 steps done, step s running' or similar, from the latest lines."""
    done: Optional[str] = None
    running: List[str] = []
    for line in log_text.splitlines():
        match = _DONE.search(line)
        if match:
            done = match.group('count')
            if match.group('step') in running:
                running.remove(match.group('step'))
            continue
        match = _STARTED.search(line)
        if match:
            running.append(match.group('step'))
    if done is None and not running:
        return None
    parts = [f'{done} steps done' if done else '0 steps done']
    if running:
        parts.append(f'step{"s" if len(running) > 1 else ""} {", ".join(running)} running')
    return ', '.join(parts)
