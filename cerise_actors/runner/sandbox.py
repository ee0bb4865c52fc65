"""cwltool's JavaScript engine, replaced by V8 in a sandbox: never Node.js.

cwltool evaluates every CWL expression and expressionLib, in user workflows and
installed steps alike, through the engine that `cwl_utils.sandboxjs` holds
(`get_js_engine()`): `expression.do_eval` -> `interpolate` -> `evaluator` ->
`engine.eval`, and it validates them with jshint through
`sandboxjs.exec_js_process(..., context=jshint)`, which also asks that engine.
`install()` puts a `SandboxedJSEngine` there. Its `eval` and `exec_js_process`
run the code in V8 through mini-racer: ECMAScript and nothing else, no `process`,
no `require`, no file or network access, no module loading (`import()` is
refused), with a time limit and a memory limit per evaluation. The methods that
start node (`new_js_proc`, `check_js_threshold_version`) refuse to.

Each evaluation gets a fresh V8 isolate, so an expression cannot leave anything
behind for the next one (globals, changed prototypes, timers, memory); that
costs some 3 ms an evaluation, worker round trip included, against 0.1 ms in a
kept isolate (measured with mini-racer 0.14), which is small next to what cwltool
spends on a step. jshint, which only reads the user's code, stays loaded in a
kept isolate (loading it takes some 60 ms; a validation then 2 to 7 ms).

The isolates live in a worker process (_jsworker.py, run with the same Python),
one per thread that evaluates at the same time, kept for the next evaluations:
some allocations make V8 abort its process whatever the memory limit (for
example `new Array(1e9).fill(0)`), and that must not end cwltool. A worker that
dies or overruns its time limit is killed and replaced at the next evaluation.

Results are converted as in cwltool's Node.js engine: the value goes through
JSON.stringify and json.loads (NaN and functions in arrays become null, Dates
strings, ...), and an expression whose value has no JSON form (undefined, a
function) is an error, as it is with node; so is a Promise. Errors are
`cwl_utils.errors.JavascriptException` with a first line for the user, such as
"ReferenceError: process is not defined" or "JavaScript expression took longer
than 20 s and was stopped".

Limits: `CERISE_JS_TIMEOUT` seconds an evaluation (default 20; cwltool's
--eval-timeout, 60 by default, is honoured when it is lower) and
`CERISE_JS_MAX_MEMORY` of V8 heap (default 256 MiB; a number of MiB or with a
unit: 512M, 1G, 300MiB).

This module imports nothing from cerise_actors: it is copied alone to the
compute resources.
"""

import atexit
import hashlib
import json
import os
import re
import subprocess
import threading
import time
import weakref
from typing import Any, Dict, List, Optional, Tuple

from cwl_utils.errors import JavascriptException
from cwl_utils.loghandler import _logger
from cwl_utils.sandboxjs import (
    NodeJSEngine,
    code_fragment_to_js,
    default_timeout,
    linenum,
    set_js_engine,
)

from .confine import check_value, roots_from_env
from .workers import _mini_racer_location, _Worker, _WorkerLost

MIB = 1024 * 1024
DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_MEMORY = 256 * MIB
#: the smallest heap limit accepted (jshint loaded takes some 8 MiB of heap)
MIN_MAX_MEMORY = 64 * MIB
TIMEOUT_ENV = 'CERISE_JS_TIMEOUT'
MAX_MEMORY_ENV = 'CERISE_JS_MAX_MEMORY'
#: seconds a worker gets beyond the time limit to answer before it is killed (V8
#: stops long loops itself; a few builtins, like filling a huge array, do not look)
GRACE = 5.0
#: idle workers kept for the next evaluations
MAX_IDLE_WORKERS = 4

NO_NODE = 'Node.js is not used by the Cerise runner: JavaScript runs in a V8 sandbox (mini-racer)'


def _seconds(value: float) -> str:
    return f'{value:g} s'


def _mib(value: int) -> str:
    return f'{value / MIB:g} MiB'


def parse_timeout(text: str) -> float:
    """Seconds from a CERISE_JS_TIMEOUT value ("20", "2.5")."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float('inf'):
        raise ValueError(f'{TIMEOUT_ENV}={text!r}: expected a number of seconds above 0')
    return value


def parse_memory(text: str) -> int:
    """Bytes from a CERISE_JS_MAX_MEMORY value: MiB ("256") or with a unit ("512M", "1GiB")."""
    match = re.fullmatch(r'\s*(\d+(?:\.\d+)?)\s*(?:([kmg])(?:i?b)?)?\s*', text, re.I)
    if not match:
        raise ValueError(
            f'{MAX_MEMORY_ENV}={text!r}: expected a number of MiB, or with a unit: 512M, 1G'
        )
    scale = {None: MIB, 'k': 1024, 'm': MIB, 'g': 1024 * MIB}[
        match.group(2) and match.group(2).lower()
    ]
    value = int(float(match.group(1)) * scale)
    if value < MIN_MAX_MEMORY:
        raise ValueError(f'{MAX_MEMORY_ENV}={text!r}: the least is {_mib(MIN_MAX_MEMORY)}')
    return value


def js_error_message(raw: str) -> str:
    """The user's part of a V8 error from mini-racer: "ReferenceError: x is not defined"
    and the line of the script with a caret, without the header and the stack."""
    match = re.match(r'(undefined|<anonymous>):\d+: (.*)', raw, re.S)
    if not match:
        return raw.strip()
    lines = match.group(2).split('\n\n', 1)[0].split('\n')
    source = caret = None
    if len(lines) >= 3 and re.fullmatch(r' *\^+ *', lines[-1]):
        source, caret = lines[-2], lines[-1]
        lines = lines[:-2]
    message = '\n'.join(lines).strip()
    # "undefined" is the code evaluated; "<anonymous>" is the sandbox's own wrapper
    if match.group(1) == 'undefined' and source is not None and len(source) <= 240:
        message += f'\n  {source}\n  {caret}'
    return message


_engines: 'weakref.WeakSet[SandboxedJSEngine]' = weakref.WeakSet()


@atexit.register
def _close_engines() -> None:
    for engine in list(_engines):
        engine.close()


class SandboxedJSEngine(NodeJSEngine):
    """A cwl_utils JavaScript engine that runs V8 through mini-racer (see the module).

    regex_eval, cwltool's evaluation of plain parameter references such as
    $(inputs.x.path) without JavaScript, is NodeJSEngine's, which runs no code.
    """

    def __init__(self, timeout: Optional[float] = None, max_memory: Optional[int] = None) -> None:
        super().__init__()
        env_timeout = os.environ.get(TIMEOUT_ENV)
        env_memory = os.environ.get(MAX_MEMORY_ENV)
        if timeout is None:
            timeout = parse_timeout(env_timeout) if env_timeout else DEFAULT_TIMEOUT
        if max_memory is None:
            max_memory = parse_memory(env_memory) if env_memory else DEFAULT_MAX_MEMORY
        self.roots = roots_from_env()  # what expressions may name; none: unchecked
        self.timeout = float(timeout)
        self.max_memory = int(max_memory)
        _mini_racer_location()  # fail now, not at the first expression
        self._lock = threading.Lock()
        self._idle: List[_Worker] = []
        self._workers: weakref.WeakSet[_Worker] = weakref.WeakSet()
        self.v8_version: Optional[str] = None
        _engines.add(self)

    # -- what cwltool calls ---------------------------------------------------

    def eval(
        self,
        scan: str,
        jslib: str = '',
        timeout: float = default_timeout,
        force_docker_pull: bool = False,
        debug: bool = False,
        js_console: bool = False,
        container_engine: str = 'docker',
        **kwargs: Any,
    ) -> Any:
        """The value of one CWL expression (`scan` is "(...)" or "{...}", without the $)."""
        fn = code_fragment_to_js(scan, jslib)
        limit = self.time_limit(timeout)
        answer = self._run(fn, limit, js_console, None)
        if js_console and answer.get('logs'):
            _logger.info('Javascript console output:')
            _logger.info('----------------------------------------')
            _logger.info('\n'.join(answer['logs']))
            _logger.info('----------------------------------------')
        if answer['kind'] == 'json':
            value = json.loads(answer['text'])
            if self.roots:
                check_value(value, self.roots)
            return value
        problem = self.describe(answer, limit)
        if debug:
            raise JavascriptException(
                f'{problem}\nscript was:\n{linenum(fn)}'
                + (f'\nV8 said:\n{answer["text"]}' if answer.get('text') else '')
            )
        raise JavascriptException(f'{problem}\nJavascript expression was: {scan}')

    def exec_js_process(
        self,
        js_text: str,
        timeout: float = default_timeout,
        js_console: bool = False,
        context: Optional[str] = None,
        force_docker_pull: bool = False,
        container_engine: str = 'docker',
    ) -> Tuple[int, str, str]:
        """NodeJSEngine's interface, used by cwltool's jshint validation: (return code,
        stdout with the value as JSON, stderr); the return code is -1 when the time
        limit was reached. With a context, the context (jshint) is evaluated once in a
        kept isolate and js_text in that isolate."""
        if js_console and context is not None:
            # as in cwl_utils' NodeJSEngine: cwltool asks for a context only to run
            # jshint, and never with the console
            raise JavascriptException('the JavaScript console cannot be used with a context')
        limit = self.time_limit(timeout)
        answer = self._run(js_text, limit, js_console, context)
        logs = '\n'.join(answer.get('logs') or [])
        if answer['kind'] == 'json':
            return 0, answer['text'], logs
        if answer['kind'] == 'undefined':
            return 0, 'undefined', logs  # what node prints
        message = self.describe(answer, limit)
        return (
            (-1 if answer['kind'] == 'timeout' else 1),
            '',
            '\n'.join(filter(None, [logs, message])),
        )

    def new_js_proc(self, *args: Any, **kwargs: Any) -> 'subprocess.Popen[str]':
        raise JavascriptException(NO_NODE)

    def check_js_threshold_version(self, *args: Any, **kwargs: Any) -> bool:
        raise JavascriptException(NO_NODE)

    # -- limits and messages ----------------------------------------------------

    def time_limit(self, requested: Optional[float]) -> float:
        """cwltool's time limit for this evaluation, at most the sandbox's."""
        try:
            requested = float(requested) if requested is not None else self.timeout
        except (TypeError, ValueError):
            requested = self.timeout
        return min(requested, self.timeout) if requested > 0 else self.timeout

    def describe(self, answer: Dict[str, Any], limit: float) -> str:
        """One message for the user about an evaluation that gave no value."""
        kind = answer['kind']
        text = answer.get('text') or ''
        if kind == 'timeout':
            return f'JavaScript expression took longer than {_seconds(limit)} and was stopped'
        if kind == 'memory':
            return (
                f'JavaScript expression used more than {_mib(self.max_memory)} of memory '
                'and was stopped'
            )
        if kind == 'js':
            return js_error_message(text)
        if kind == 'undefined':
            return (
                'JavaScript expression returned undefined (or a function), which has no '
                'JSON value; return null for no value'
            )
        if kind == 'promise':
            return (
                'JavaScript expression returned a Promise: asynchronous JavaScript is '
                'not supported (and import() loads no modules)'
            )
        if kind == 'unconvertible':
            return f'The value of the JavaScript expression has no JSON form: {text}'
        if kind == 'crash':
            return f'The JavaScript sandbox stopped unexpectedly ({answer.get("detail")})'
        return f'The JavaScript sandbox could not evaluate the expression: {text or kind}'

    # -- workers ---------------------------------------------------------------------

    def _run(
        self, code: str, limit: float, console: bool, context: Optional[str]
    ) -> Dict[str, Any]:
        worker = self._acquire()
        request: Dict[str, Any] = {'code': code, 'timeout': limit, 'console': bool(console)}
        deadline = time.monotonic() + limit + GRACE
        try:
            if context is None:
                answer = worker.request(request, deadline)
            else:
                key = hashlib.sha256(context.encode('utf-8')).hexdigest()
                answer = {'kind': 'no-context'}
                if key in worker.contexts:
                    request['context'] = {'key': key, 'text': None}
                    answer = worker.request(request, deadline)
                if answer['kind'] == 'no-context':
                    request['context'] = {'key': key, 'text': context}
                    answer = worker.request(request, deadline + limit)
        except _WorkerLost as lost:  # the worker is gone: the next evaluation starts another
            return lost.answer
        except BaseException:  # KeyboardInterrupt while waiting, ...: its answer would be stale
            worker.kill()
            raise
        self._release(worker)
        return answer

    def _acquire(self) -> _Worker:
        while True:
            with self._lock:
                worker = self._idle.pop() if self._idle else None
            if worker is None:
                break
            if worker.process.poll() is None:
                return worker
            worker.close()  # ended while idle (killed from outside): take another
        worker = _Worker(self.max_memory)
        self.v8_version = worker.v8_version
        with self._lock:
            self._workers.add(worker)
        return worker

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE_WORKERS:
                self._idle.append(worker)
                return
        worker.close()

    def close(self) -> None:
        """End the worker processes (new ones start if the engine is used again)."""
        with self._lock:
            workers = list(self._workers)
            self._idle.clear()
        for worker in workers:
            worker.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: S110 (interpreter shutdown)
            pass


def install(timeout: Optional[float] = None, max_memory: Optional[int] = None) -> SandboxedJSEngine:
    """Make cwltool (cwl_utils) evaluate all JavaScript in a new SandboxedJSEngine.

    Limits not given come from CERISE_JS_TIMEOUT and CERISE_JS_MAX_MEMORY (ValueError
    if they are malformed); ImportError if mini-racer is not installed.
    """
    engine = SandboxedJSEngine(timeout=timeout, max_memory=max_memory)
    set_js_engine(engine)
    return engine
