"""Soak: many clients against a service that is killed with -9 and restarted on a timer.

Starts `python -m cerise_actors serve` in a temporary folder (real HTTP on a
fixed loopback port, SQLite on disk, local resource), lets `--clients`
threads submit, poll, cancel and delete jobs for `--duration` seconds, and
every `--kill-interval` seconds kills the service with SIGKILL and starts it
again. What it checks is what a user must be able to rely on whatever
happens to the process: no accepted job disappears, no job runs twice, and
no request is answered with a server error except the 503 of a service that
is starting. It ends within duration + 60 s and prints:

- jobs submitted (answered 201) and jobs lost (accepted, never deleted by
  us, and not listed at the end);
- jobs run twice, counted by the runner itself: the service's `cwl-runner`
  is this script with `--as-runner`, which appends the job's id to a log and
  then answers like benchmarks/fast_runner.py;
- 5xx answers outside restart windows (from a kill until the service
  answers again), 503 "the service is starting" separately, and
  connection errors (requests in flight during a kill, or sent while the
  port is closed), which are expected and not failures;
- the jobs' states at the end.

    python benchmarks/soak.py [--duration 300] [--clients 50] [--kill-interval 30]

The service, its runner mode and the HTTP helper are in soak_service.py.
"""

import argparse
import collections
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from soak_service import REQUEST_TIMEOUT, START_TIMEOUT, Service, request

FINAL = {'Success', 'Cancelled', 'PermanentFailure', 'TemporaryFailure', 'SystemError'}
STARTING = b'the service is starting'


# --- the clients --------------------------------------------------------


class Tally:
    """What the clients saw, shared between threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = collections.Counter()  # (kind, status or 'error')
        self.accepted = {}  # job id -> when the 201 came
        self.deleted = set()  # DELETE answered 204
        self.maybe_deleted = set()  # DELETE got no answer: it may have been done
        self.unanswered_posts = 0
        self.starting_503 = 0
        self.server_errors = []  # (time, status, kind, path, body)
        self.vanished = []  # (job id, kind): 404 for a job we had not deleted

    def note(self, kind, path, status, data, job_id=None):
        now = time.monotonic()
        with self.lock:
            self.requests[kind, status if status is not None else 'error'] += 1
            if status is None:
                if kind == 'submit':
                    self.unanswered_posts += 1
                elif kind == 'delete':
                    self.maybe_deleted.add(job_id)
            elif status == 503 and STARTING in data:
                self.starting_503 += 1
            elif status >= 500:
                self.server_errors.append((now, status, kind, path, data[:300]))
            elif status == 201 and kind == 'submit':
                self.accepted[json.loads(data)['id']] = now
            elif status == 204 and kind == 'delete':
                self.deleted.add(job_id)
            elif status == 404 and job_id and job_id not in self.maybe_deleted:
                self.vanished.append((job_id, kind))


def client(port: int, body: bytes, stop: threading.Event, tally: Tally, seed: int) -> None:
    """Submit, poll, cancel and delete own jobs, with a think time, until `stop`."""
    rng = random.Random(seed)
    mine = []  # own jobs not deleted yet, newest last
    while not stop.is_set():
        r = rng.random()
        if not mine or r < 0.35:
            status, data = request(port, 'POST', '/jobs', body)
            tally.note('submit', '/jobs', status, data)
            if status == 201:
                mine.append(json.loads(data)['id'])
        elif r < 0.70:
            if rng.random() < 0.01:  # the whole list is big: rarely
                tally.note('list', '/jobs', *request(port, 'GET', '/jobs'))
            else:
                job_id = rng.choice(mine[-10:])
                path = f'/jobs/{job_id}'
                tally.note('poll', path, *request(port, 'GET', path), job_id=job_id)
        elif r < 0.85:
            job_id = rng.choice(mine[-10:])
            path = f'/jobs/{job_id}/cancel'
            tally.note('cancel', path, *request(port, 'POST', path), job_id=job_id)
        else:
            job_id = mine.pop(rng.randrange(max(0, len(mine) - 10), len(mine)))
            path = f'/jobs/{job_id}'
            tally.note('delete', path, *request(port, 'DELETE', path), job_id=job_id)
        stop.wait(rng.uniform(0.5, 2.5))


# --- the run ------------------------------------------------------------


def processes_mentioning(text: str):
    """PIDs (not this one) whose command line contains `text`: leftover runners."""
    found = []
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if text.encode() in (entry / 'cmdline').read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def soak(args, root: Path) -> dict:
    """Run the soak in `root`; whatever happens, stop clients, service and runners."""
    service = Service(root, args.max_running)
    stop = threading.Event()
    try:
        return _soak(args, service, stop)
    finally:
        stop.set()
        service.stop()
        for pid in processes_mentioning(str(root)):  # runners of jobs still running
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _soak(args, service: Service, stop: threading.Event) -> dict:
    began = time.monotonic()
    hard_end = began + args.duration + 55  # the report must be out by duration + 60 s
    startups = [service.start()]
    tally = Tally()
    clients = [
        threading.Thread(
            target=client,
            args=(service.port, service.body, stop, tally, args.seed + n),
            name=f'soak-client-{n}',
            daemon=True,
        )
        for n in range(args.clients)
    ]
    end = time.monotonic() + args.duration
    for thread in clients:
        thread.start()
    windows = []  # (kill, answering again)
    next_kill = time.monotonic() + args.kill_interval
    while True:
        now = time.monotonic()
        if now >= end or next_kill >= end:
            stop.wait(max(0.0, end - now))
            break
        stop.wait(next_kill - now)
        killed = time.monotonic()
        service.kill()
        startups.append(service.start(min(START_TIMEOUT, hard_end - 25 - killed)))
        windows.append((killed, time.monotonic()))
        next_kill += args.kill_interval
    stop.set()
    joined_by = time.monotonic() + REQUEST_TIMEOUT + 2  # the last requests get answers
    for thread in clients:
        thread.join(max(0.0, joined_by - time.monotonic()))

    # let the back end catch up a little, then read the final list
    listed = {}
    settle_until = min(time.monotonic() + args.settle, hard_end - 30)
    while True:
        status, data = request(service.port, 'GET', '/jobs', timeout=20)
        if status == 200:
            listed = {job['id']: job['state'] for job in json.loads(data)}
        if (status == 200 and all(s in FINAL for s in listed.values())) or (
            time.monotonic() >= settle_until
        ):
            break
        time.sleep(1)
    service.stop()  # so that no runner starts after the count
    runs = service.runs()
    gone = tally.deleted | tally.maybe_deleted
    inside = [e for e in tally.server_errors if any(a <= e[0] <= b for a, b in windows)]
    outside = [e for e in tally.server_errors if e not in inside]
    return {
        'duration_s': args.duration,
        'clients': args.clients,
        'kills': len(windows),
        'startup_s': startups,
        'requests': sum(tally.requests.values()),
        'requests_by_kind': {
            f'{kind} {status}': n for (kind, status), n in sorted(tally.requests.items(), key=str)
        },
        'submitted': len(tally.accepted),
        'lost': sorted(set(tally.accepted) - gone - set(listed)),
        'run_twice': sorted(job for job, n in runs.items() if n > 1),
        'runs': sum(runs.values()),
        'server_errors_outside_restarts': [
            (round(t - began, 1), status, kind, path, body.decode(errors='replace'))
            for t, status, kind, path, body in outside
        ],
        'server_errors_during_restarts': len(inside),
        'starting_503': tally.starting_503,
        'connection_errors': sum(n for (_, s), n in tally.requests.items() if s == 'error'),
        'unanswered_posts': tally.unanswered_posts,
        'ghosts': len(set(listed) - set(tally.accepted)),
        'deleted': len(tally.deleted),
        'deleted_but_listed': len(tally.deleted & set(listed)),
        'vanished_before_the_end': len(tally.vanished),
        'final_states': dict(collections.Counter(listed.values()).most_common()),
        'elapsed_s': time.monotonic() - began,
    }


def report(r: dict) -> str:
    starts = r['startup_s'][1:] or [0.0]
    errors = r['server_errors_outside_restarts']
    lines = [
        f'soak: {r["duration_s"]:g} s, {r["clients"]} clients, {r["kills"]} kill -9 and '
        f'restarts (answering again after {min(starts):.1f}-{max(starts):.1f} s), '
        f'ended after {r["elapsed_s"]:.0f} s',
        f'requests:                      {r["requests"]}',
        f'jobs submitted (201):          {r["submitted"]}',
        f'jobs lost:                     {len(r["lost"])}',
        f'jobs run twice:                {len(r["run_twice"])}  (runner starts: {r["runs"]})',
        f'5xx outside restarts:          {len(errors)}',
        f'503 while starting:            {r["starting_503"]}',
        f'other 5xx during restarts:     {r["server_errors_during_restarts"]}',
        f'connection errors:             {r["connection_errors"]}  (in flight during a kill, '
        f'or sent while the port was closed)',
        f'POSTs with no answer:          {r["unanswered_posts"]}  '
        f'(jobs listed that no 201 announced: {r["ghosts"]})',
        f'deleted (204):                 {r["deleted"]}  (still listed at the end: '
        f'{r["deleted_but_listed"]})',
        f'404 for a job not deleted:     {r["vanished_before_the_end"]}',
        'final states:                  '
        + (', '.join(f'{s} {n}' for s, n in r['final_states'].items()) or 'none'),
    ]
    for job in r['lost'][:10]:
        lines.append(f'  lost: {job}')
    for job in r['run_twice'][:10]:
        lines.append(f'  run twice: {job}')
    for t, status, kind, path, body in errors[:10]:
        lines.append(f'  {status} at {t} s on {kind} {path}: {body[:160]}')
    return '\n'.join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--duration', type=float, default=300, help='seconds of load (300)')
    parser.add_argument('--clients', type=int, default=50, help='client threads (50)')
    parser.add_argument(
        '--kill-interval', type=float, default=30, help='seconds between kill -9s (30)'
    )
    parser.add_argument(
        '--max-running', type=int, default=10, help="the resource's max-running (10)"
    )
    parser.add_argument(
        '--settle', type=float, default=15, help='at most this long for jobs to end (15)'
    )
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--out', help='also write every figure to this JSON file')
    parser.add_argument('--keep', action='store_true', help='keep the service folder')
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix='cerise-soak-'))
    try:
        result = soak(args, root)
    finally:
        if args.keep:
            print(f'(service folder kept: {root})')
        else:
            shutil.rmtree(root, ignore_errors=True)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    print(report(result))
    failed = result['lost'] or result['run_twice'] or result['server_errors_outside_restarts']
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
