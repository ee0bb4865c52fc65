"""The worker processes in which the sandbox runs V8 (see sandbox.py and _jsworker.py).

V8 runs in a child process of plain Python with mini-racer, never in the
runner's own process: some allocations make V8 abort its whole process
whatever its memory limit, and that must cost one evaluation, not the job.
A `_Worker` starts one such process, sends it requests as JSON lines and
reads its answers with a deadline; a worker that dies or overruns is killed,
and `_WorkerLost` says what the user is told.
"""

import importlib.util
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Optional, Set

from cwl_utils.errors import JavascriptException

#: seconds a worker may take to start (Python, mini-racer and the first V8 isolate)
START_TIMEOUT = 60.0
WORKER_SCRIPT = Path(__file__).resolve().with_name('_jsworker.py')


class _WorkerLost(Exception):
    """The worker died or overran: it is killed; `answer` says what the user is told."""

    def __init__(self, answer: Dict[str, Any]) -> None:
        super().__init__(answer.get('kind'))
        self.answer = answer


class _Worker:
    """One _jsworker.py process and its pipes."""

    def __init__(self, max_memory: int) -> None:
        self.contexts: Set[str] = set()
        self._buffer = b''
        self._stderr = tempfile.TemporaryFile()
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(
            [_mini_racer_location()] + [p for p in [env.get('PYTHONPATH')] if p]
        )
        self.process = subprocess.Popen(  # noqa: S603 (our own script, with this Python)
            [sys.executable, str(WORKER_SCRIPT), str(max_memory)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=tempfile.gettempdir(),
            env=env,
        )
        try:
            hello = self._read(time.monotonic() + START_TIMEOUT)
        except _WorkerLost as exc:
            self.kill()
            raise JavascriptException(
                'The JavaScript sandbox could not start: '
                + (exc.answer.get('detail') or 'no answer in time')
            ) from None
        self.v8_version = hello.get('v8')
        self.data_limit = hello.get('data_limit')

    def request(self, request: Dict[str, Any], deadline: float) -> Dict[str, Any]:
        """The worker's answer; _WorkerLost (and the worker killed) if it has none in time."""
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(request).encode('utf-8') + b'\n')
            self.process.stdin.flush()
        except OSError:
            raise self._lost() from None
        answer = self._read(deadline)
        self.contexts = set(answer.get('contexts', []))
        return answer

    def _read(self, deadline: float) -> Dict[str, Any]:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while b'\n' not in self._buffer:
            remaining = deadline - time.monotonic()
            ready = select.select([fd], [], [], remaining)[0] if remaining > 0 else []
            if not ready:
                self.kill()
                raise _WorkerLost({'kind': 'timeout'})
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise self._lost()
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b'\n')
        try:
            return json.loads(line)
        except ValueError:
            self.kill()
            raise _WorkerLost({'kind': 'crash', 'detail': 'unreadable answer'}) from None

    def _lost(self) -> _WorkerLost:
        """The worker ended: what the user is told, from its exit status and stderr."""
        try:
            code: Optional[int] = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        try:
            return _WorkerLost(self._death(code))
        finally:
            self.kill()

    def _death(self, code: Optional[int]) -> Dict[str, Any]:
        self._stderr.seek(0, os.SEEK_END)
        self._stderr.seek(max(0, self._stderr.tell() - 20000))
        tail = self._stderr.read().decode('utf-8', 'replace')
        if re.search(r'out of memory|MemoryError|allocation failed', tail, re.I):
            return {'kind': 'memory', 'crashed': True}
        lines = [line.strip() for line in tail.splitlines() if line.strip()]
        detail = f'exit status {code}' + (f': {lines[-1]}' if lines else '')
        return {'kind': 'crash', 'detail': detail}

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.close()

    def close(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._stderr.close()


def _mini_racer_location() -> str:
    spec = importlib.util.find_spec('py_mini_racer')
    if spec is None or spec.origin is None:
        raise ImportError(
            'mini-racer is not installed; the Cerise runner evaluates JavaScript with it '
            '(pip install mini-racer)'
        )
    return str(Path(spec.origin).resolve().parent.parent)
