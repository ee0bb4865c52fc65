"""Running a prepared test: through the service's REST API, and with bare cwltool.

Both give an `Outcome`: passed or not, a one-line reason, and the details
(the end of the job log, or of cwltool's stderr) for the JSON results.
"""

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

from ..helpers import FINAL, http
from .compare import localise, mismatch
from .rewrite import Prepared

LOG_TAIL = 40


@dataclasses.dataclass
class Outcome:
    passed: bool
    reason: str = ''  # one line, empty when passed
    state: str = ''  # the job's final state, or cwltool's exit status
    seconds: float = 0.0
    details: str = ''  # the end of the job log, or of cwltool's stderr
    output: Any = None

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


# --- through the service ----------------------------------------------


def _runner_errors(log: str) -> list:
    """cwltool's own ERROR lines in the job log's copy of its stderr, most telling first.

    An error ending in ':' gets the line after it, where cwltool says what is wrong.
    """
    lines = [line.strip() for line in log.splitlines()]
    found = []
    for number, text in enumerate(lines):
        if re.match(r'^[\w.-]+: error: ', text):  # the runner refused its command line
            found.append(text)
            continue
        if not re.match(r'^ERROR\b', text):
            continue
        text = re.sub(r'^ERROR\s+', '', text)
        if text.endswith(':'):
            following = next((line for line in lines[number + 1 :] if line), '')
            text = f'{text} {following}'
        found.append(text)
    # a traceback's 'Unexpected exception' says less than the error after it
    return sorted(found, key=lambda text: text.startswith('Unexpected exception'))


def summarise_log(log: str, state: str) -> str:
    """One line saying why a job did not succeed, from its log."""
    refused = re.search(r'Cannot run this job: (.*)', log)
    if refused:
        return refused.group(1).strip()
    errors = _runner_errors(log)
    final = [
        line.split(' ERROR ', 1)[1].strip()
        for line in log.splitlines()
        if re.match(r'^\S+Z ERROR ', line)
    ]
    parts = []
    if errors:
        parts.append(errors[0][:300])
    if final:
        parts.append(final[-1][:200])
    return ' | '.join(parts) or f'ended {state}'


class ServiceRunner:
    """Submits prepared tests to a running service and waits for them."""

    def __init__(self, base_url: str, client_url: str, exchange_dir: Path, timeout: float):
        self.base = base_url.rstrip('/')
        self.client_url = client_url
        self.exchange_dir = Path(exchange_dir)
        self.timeout = timeout

    def run(self, prepared: Prepared) -> Outcome:
        if prepared.problem:
            return Outcome(False, prepared.problem, 'not submitted')
        start = time.monotonic()
        body = {'name': prepared.job_name, 'workflow': prepared.workflow_url, 'input': prepared.job}
        status, job, _ = http('POST', f'{self.base}/jobs', body)
        if status != 201:
            return Outcome(False, f'POST /jobs answered {status}: {job}', 'not submitted')
        job = self._wait(job['id'], start)
        seconds = time.monotonic() - start
        log = http('GET', f'{self.base}/jobs/{job["id"]}/log')[1]
        tail = '\n'.join(str(log).splitlines()[-LOG_TAIL:])
        state = job['state']
        if state not in FINAL:
            return Outcome(
                False, f'no final state after {self.timeout:.0f} s ({state})', state, seconds, tail
            )
        output = localise(job.get('output') or {}, self.client_url, self.exchange_dir)
        if state != 'Success':
            return Outcome(
                False, f'{state}: {summarise_log(str(log), state)}', state, seconds, tail
            )
        reason = mismatch(prepared.test.output, output)
        return Outcome(reason is None, reason or '', state, seconds, tail, output)

    def _wait(self, job_id: str, start: float) -> dict:
        deadline = start + self.timeout
        job = {'id': job_id, 'state': 'Waiting'}
        while time.monotonic() < deadline:
            status, answer, _ = http('GET', f'{self.base}/jobs/{job_id}')
            if status == 200:
                job = answer
                if job['state'] in FINAL:
                    return job
            time.sleep(0.2)
        http('POST', f'{self.base}/jobs/{job_id}/cancel')
        end = time.monotonic() + 30
        while time.monotonic() < end:  # report it as it stands, but stop it first
            status, answer, _ = http('GET', f'{self.base}/jobs/{job_id}')
            if status == 200 and answer['state'] in FINAL:
                break
            time.sleep(0.2)
        return job


# --- with bare cwltool ------------------------------------------------


def cwltool_command(workflow: Path, job_file: Path, out_dir: Path) -> list:
    """Bare cwltool on the local files, without containers (as the service runs jobs)."""
    tmp = out_dir / 'tmp'
    return [
        sys.executable,
        '-m',
        'cwltool',
        '--disable-color',
        '--no-container',
        '--outdir',
        str(out_dir / 'out'),
        '--tmpdir-prefix',
        f'{tmp}/',
        '--tmp-outdir-prefix',
        f'{tmp}/',
        str(workflow),
        str(job_file),
    ]


def _last_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if re.match(r'^ERROR\b|^[\w.-]+: error: ', line) or 'failed validation' in line:
            return re.sub(r'^ERROR\s+', '', line)[:300]
    return lines[-1][:300] if lines else 'no output'


def run_cwltool(prepared: Prepared, out_dir: Path, timeout: float) -> Outcome:
    if prepared.reference_workflow is None:
        return Outcome(False, prepared.problem or 'not rewritten', 'not run')
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / 'tmp').mkdir(exist_ok=True)
    command = cwltool_command(prepared.reference_workflow, prepared.job_file, out_dir)
    start = time.monotonic()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=out_dir,
        start_new_session=True,  # its own process group, killed as one on time-out
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        seconds = time.monotonic() - start
        return Outcome(
            False, f'timed out after {timeout:.0f} s', 'timeout', seconds, stderr[-4000:]
        )
    seconds = time.monotonic() - start
    tail = '\n'.join(stderr.splitlines()[-LOG_TAIL:])
    output = _json_object(stdout)
    status = f'exit {process.returncode}'
    if process.returncode != 0 or output is None:
        return Outcome(False, _last_error(stderr), status, seconds, tail)
    reason = mismatch(prepared.test.output, output)
    return Outcome(reason is None, reason or '', status, seconds, tail, output)


def _json_object(text: str) -> Optional[dict]:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
