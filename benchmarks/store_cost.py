"""The job store's own cost: CPU of the StoreActor's thread per job (issue 21, item 4).

    python benchmarks/store_cost.py [--jobs 1000]
    python benchmarks/store_cost.py --against /tmp/store-base [--jobs 1000] [--rounds 2]

Drives a real StoreActor (in this process, its SQLite file in a temporary
folder, its real group commit, the service's log in a file at INFO as
app/lifecycle.py sets it up) through the life of `--jobs` trivial jobs,
making the asks and tells the service's actors make, from as many threads:

- 8 front-end threads: create_job (owner '', the default per-user limit,
  so the limit's counting runs too; a client waits at the limit), and once
  all are final one get_job each, as a client reading its job;
- a stager pool told of SUBMITTED and FINISHED (with the owner) in the
  store's thread, handing each job to one of 2 stager actors by a proxy
  call: claim SUBMITTED -> STAGING_IN, transition -> WAITING with the
  staged fields; claim FINISHED -> STAGING_OUT, a note (the runner's log),
  transition -> SUCCESS with the output;
- a runner actor told of WAITING (with the owner) and LEFT_RESOURCE:
  get_job, transition WAITING -> RUNNING with the remote id (a scheduler
  that runs at once), then tells the poller;
- a poller actor: a note (the workflow's steps), transition RUNNING ->
  FINISHED with the exit code;

and an `on_move` hook, as the metrics are. It prints the CPU time of the
store's thread (its own clock, time.pthread_getcpuclockid) per job and the
wall time from the first creation to the last read. What runs in the
store's thread is what runs there in the service: the store's Python,
peewee's, SQLite's, its log lines and the tells to the workers.

With `--against PATH` each round runs PATH's StoreActor and this
checkout's, each in a subprocess with that checkout first on sys.path, in
the order other, this, this, other, and prints the medians side by side.
`--no-limit` makes jobs without the per-user limit, `--log-level WARNING`
without the log lines; `--profile FILE` (without --against) writes a
cProfile of the store's thread (on its CPU clock).
"""

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FRONT_THREADS = 8
STAGERS = 2
#: the service's log format (app/lifecycle.py)
LOG_FORMAT = '%(asctime)s %(levelname)s %(name)s: %(message)s'


def _store_thread() -> threading.Thread:
    """The StoreActor's thread (pykka names it after the class)."""
    for thread in threading.enumerate():
        if thread.name.startswith('StoreActor-'):
            return thread
    raise RuntimeError('no StoreActor thread')


def _cpu(thread: threading.Thread) -> float:
    """CPU seconds `thread` has used, by its own clock."""
    assert thread.ident is not None
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def _log_to(path: Path, level: str) -> None:
    """Log as the service does by default (app/lifecycle.py: a file, INFO, its
    format), so the store's line per change costs what it costs there."""
    handler = logging.FileHandler(path)
    formatter = logging.Formatter(LOG_FORMAT, datefmt='%Y-%m-%dT%H:%M:%SZ')
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    logging.basicConfig(level=getattr(logging, level), handlers=[handler], force=True)


def _actors(store, S):
    """The workers, as actors of the service's kind told by the store as the
    service's are (their proxies' calls are made in the store's thread)."""
    try:
        from cerise_actors.store.mailbox import LeanActor as Actor
    except ImportError:  # a checkout from before it
        import pykka

        Actor = pykka.ThreadingActor

    class Stager(Actor):
        def stage_in(self, job_id):
            job = store.claim(job_id, S.SUBMITTED, S.STAGING_IN, 'Staging in.').get(timeout=10)
            staged = dict(cores=1, time_limit=0, remote_dir=f'/r/{job.id}')
            staged.update(workflow_content=b'cwl', staged_input_json='{"x": 1}')
            moved = store.transition(
                job_id, S.STAGING_IN, S.WAITING, ['Staged 1 file.', 'Waiting.'], **staged
            )
            assert moved.get(timeout=10)

        def stage_out(self, job_id):
            store.claim(job_id, S.FINISHED, S.STAGING_OUT, 'Staging out.').get(timeout=10)
            store.note(job_id, "The workflow runner's whole log: http://x/log")
            moved = store.transition(job_id, S.STAGING_OUT, S.SUCCESS, 'Done.', output_json='{}')
            assert moved.get(timeout=10)

    class Pool:
        """The stager pool: told in the store's thread, hands out by a proxy's tell."""

        def __init__(self):
            self._lock = threading.Lock()
            self._stagers = [Stager.start().proxy() for _ in range(STAGERS)]
            self._next = 0

        def _give(self, method, job_id):
            with self._lock:
                self._next = (self._next + 1) % len(self._stagers)
                getattr(self._stagers[self._next], method)(job_id)

        def stage_in(self, job_id, owner=''):
            self._give('stage_in', job_id)

        def stage_out(self, job_id, owner=''):
            self._give('stage_out', job_id)

    class Poller(Actor):
        def track(self, job_id):
            store.note(job_id, 'Step s: done.')
            moved = store.transition(job_id, S.RUNNING, S.FINISHED, 'Stopped.', exit_code=0)
            assert moved.get(timeout=10)

    class Runner(Actor):
        def __init__(self, poller):
            super().__init__()
            self._poller = poller

        def enqueue(self, job_id, owner=''):
            job = store.get_job(job_id, include_deleted=True).get(timeout=10)
            assert job.state is S.WAITING
            moved = store.transition(
                job_id, S.WAITING, S.RUNNING, ['Started.', 'Running.'], remote_job_id='1:2'
            )
            assert moved.get(timeout=10)
            self._poller.track(job_id)

        def job_ended(self, job_id):
            pass

    return Pool(), Runner.start(Poller.start().proxy()).proxy()


def child(jobs: int, profile: str = '', log_level: str = 'INFO', limit: bool = True) -> dict:
    """Run `jobs` through a StoreActor of whichever cerise_actors is first on
    sys.path; its figures."""
    import pykka

    from cerise_actors.defaults import ACTIVE_JOBS_PER_USER
    from cerise_actors.jobs.states import JobState as S
    from cerise_actors.store import actor as store_actor

    if profile:
        _profiled(store_actor.StoreActor, profile)
    moves = []
    with tempfile.TemporaryDirectory() as tmp:
        _log_to(Path(tmp) / 'service.log', log_level)
        ref = store_actor.StoreActor.start(
            Path(tmp) / 'jobs.db', on_move=lambda a, b, s: moves.append(s)
        )
        store = ref.proxy()
        thread = _store_thread()
        finished = threading.Semaphore(0)
        room = threading.Semaphore(ACTIVE_JOBS_PER_USER)  # clients wait at the limit

        def success(job_id):
            room.release()
            finished.release()

        pool, runner = _actors(store, S)
        for topic, callback in (
            (S.SUBMITTED, pool.stage_in),
            (S.FINISHED, pool.stage_out),
            (store_actor.DELETABLE, lambda job_id, owner: None),
            (S.WAITING, runner.enqueue),
        ):
            store.subscribe(topic, callback, True).get(timeout=10)
        store.subscribe(store_actor.LEFT_RESOURCE, runner.job_ended).get(timeout=10)
        store.subscribe(S.SUCCESS, success).get(timeout=10)  # the client's poll, in effect
        made = []

        def front(count):
            for _ in range(count):
                room.acquire()
                job = store.create_job(
                    'j',
                    'file:///w.cwl',
                    '{"x": 1}',
                    owner='',
                    max_active=ACTIVE_JOBS_PER_USER if limit else None,
                ).get(timeout=10)
                made.append(job.id)

        cpu0, wall0 = _cpu(thread), time.monotonic()
        fronts = [
            threading.Thread(
                target=front,
                daemon=True,
                args=(jobs // FRONT_THREADS + (i < jobs % FRONT_THREADS),),
            )
            for i in range(FRONT_THREADS)
        ]
        for t in fronts:
            t.start()
        for _ in range(jobs):
            if not finished.acquire(timeout=120):
                raise RuntimeError('jobs did not finish')
        for job_id in made:  # the client reads its final job
            assert store.get_job(job_id, owner='').get(timeout=10).state is S.SUCCESS
        cpu, wall = _cpu(thread) - cpu0, time.monotonic() - wall0
        pykka.ActorRegistry.stop_all()
    assert len(moves) == 5 * jobs, len(moves)  # the five moves whose start it saw
    import cerise_actors

    return {
        'us_per_job': cpu / jobs * 1e6,
        'wall_s': wall,
        'jobs': jobs,
        'from': cerise_actors.__file__,
        'tid': thread.native_id,
    }


def _profiled(cls, path: str) -> None:
    """Profile the store's thread from on_start to on_stop into `path`."""
    import cProfile

    profile = cProfile.Profile(time.thread_time)  # CPU, not waits for the lock
    start, stop = cls.on_start, cls.on_stop

    def on_start(self):
        start(self)
        profile.enable()

    def on_stop(self):
        profile.disable()
        profile.dump_stats(path)
        stop(self)

    cls.on_start, cls.on_stop = on_start, on_stop


def _run(checkout: Path, args: argparse.Namespace) -> dict:
    """One child run with `checkout` first on sys.path."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    flags = ['--jobs', str(args.jobs), '--log-level', args.log_level]
    out = subprocess.run(
        [sys.executable, __file__, '--child', *flags, *(['--no-limit'] if args.no_limit else [])],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--jobs', type=int, default=1000)
    parser.add_argument('--rounds', type=int, default=2, help='rounds of 4 runs (--against)')
    parser.add_argument('--against', type=Path, help='another checkout: its cost beside ours')
    parser.add_argument('--profile', default='', help='cProfile of the store thread to FILE')
    parser.add_argument('--log-level', default='INFO', help="the service log's level (INFO)")
    parser.add_argument('--no-limit', action='store_true', help='create without the per-user limit')
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.jobs, args.profile, args.log_level, not args.no_limit)))
        return
    if not args.against:
        sys.path.insert(0, str(REPO))
        result = child(args.jobs, args.profile, args.log_level, not args.no_limit)
        print(
            f'store thread CPU per job: {result["us_per_job"]:.0f} us; wall {result["wall_s"]:.2f} s'
        )
        return
    figures = {'other': [], 'this': []}
    for _ in range(args.rounds):
        for which in ('other', 'this', 'this', 'other'):
            result = _run(args.against if which == 'other' else REPO, args)
            figures[which].append(result)
            print(
                f'{which}: {result["us_per_job"]:.0f} us/job, {result["wall_s"]:.2f} s', flush=True
            )
    print(f'\n{args.jobs} jobs, medians of {2 * args.rounds} runs each')
    print(f'{"":8}{"store CPU/job":>16}{"wall":>10}')
    med = {}
    for which, name in (('other', str(args.against)), ('this', str(REPO))):
        cpu = statistics.median(r['us_per_job'] for r in figures[which])
        wall = statistics.median(r['wall_s'] for r in figures[which])
        med[which] = cpu
        print(f'{which:8}{cpu:>13.0f} us{wall:>9.2f}s  {name}')
    print(f'change: {100 * (med["this"] / med["other"] - 1):+.1f}% store CPU per job')
    # each round's own ratio, this checkout's two runs against the other's two
    # around them: less at the mercy of whatever else the machine runs meanwhile
    ratios = [
        sum(r['us_per_job'] for r in figures['this'][2 * i : 2 * i + 2])
        / sum(r['us_per_job'] for r in figures['other'][2 * i : 2 * i + 2])
        for i in range(args.rounds)
    ]
    print(
        f'rounds: {", ".join(f"{100 * (r - 1):+.0f}%" for r in ratios)}; '
        f'median {100 * (statistics.median(ratios) - 1):+.1f}%'
    )


if __name__ == '__main__':
    main()
