"""Memory and latency of the job lists with large stored inputs.

Starts a fresh `cerise-actors serve` (soak_service.py's Service: real HTTP on
loopback, SQLite on disk, the local resource, a stand-in runner), submits
JOBS jobs whose input holds one string of INPUT_BYTES (each POST /jobs body
just under limits.request-bytes), waits until they have ended, and then, for
GET /jobs and for GET /ga4gh/wes/v1/runs?page_size=JOBS, runs READERS
requests at once while one more client asks GET /jobs/{id} every 0.1 s.

It prints, per list: the service's resident memory before, its peak during
the lists (VmHWM after resetting it through /proc/<pid>/clear_refs, or the
highest of samples every 20 ms where that is refused), and after; how long
the slowest list took and how many bytes each got; the slowest GET /jobs/{id}
and how many of them failed. Figures are recorded in docs/benchmarks.md.

    python benchmarks/list_memory_benchmark.py [--jobs 150] [--readers 6]
"""

import argparse
import http.client
import json
import tempfile
import threading
import time
from pathlib import Path

from soak_service import Service, request

MIB = 1024 * 1024
#: a string this long keeps the body of POST /jobs just under its 2 MiB limit
INPUT_BYTES = 2_000_000
FINAL = {'Success', 'Cancelled', 'PermanentFailure', 'TemporaryFailure', 'SystemError'}


def status_kib(pid: int, field: str) -> int:
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith(field + ':'):
            return int(line.split()[1])
    raise RuntimeError(f'no {field} in /proc/{pid}/status')


class PeakMemory:
    """The peak resident memory of a process over a stretch of time, in MiB."""

    def __init__(self, pid: int):
        self.pid = pid
        self._samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        try:  # "5" resets VmHWM to the current resident size (Linux 4.0 and later)
            Path(f'/proc/{pid}/clear_refs').write_text('5')
            self.exact = True
        except OSError:
            self.exact = False

    def _sample(self):
        while not self._stop.wait(0.02):
            self._samples.append(status_kib(self.pid, 'VmRSS'))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def mib(self) -> float:
        peak = max(self._samples, default=0)
        if self.exact:
            peak = max(peak, status_kib(self.pid, 'VmHWM'))
        return peak / 1024


def submit(service: Service, count: int) -> list:
    workflow = json.loads(service.body)['workflow']
    ids = []
    for i in range(count):
        body = json.dumps(
            {'name': f'big{i}', 'workflow': workflow, 'input': {'blob': 'x' * INPUT_BYTES}}
        )
        status, answer = request(service.port, 'POST', '/jobs', body.encode(), timeout=120)
        if status != 201:
            raise SystemExit(f'POST /jobs answered {status}: {answer[:300]!r}')
        ids.append(json.loads(answer)['id'])
    return ids


def wait_ended(service: Service, ids: list, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    states = {}
    for job_id in ids:
        while time.monotonic() < deadline:
            status, body = request(service.port, 'GET', f'/jobs/{job_id}', timeout=60)
            states[job_id] = json.loads(body)['state'] if status == 200 else f'HTTP {status}'
            if states[job_id] in FINAL:
                break
            time.sleep(0.2)
    return states


def read_list(port: int, path: str, results: list) -> None:
    """GET `path`, read it all and check that it is JSON; appends (seconds, bytes, problem)."""
    started = time.monotonic()
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=300)
    try:
        conn.request('GET', path)
        resp = conn.getresponse()
        body = resp.read()
        problem = None if resp.status == 200 else f'HTTP {resp.status}'
        if problem is None:
            json.loads(body)
        results.append((time.monotonic() - started, len(body), problem))
    except (OSError, http.client.HTTPException, ValueError) as exc:
        results.append((time.monotonic() - started, 0, repr(exc)[:100]))
    finally:
        conn.close()


def probe(port: int, job_id: str, stop: threading.Event, latencies: list, failures: list):
    while not stop.wait(0.1):
        started = time.monotonic()
        status, _ = request(port, 'GET', f'/jobs/{job_id}', timeout=60)
        latencies.append(time.monotonic() - started)
        if status != 200:
            failures.append(status)


def measure(service: Service, path: str, readers: int, job_id: str) -> dict:
    pid = service.proc.pid
    before = status_kib(pid, 'VmRSS') / 1024
    results, latencies, failures = [], [], []
    stop = threading.Event()
    prober = threading.Thread(target=probe, args=(service.port, job_id, stop, latencies, failures))
    lists = [
        threading.Thread(target=read_list, args=(service.port, path, results))
        for _ in range(readers)
    ]
    with PeakMemory(pid) as peak:
        prober.start()
        started = time.monotonic()
        for thread in lists:
            thread.start()
        for thread in lists:
            thread.join()
        elapsed = time.monotonic() - started
        stop.set()
        prober.join()
    time.sleep(1)
    return {
        'path': path,
        'before': before,
        'peak': peak.mib,
        'after': status_kib(pid, 'VmRSS') / 1024,
        'seconds': elapsed,
        'sizes': sorted({size for _, size, _ in results}),
        'problems': [problem for _, _, problem in results if problem],
        'slowest_get': max(latencies, default=float('nan')),
        'gets': len(latencies),
        'failed_gets': failures,
        'exact': peak.exact,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--jobs', type=int, default=150)
    parser.add_argument('--readers', type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='cerise-lists-') as tmp:
        service = Service(Path(tmp), max_running=8)
        service.start()
        try:
            started = time.monotonic()
            ids = submit(service, args.jobs)
            states = wait_ended(service, ids)
            print(
                f'{args.jobs} jobs of {INPUT_BYTES / MIB:.1f} MiB input submitted and ended in '
                f'{time.monotonic() - started:.0f} s; states: '
                f'{ {s: list(states.values()).count(s) for s in set(states.values())} }'
            )
            rows = [
                measure(service, path, args.readers, ids[len(ids) // 2])
                for path in ('/jobs', f'/ga4gh/wes/v1/runs?page_size={args.jobs}')
            ]
        finally:
            service.stop()
    print()
    print(
        f'| {args.readers} at once | RSS before | peak RSS | RSS after | slowest list | '
        'bytes each | slowest GET /jobs/{id} | failed GETs |'
    )
    print('| --- | --- | --- | --- | --- | --- | --- | --- |')
    for row in rows:
        sizes = ', '.join(
            f'{size / MIB:.1f} MiB' if size >= MIB else f'{size / 1024:.0f} KiB'
            for size in row['sizes']
        )
        problems = (
            f' ({len(row["problems"])} failed: {row["problems"][0]})' if row['problems'] else ''
        )
        print(
            f'| GET {row["path"]} | {row["before"]:.0f} MiB | {row["peak"]:.0f} MiB'
            f'{"" if row["exact"] else " (sampled)"} | {row["after"]:.0f} MiB | '
            f'{row["seconds"]:.1f} s | {sizes}{problems} | {row["slowest_get"]:.2f} s '
            f'({row["gets"]} asked) | {len(row["failed_gets"])} |'
        )


if __name__ == '__main__':
    main()
