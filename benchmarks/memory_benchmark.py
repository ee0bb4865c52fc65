"""Peak memory of the service for the largest inputs it accepts or refuses.

Each case starts a fresh `cerise-actors serve` (see soak_service.py's Service: real
HTTP on loopback, SQLite on disk, local resource, a stand-in runner), sends
one request, waits for the job to end, and reads the process's peak
resident memory (VmHWM in /proc). Figures are recorded in
docs/benchmarks.md; the limits are `limits.request-bytes` (8 MiB) and the
16 MiB workflow maximum.

    python benchmarks/memory_benchmark.py
"""

import json
import tempfile
import time
from pathlib import Path

from soak_service import Service, request

from cerise_actors.defaults import MAX_REQUEST_BYTES

MIB = 1024 * 1024
FINAL = {'Success', 'Cancelled', 'PermanentFailure', 'TemporaryFailure', 'SystemError'}


def peak_mib(pid: int) -> float:
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) / 1024
    raise RuntimeError('no VmHWM')


def wait_final(service: Service, job_id: str, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = request(service.port, 'GET', f'/jobs/{job_id}', timeout=60)[:2]
        state = json.loads(body)['state'] if status == 200 else None
        if state in FINAL:
            return state
        time.sleep(0.2)
    return 'timed out'


def post(service: Service, body: bytes):
    status, answer = request(service.port, 'POST', '/jobs', body, timeout=300)[:2]
    return status, json.loads(answer) if answer else None


def flat_array_body(workflow_url: str, size: int) -> bytes:
    head = json.dumps({'workflow': workflow_url, 'input': {'a': []}})[:-3].encode()
    count = (size - len(head) - 4) // 2
    return head + b'0,' * count + b'0]}}'


def workflow_file(service: Service, name: str, text: str) -> str:
    path = service.root / 'run' / 'files' / 'input' / 'mem' / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path.as_uri()


def case_idle(service):
    return 'idle after start', '-'


def case_max_body(service):
    body = flat_array_body(json.loads(service.body)['workflow'], MAX_REQUEST_BYTES - 64)
    status, job = post(service, body)
    state = wait_final(service, job['id']) if status == 201 else '-'
    return f'POST /jobs, {len(body) / MIB:.1f} MiB body (the limit)', f'{status} {state}'


def case_over_body(service):
    body = flat_array_body(json.loads(service.body)['workflow'], 50 * MIB)
    status, _ = post(service, body)
    return f'POST /jobs, {len(body) / MIB:.0f} MiB body', str(status)


def case_max_workflow(service):
    text = 'cwlVersion: v1.0\nclass: Workflow\ninputs: []\noutputs: {}\nsteps: []\ndoc: ['
    text += '0,' * ((16 * MIB - len(text) - 2) // 2) + '0]\n'
    url = workflow_file(service, 'max.cwl', text)
    status, job = post(service, json.dumps({'workflow': url}).encode())
    return (
        f'workflow of {len(text) / MIB:.1f} MiB, 8 M values',
        f'{status} {wait_final(service, job["id"])}',
    )


def case_large_accepted_workflow(service):
    """Just under the node limit, with long strings: the largest that is built."""
    head = 'cwlVersion: v1.0\nclass: Workflow\ninputs: []\noutputs: {}\nsteps: []\ndoc:\n'
    item = '- "' + 'x' * 150 + '"\n'
    text = head + item * 99_000
    url = workflow_file(service, 'large.cwl', text)
    status, job = post(service, json.dumps({'workflow': url}).encode())
    return (
        f'workflow of {len(text) / MIB:.1f} MiB, 99,000 values',
        f'{status} {wait_final(service, job["id"])}',
    )


CASES = [case_idle, case_max_body, case_over_body, case_max_workflow, case_large_accepted_workflow]


def main() -> None:
    rows = []
    for case in CASES:
        with tempfile.TemporaryDirectory(prefix='cerise-mem-') as tmp:
            service = Service(Path(tmp), max_running=4)
            service.start()
            try:
                before = peak_mib(service.proc.pid)
                what, outcome = case(service)
                rows.append((what, outcome, before, peak_mib(service.proc.pid)))
            finally:
                service.stop()
    print('| case | answer / final state | peak RSS after start | peak RSS after the case |')
    print('| --- | --- | --- | --- |')
    for what, outcome, before, after in rows:
        print(f'| {what} | {outcome} | {before:.0f} MiB | {after:.0f} MiB |')


if __name__ == '__main__':
    main()
