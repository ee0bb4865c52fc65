"""The workflow check's own process: cwltool's loader, outside the service.

    python -m cerise_actors.staging.validate_worker

cwltool and the CWL schemas take some 35-50 MiB and make every garbage
collection of the process that holds them slower. The service
(staging/validate.py, through check_worker.py) therefore checks workflows
here: this process is started on the first check, answers check requests
one at a time over its stdin and stdout, and is told to leave (its stdin is
closed) once it has been unused for a while; the next check starts it again.

It reads no file a document names. Every document the loader asks for
other than the workflow itself (an installed step, an `$import` from the
exchange area) is asked of the service, which serves it exactly as the
check in the service did (the installed steps of its projects, the bounded
reader of the exchange area) or refuses it. Nothing runs: JavaScript
linting is off, and loading evaluates no expressions.

The protocol is frames of JSON, each with a 4-byte length. A request:

    {"key": ..., "reload": bool, "url": ..., "text": ..., "input": {...},
     "with_lines": bool, "cwd": ...}

While loading, this process may send `{"fetch": url}` and then reads
`{"text": ...}`, `{"refused": message}` (the loader's ValidationException) or
`{"failed": {"type", "message", "index"}}` (the service's reader raised
something else, which the service raises again if the load ends with it).
The answer is one of `{"ok": [warnings]}`, `{"workflow": message}`,
`{"input": message}`, `{"failed": {...}}` or `{"error": {"type", "message",
"traceback"}}`, with `"loaded"` (whether the workflow was loaded for this
request) and `"log"` (what cwltool and schema-salad logged at WARNING or
above, for the service's log; never a job's). Loaded workflows are kept by
key (the service decides when one must be loaded again: `reload`).
"""

import collections
import copy
import json
import logging
import os
import re
import struct
import sys
import traceback
import urllib.parse
from typing import Callable, List, Optional

from . import input_mistakes

#: lines of cwltool's explanation kept in a message
MAX_LINES = 20
#: loaded workflows kept for the next check of the same workflow
CACHED_WORKFLOWS = 64
#: indentation that marks a line schema-salad wrapped under a `file:line:col:`
#: prefix (nested explanations are indented by a few spaces only)
_WRAPPED = 16
#: a frame's length prefix, and the largest frame read (a workflow is at most 16 MiB)
HEADER = struct.Struct('>I')
MAX_FRAME = 64 * 1024 * 1024
#: the loggers whose records go to the service's log
LIBRARY_LOGGERS = ('cwltool', 'salad')


# --- frames (shared with check_worker.py, the service's end) ----------------------
def write_frame(stream, message: dict) -> None:
    body = json.dumps(message).encode('utf-8')
    data = memoryview(HEADER.pack(len(body)) + body)
    while data:  # a raw pipe may take part of it
        data = data[stream.write(data) :]
    stream.flush()


def read_frame(stream) -> Optional[dict]:
    """The next frame, None at the end of the stream; ValueError if malformed."""
    head = _read_exactly(stream, HEADER.size)
    if head is None:
        return None
    (length,) = HEADER.unpack(head)
    if length > MAX_FRAME:
        raise ValueError(f'a frame of {length} bytes')
    body = _read_exactly(stream, length)
    if body is None:
        raise ValueError('the stream ended inside a frame')
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError('a frame that is not an object')
    return message


def _read_exactly(stream, size: int) -> Optional[bytes]:
    data = b''
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            if data:
                raise ValueError('the stream ended inside a frame')
            return None
        data += chunk
    return data


# --- the check ---------------------------------------------------------------------
class _ServiceFailed(Exception):
    """The service's reader raised something other than a refusal: the same
    type name and message, so that whatever the loader does with it (swallow
    it for a `$schemas`, or end the load) is what it did in the service."""

    index = -1


def _mirror(failed: dict) -> _ServiceFailed:
    cls = type(str(failed.get('type') or 'Exception'), (_ServiceFailed,), {})
    exc = cls(str(failed.get('message', '')))
    exc.index = int(failed.get('index', -1))
    return exc


class Checker:
    """Loads and checks, asking `ask(message)` (the service) for documents."""

    def __init__(self, ask: Callable[[dict], dict]) -> None:
        self._ask = ask
        self._tools: collections.OrderedDict = collections.OrderedDict()

    def check(self, request: dict) -> dict:
        from cwltool.errors import WorkflowException
        from schema_salad.exceptions import ValidationException

        url, with_lines = request['url'], bool(request['with_lines'])
        key = request['key']
        if request.get('reload'):
            self._tools.pop(key, None)
        tool, loaded = self._tools.get(key), False
        try:
            if tool is None:
                tool, loaded = self._load(url, request['text'], ValidationException), True
                self._tools[key] = tool
                while len(self._tools) > CACHED_WORKFLOWS:
                    self._tools.popitem(last=False)
            self._tools.move_to_end(key)
        except (ValidationException, WorkflowException) as exc:
            return {'workflow': tidy(str(exc), url, with_lines), 'loaded': loaded}
        return dict(check_input(tool, request['input'], url, with_lines), loaded=loaded)

    def _load(self, url: str, text: str, refused):
        from cwltool.context import LoadingContext
        from cwltool.load_tool import load_tool
        from cwltool.workflow import default_make_tool

        context = LoadingContext(
            {
                'fetcher_constructor': _fetcher_class(url, text, self._ask, refused),
                'construct_tool_object': default_make_tool,
                'disable_js_validation': True,  # jshint would run a JavaScript engine
            }
        )
        return load_tool(url, context)


def check_input(tool, input_doc: dict, url: str, with_lines: bool) -> dict:
    """{'ok': warnings} or {'input': message}: the input object against `tool`."""
    from cwltool.errors import WorkflowException
    from cwltool.process import INPUT_OBJ_VOCAB, fill_in_defaults, normalizeFilesDirs
    from schema_salad.exceptions import ValidationException
    from schema_salad.validate import validate_ex

    job = copy.deepcopy(input_doc)  # cwltool fills in fields: never the job's own
    warnings = _Warnings()
    try:
        fill_in_defaults(tool.tool['inputs'], job, None)  # type: ignore[arg-type]  # unused by cwltool
        normalizeFilesDirs(job)
        schema = tool.names.get_name('input_record_schema', None)
        validate_ex(
            schema, job, strict=False, raise_ex=True, vocab=INPUT_OBJ_VOCAB, logger=warnings.logger
        )
    except (ValidationException, WorkflowException) as exc:
        problem = tidy(str(exc), url, with_lines)
        explained = input_mistakes.explain(tool.tool['inputs'], input_doc, url)
        if explained:
            problem = '\n'.join(explained + [f"cwltool's explanation: {problem}"])
        return {'input': f'the input object does not fit the workflow: {problem}'}
    names = [input_mistakes.short_name(str(i.get('id', ''))) for i in tool.tool['inputs']]
    return {
        'ok': [
            f'Warning about the input object: {input_mistakes.suggest(line, names)}'
            for line in warnings.lines(url, with_lines)
        ]
    }


class _Warnings:
    """A logger of its own for one check: what cwltool warns about the input
    object, kept for that job only. It is made, not fetched with
    logging.getLogger, so it is in no registry and nothing else logs to it."""

    def __init__(self) -> None:
        self.records: List[str] = []
        self.logger = logging.Logger('cerise_actors.staging.validate.input')
        self.logger.propagate = False
        self.logger.addHandler(_Collect(self.records))

    def lines(self, url: str, with_lines: bool) -> List[str]:
        lines = []
        for record in self.records[:MAX_LINES]:
            text = tidy(record, url, with_lines).replace('\n', ' ')
            text = re.sub(r'^Warning:\s*', '', text)
            if text and text not in lines:
                lines.append(text)
        return lines


class _Collect(logging.Handler):
    def __init__(self, records: List[str], level: int = logging.WARNING):
        super().__init__(level)
        self._records = records

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._records.append(record.getMessage())
        except Exception:  # noqa: BLE001 - a bad format string: keep the template
            self._records.append(str(record.msg))


def _fetcher_class(url: str, text: str, ask, refused):
    """A schema-salad Fetcher serving the workflow and asking the service for
    everything else, which it serves or refuses."""
    from schema_salad.fetcher import Fetcher

    class ServedFetcher(Fetcher):
        def __init__(self, cache: object, session: object) -> None:
            pass

        def fetch_text(self, wanted: str, content_types=None) -> str:
            if wanted == url:
                return text
            answer = ask({'fetch': wanted})
            if 'text' in answer:
                return answer['text']
            if 'refused' in answer:
                raise refused(answer['refused'])
            raise _mirror(answer.get('failed') or {})

        def check_exists(self, wanted: str) -> bool:
            try:
                self.fetch_text(wanted)
            except refused:
                return False
            return True

        def urljoin(self, base_url: str, wanted: str) -> str:
            return urllib.parse.urljoin(base_url, wanted)

    return ServedFetcher


def tidy(message: str, url: str, with_lines: bool = True) -> str:
    """cwltool's message, naming the user's file as they know it and bounded;
    without `with_lines` (a message about the service's rewritten document)
    the places are left out, since they are not in the user's file."""
    name = urllib.parse.unquote(url.rstrip('/').rsplit('/', 1)[-1])
    local = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    for form in sorted({url, local, os.path.relpath(local)}, key=len, reverse=True):
        message = message.replace(form, name)
    if not with_lines:
        message = re.sub(rf'{re.escape(name)}:\d+:\d+: ', '', message)
    lines: list = []
    for line in message.strip().splitlines():
        if not line.strip():
            continue
        if lines and line.startswith(' ' * _WRAPPED):  # schema-salad wrapped a long line
            lines[-1] = f'{lines[-1]} {line.strip()}'
        else:
            lines.append(line.rstrip())
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES] + [f'... ({len(lines) - MAX_LINES} more lines)']
    return '\n'.join(lines)


# --- the process ---------------------------------------------------------------------
def serve(requests, answers) -> int:
    """Answer requests until the service closes `requests`."""
    library_log: List[str] = []
    collect = _Collect(library_log)
    for name in LIBRARY_LOGGERS:  # to the service's log, not this process's stderr
        library = logging.getLogger(name)
        library.handlers[:] = [collect]
        library.propagate = False

    def ask(message: dict) -> dict:
        write_frame(answers, message)
        answer = read_frame(requests)
        if answer is None:
            raise SystemExit(0)  # the service has gone
        return answer

    checker = Checker(ask)
    while True:
        request = read_frame(requests)
        if request is None:
            return 0
        try:  # messages name files relative to it, as in the service
            if request.get('cwd') and request['cwd'] != os.getcwd():
                os.chdir(request['cwd'])
        except OSError:  # gone: the messages name them from here instead
            pass
        try:
            answer = checker.check(request)
        except _ServiceFailed as exc:
            answer = {'failed': {'index': exc.index}, 'loaded': False}
        except Exception as exc:  # noqa: BLE001 - the service refuses the job and logs this
            answer = {
                'error': {
                    'type': type(exc).__name__,
                    'message': str(exc),
                    'traceback': traceback.format_exc(),
                },
                'loaded': False,
            }
        answer['log'], library_log[:] = list(library_log), []
        write_frame(answers, answer)


def main() -> int:
    requests = os.fdopen(os.dup(0), 'rb')
    answers = os.fdopen(os.dup(1), 'wb')
    os.dup2(2, 1)  # stray prints go to stderr, never into the frames
    sys.stdout = sys.stderr
    import cwltool.load_tool  # noqa: F401 - loaded before the first request waits on it

    return serve(requests, answers)


if __name__ == '__main__':
    sys.exit(main())
