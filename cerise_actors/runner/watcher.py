# cerise-actors completion watcher: tells the service when its jobs start and end
"""The completion watcher, run on the compute resource beside the jobs.

Why: the service's poller asks the scheduler about all jobs every `refresh`
seconds (10 s by default), so without this every remote job took at least
that long to be seen finished. The service starts this program over one
long-lived SSH channel per resource (resource/completion_watch.py) and
tells it which jobs to watch; it says within a fraction of a second when a
job's `claim` appears (started) and when its `exit_code` appears (ended).
What it says is only a hint: the poller confirms it through its normal poll
of the files, so a lost or repeated line changes nothing.

Stat-based, not inotify: on NFS a file written on a compute node raises no
inotify event where this runs. Only the jobs the service named are looked
at, with one stat each per round (of the file the job waits for: `claim`,
then `exit_code`): 2,000 jobs cost about 5 ms of CPU a round. A round
never takes more than a 1/BUDGET share of a core: with more jobs the
rounds come further apart.

Protocol, JSON lines. Service to watcher: {"op": "watch", "jobs": [ids]},
{"op": "forget", "jobs": [ids]}, {"op": "ping"}. Watcher to service:
{"event": "hello", "pid": n}, {"event": "started", "job": id},
{"event": "ended", "job": id}, and {"event": "beat"} every HEARTBEAT s so
the service notices a dead channel. It exits when its standard input closes
(the channel is gone), when a write fails, or when the service has said
nothing for SILENCE s (a half-open connection), so watchers never pile up.

Standard library only, no relative imports: deployed with the runner
(`python -m cerise_runner.watcher JOBS_DIR`), or handed to python3 as
`-c` source where the runner is not deployed.
"""

import json
import os
import re
import select
import sys
import time

TYPE_CHECKING = False  # mypy reads it as true; nothing more is imported here
if TYPE_CHECKING:
    from typing import Dict

#: seconds between rounds of stats
INTERVAL = 0.2
#: seconds between heartbeats to the service
HEARTBEAT = 5.0
#: seconds without a line from the service after which the watcher leaves
SILENCE = 60.0
#: the wait between rounds is at least this many times a round's own time
BUDGET = 20
#: a job id is a folder name under the jobs folder, nothing else
_JOB_ID = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$')
CLAIM, EXIT_CODE = 'claim', 'exit_code'


class Watcher:
    """The watched jobs and the file each waits for; `scan` reports changes."""

    def __init__(self, jobs_dir: str):
        self._dir = jobs_dir
        self._waiting: Dict[str, str] = {}  # job id -> the file it waits for (claim, exit_code)

    def __len__(self) -> int:
        return len(self._waiting)

    def handle(self, message: dict) -> None:
        op, jobs = message.get('op'), message.get('jobs') or []
        for job in jobs:
            if not isinstance(job, str) or not _JOB_ID.match(job):
                continue
            if op == 'watch':
                self._waiting.setdefault(job, os.path.join(self._dir, job, CLAIM))
            elif op == 'forget':
                self._waiting.pop(job, None)

    @staticmethod
    def _exists(path: str) -> bool:
        try:
            os.stat(path)
            return True
        except OSError:
            return False

    def scan(self) -> list:
        """(event, job id) of the jobs that started or ended since the last scan;
        an ended job is not watched any more."""
        events = []
        for job, path in list(self._waiting.items()):
            if path.endswith(CLAIM):
                if not self._exists(path):
                    continue
                events.append(('started', job))
                path = self._waiting[job] = os.path.join(self._dir, job, EXIT_CODE)
            if self._exists(path):
                events.append(('ended', job))
                del self._waiting[job]
        return events


def _say(out: int, message: dict) -> None:
    data = (json.dumps(message, separators=(',', ':')) + '\n').encode()
    while data:
        data = data[os.write(out, data) :]


def serve(
    jobs_dir: str,
    infd: int = 0,
    outfd: int = 1,
    interval: float = INTERVAL,
    heartbeat: float = HEARTBEAT,
    silence: float = SILENCE,
) -> int:
    """Watch until the input closes (0) or stays silent too long (3)."""
    watcher = Watcher(jobs_dir)
    _say(outfd, {'event': 'hello', 'pid': os.getpid(), 'interval': interval})
    buffered = b''
    now = time.monotonic()
    heard = said = next_scan = now
    while True:
        ready, _, _ = select.select([infd], [], [], max(0.0, min(next_scan - now, heartbeat)))
        now = time.monotonic()
        if ready:
            data = os.read(infd, 65536)
            if not data:
                return 0
            heard = now
            *lines, buffered = (buffered + data).split(b'\n')
            for line in lines:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict):
                    watcher.handle(message)
                    next_scan = now  # look at newly watched jobs at once
        if now >= next_scan:
            for event, job in watcher.scan():
                _say(outfd, {'event': event, 'job': job})
                said = now
            spent = time.monotonic() - now
            next_scan = now + max(interval, BUDGET * spent)
        if now - said >= heartbeat:
            _say(outfd, {'event': 'beat', 'watched': len(watcher)})
            said = now
        if now - heard > silence:
            return 3


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print('usage: watcher JOBS_DIR', file=sys.stderr)
        return 2
    try:
        return serve(args[0])
    except (BrokenPipeError, ConnectionResetError):
        return 0  # the service went away
    except KeyboardInterrupt:
        return 0


if __name__ == '__main__':
    sys.exit(main())
