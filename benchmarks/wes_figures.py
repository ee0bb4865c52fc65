"""The WES column of service_benchmark.py: the same measures through /ga4gh/wes/v1.

Submission rate (8 threads posting multipart runs, each with the workflow as
its one attachment, as wes-client sends it) and the added latency of one
trivial run, POST /runs to a final /status, beside the /jobs figures. The
difference is what WES costs: the multipart body, the attachment written to
the exchange area, and the extra request to read the state.
"""

import concurrent.futures as cf
import json
import statistics
import time
import uuid

WES = '/ga4gh/wes/v1'
FINAL = {'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'}


def _body(workflow: bytes):
    boundary = uuid.uuid4().hex
    fields = {'workflow_url': 'bench.cwl', 'workflow_type': 'CWL', 'workflow_type_version': 'v1.0'}
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="workflow_attachment"; '
        f'filename="bench.cwl"\r\n\r\n'.encode()
        + workflow
        + b'\r\n'
    )
    body = b''.join(parts) + f'--{boundary}--\r\n'.encode()
    return body, {'Content-Type': f'multipart/form-data; boundary={boundary}'}


def _post(conn, body, headers):
    conn.request('POST', f'{WES}/runs', body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, json.loads(data).get('run_id') if resp.status == 200 else None


def _state(conn, run_id):
    conn.request('GET', f'{WES}/runs/{run_id}/status')
    resp = conn.getresponse()
    return json.loads(resp.read())['state']


def _percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float('nan')


def wes_figures(service, count: int, runner_median_s: float, runs: int = 20) -> dict:
    body, headers = _body(service.workflow.read_bytes())

    def worker(n):
        conn, out = service.connection(), []
        for _ in range(n):
            start = time.perf_counter()
            status, run_id = _post(conn, body, headers)
            out.append((status, time.perf_counter() - start, run_id))
        conn.close()
        return out

    shares = [count // 8 + (1 if i < count % 8 else 0) for i in range(8)]
    with cf.ThreadPoolExecutor(8) as pool:
        results = [r for part in pool.map(worker, shares) for r in part]
    latencies = [r[1] for r in results]
    ids = [r[2] for r in results if r[2]]
    conn = service.connection()
    deadline = time.monotonic() + 900
    pending, states = set(ids), {}
    while pending and time.monotonic() < deadline:
        for run_id in list(pending):
            state = _state(conn, run_id)
            if state in FINAL:
                pending.discard(run_id)
                states[run_id] = state
        time.sleep(0.2)
    totals = []
    for _ in range(runs):
        start = time.perf_counter()
        _, run_id = _post(conn, body, headers)
        while _state(conn, run_id) not in FINAL:
            time.sleep(0.002)
        totals.append(time.perf_counter() - start)
    added = [t - runner_median_s for t in totals]
    return {
        'count': count,
        'per_s': count / max(sum(latencies) / 8, 1e-9),
        'p50_ms': _percentile(latencies, 0.5) * 1e3,
        'p99_ms': _percentile(latencies, 0.99) * 1e3,
        'errors': sum(1 for r in results if r[0] != 200),
        'lost': len(pending) + sum(1 for s in states.values() if s != 'COMPLETE'),
        'added_median_s': statistics.median(added),
        'added_p90_s': _percentile(added, 0.9),
    }
