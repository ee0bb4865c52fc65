"""The process in which the JavaScript sandbox runs V8 (started by sandbox.py, never imported).

`python _jsworker.py MAX_MEMORY_BYTES` reads one JSON request per line on stdin
and answers one JSON line on stdout:

    request  {"code": "...", "timeout": 20.0, "console": false,
              "context": null | {"key": "sha256", "text": "..." | null}}
    answer   {"kind": "json", "text": "<JSON of the value>", "logs": [...], "contexts": [...]}
             or kind "undefined", "promise", "unconvertible" (text: the JavaScript error),
             "js" (text: V8's message), "timeout", "memory", "no-context", "internal"

Every evaluation without a context gets a fresh V8 isolate (a new MiniRacer),
closed when it is done, so nothing an expression does is seen by the next one.
An evaluation with a context (cwltool's jshint validation: a 1.3 MB linter that
reads the user's code as data and never runs it) reuses a kept MiniRacer in
which the context was evaluated once.

V8 lives in this process, not in cwltool's, because some allocations end in a
V8 fatal error that aborts the process whatever the memory limit (for example
`new Array(1e9).fill(0)`): here that only ends the worker, which sandbox.py
reports as an out-of-memory error and replaces. After start-up the process also
limits its data segment (RLIMIT_DATA) so that ArrayBuffers, which V8 does not
count against its heap limit, cannot take the machine's memory either.

This file imports only the standard library and py_mini_racer, and removes its
own folder from sys.path, so the modules next to it cannot shadow anything.
"""

import json
import os
import re
import signal
import sys

if sys.path and os.path.abspath(sys.path[0] or '.') == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

#: bytes the data segment may grow beyond its size after V8 has started, on top of
#: the JavaScript heap limit (fresh isolates, their threads, the answers' JSON)
DATA_HEADROOM = 512 * 1024 * 1024
#: what the wrapper answers
KINDS = ('json', 'undefined', 'promise', 'unconvertible')
#: contexts kept at most (they are cwltool's jshint, so normally one)
MAX_CONTEXTS = 4

# Runs inside the fresh isolate: removes what mini-racer adds to the ECMAScript
# globals (setTimeout, clearTimeout, console), so that the global environment is
# that of node's vm.runInNewContext(code, {}) as in cwltool's Node.js engine;
# installs a console that collects the lines when asked (cwltool --js-console);
# runs the code as a global script (indirect eval) and returns its completion
# value as JSON, with JSON.stringify taken before the code can replace it.
WRAPPER = """(function (code, withConsole) {
  'use strict';
  var stringify = JSON.stringify;
  var global = globalThis;
  var logs = [];
  global.setTimeout = undefined;
  global.clearTimeout = undefined;
  global.__timer_manager = undefined;
  delete global.console;
  if (withConsole) {
    var show = function (args) {
      return Array.prototype.map.call(args, function (arg) {
        if (typeof arg === 'string') return arg;
        try { var text = stringify(arg); } catch (e) { text = undefined; }
        return typeof text === 'string' ? text : String(arg);
      }).join(' ');
    };
    global.console = {
      log: function () { logs.push('[log] ' + show(arguments)); },
      error: function () { logs.push('[err] ' + show(arguments)); }
    };
  }
  var value = (0, eval)(code);
  var kind, text;
  if (value !== null && (typeof value === 'object' || typeof value === 'function') &&
      typeof value.then === 'function') {
    kind = 'promise';
  } else {
    try {
      text = stringify(value);
      kind = typeof text === 'string' ? 'json' : 'undefined';
    } catch (e) {
      kind = 'unconvertible';
      text = String(e && e.name) + ': ' + String(e && e.message);
    }
  }
  return stringify({kind: kind, text: text, logs: logs});
})(%s, %s)"""


def _data_size():
    """Bytes of this process's data segment (VmData), or None where /proc has no such line."""
    try:
        with open('/proc/self/status') as status:
            match = re.search(r'^VmData:\s+(\d+) kB', status.read(), re.M)
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


def _limit_data(max_memory):
    """Cap the data segment at its current size plus the heap limit and some headroom."""
    size = _data_size()
    if size is None:
        return None
    try:
        import resource

        limit = size + max_memory + DATA_HEADROOM
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    except (ImportError, ValueError, OSError):
        return None
    return limit


def _close(racer):
    """Free a MiniRacer's isolate now (MiniRacer.close came with mini-racer 0.12.1;
    before, the isolate is freed when the object is collected)."""
    close = getattr(racer, 'close', None)
    if close is not None:
        close()


class Worker:
    def __init__(self, max_memory):
        from py_mini_racer import MiniRacer

        self.MiniRacer = MiniRacer
        self.max_memory = max_memory
        self.contexts = {}  # key -> MiniRacer, oldest first

    def new_racer(self):
        racer = self.MiniRacer()
        racer.set_hard_memory_limit(self.max_memory)
        return racer

    def answer(self, request):
        """The answer to one request (a dict), whatever the code does."""
        from py_mini_racer import JSEvalException, JSOOMException, JSTimeoutException

        context = request.get('context')
        racer = None
        try:
            if context is None:
                racer = self.new_racer()
            else:
                racer = self.contexts.pop(context['key'], None)
                if racer is None:
                    if context.get('text') is None:
                        return {'kind': 'no-context'}
                    racer = self.new_racer()
                    racer.eval(context['text'], timeout_sec=request['timeout'])
            code = WRAPPER % (json.dumps(request['code']), json.dumps(bool(request['console'])))
            answer = json.loads(racer.eval(code, timeout_sec=request['timeout']))
            if not isinstance(answer, dict) or answer.get('kind') not in KINDS:
                # the code changed Object.prototype.toJSON or the like
                return {'kind': 'internal', 'text': 'the value could not be read back'}
            if context is not None:  # kept only when it worked: a limit may leave it broken
                self.contexts[context['key']] = racer
                racer = None
                while len(self.contexts) > MAX_CONTEXTS:
                    _close(self.contexts.pop(next(iter(self.contexts))))
            return answer
        except JSTimeoutException:
            return {'kind': 'timeout'}
        except JSOOMException:
            return {'kind': 'memory'}
        except JSEvalException as exc:
            if racer is not None and racer.was_hard_memory_limit_reached():
                return {'kind': 'memory'}
            return {'kind': 'js', 'text': str(exc)}
        except MemoryError:
            return {'kind': 'memory'}
        except Exception as exc:  # the answer could not be read, a mini-racer problem, ...
            return {'kind': 'internal', 'text': f'{type(exc).__name__}: {exc}'}
        finally:
            if racer is not None:
                _close(racer)

    def close(self):
        for racer in self.contexts.values():
            _close(racer)
        self.contexts.clear()


def serve(answers):
    max_memory = int(sys.argv[1])
    worker = Worker(max_memory)
    warm_up = worker.new_racer()  # the first isolate reserves V8's process-wide memory
    v8_version = warm_up.v8_version
    warm_up.eval('0')
    _close(warm_up)
    data_limit = _limit_data(max_memory)

    def send(answer):
        answers.write(json.dumps(answer).encode('utf-8') + b'\n')
        answers.flush()

    try:
        send({'kind': 'ready', 'v8': v8_version, 'data_limit': data_limit})
        for line in sys.stdin.buffer:
            try:
                answer = worker.answer(json.loads(line))
            except MemoryError:
                answer = {'kind': 'memory'}
            answer['contexts'] = list(worker.contexts)
            send(answer)
    except BrokenPipeError:  # cwltool has gone
        pass
    finally:
        worker.close()


def main():
    # Ctrl-C in a terminal reaches the whole process group: cwltool handles it and
    # closes the pipe, upon which this process ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Answers go to a private copy of stdout; anything V8 or Python prints goes to stderr.
    answers = os.fdopen(os.dup(1), 'wb')
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    status = 0
    try:
        serve(answers)
    except BaseException:
        import traceback

        traceback.print_exc()
        status = 1
    # V8 objects left to the interpreter's shutdown can hang it: end without one.
    sys.stderr.flush()
    os._exit(status)


if __name__ == '__main__':
    main()
