"""Checking a workflow and its input object with cwltool's loader, while staging.

Mistakes that only cwltool finds (a wrong input type, a missing input, a
step input that the step does not have) used to surface when the runner
started, which on a cluster means after the queue wait, and with line
numbers in the service's rewritten JSON. Here the user's own document is
loaded, exactly as the runner will load it: its `run:` names are served
from the installed steps, `$import`s through the same bounded reader as the
rest of staging, and nothing else can be fetched. Nothing runs: cwltool's
JavaScript linting (which would start a JavaScript engine) is off, and
loading evaluates no expressions.

cwltool is not imported here. It lives in a process of its own
(validate_worker.py, kept by check_worker.py), started on the first check
and retired after a minute unused, so the service does not carry it (some
35-50 MiB, and slower garbage collections) between bursts of jobs. That
process reads no file: every document the loader asks for is asked of this
module, which serves it as the check in the service did (`_serve`), and
records what was read.

A loaded workflow is kept (in the worker) for the next job of the same text
(a burst, or a user's repeated submissions), while the installed files it
read are unchanged (their modification times are checked here), and then
only its input object is checked. The answer for an input object already
checked against that loaded workflow is kept too (the check is a pure
function of the two), so a burst of identical jobs costs a lookup. A
workflow that imports from the exchange area is loaded again each time.
Checks are one at a time. If the checker itself fails (a bug, a document
it cannot handle, its process ended or did not answer), the job is refused:
a check that cannot decide never lets a job through (issue 18: a hint that
made this check raise once let a workflow fetch its steps from anywhere).

A wrong input is explained in the user's terms (input_mistakes.py, in the
worker), with cwltool's own explanation after it. cwltool's warnings about
the input object (`invalid field 'fiel'`) are collected in the worker by a
logger made for the one check, and `check` returns them for the job log;
what cwltool and schema-salad log otherwise goes to the service's log.
"""

import collections
import hashlib
import json
import logging
import os
import threading
import urllib.parse
from pathlib import Path
from typing import Callable, Dict, Mapping, Optional, OrderedDict, Tuple

from ..errors import InvalidInput, InvalidWorkflow
from .check_worker import CheckWorker, WorkerFailed
from .validate_worker import MAX_LINES  # noqa: F401 - the bound of messages, named here too

logger = logging.getLogger(__name__)

#: loaded workflows kept for the next job of the same workflow
CACHED_WORKFLOWS = 64
#: answers kept per loaded workflow, by input object
CACHED_ANSWERS = 64

#: one checking process for the whole service (validators of other projects
#: key their workflows apart); checks are one at a time
_lock = threading.Lock()
_worker = CheckWorker()


class _Loaded:
    """A workflow loaded in the worker: what identifies that load here."""


#: a loaded workflow's key: its URL, the digest of its text, the api dir of its steps
_Key = Tuple[str, bytes, Optional[str]]
#: a loaded workflow: its load, the stamps of the installed files it read, its
#: outcomes by input object (JSON): ('ok', warnings) or ('input', message)
_Entry = Tuple[_Loaded, Dict[Path, Optional[int]], OrderedDict[str, tuple]]


class WorkflowValidator:
    """Checks documents against the installed steps of `projects` (name -> folder)."""

    def __init__(self, projects: Mapping[str, Path], worker: Optional[CheckWorker] = None):
        self._projects = {name: Path(folder).resolve() for name, folder in projects.items()}
        self._worker = worker or _worker
        scope = sorted((name, str(folder)) for name, folder in self._projects.items())
        self._scope = repr(scope)
        # loaded workflows by (url, text, api dir): (load, stamps of the installed
        # files it read, answers by input object); a burst of jobs of one workflow
        # loads it once; an entry holds while the installed files it read are unchanged
        self._tools: OrderedDict[_Key, _Entry] = collections.OrderedDict()

    def check(
        self,
        workflow_url: str,
        raw: bytes,
        input_doc: dict,
        read: Callable[[str], bytes],
        rewritten: Optional[bytes] = None,
        remote_api_dir: Optional[str] = None,
    ) -> Tuple[str, ...]:
        """Raise InvalidWorkflow or InvalidInput with cwltool's explanation;
        `read(url)` reads an imported document (exchange area only). Returns
        cwltool's warnings about the input object, for the job log.

        The user's own text is checked first, for messages with their lines.
        If cwltool refuses it, the workflow as the service rewrote it
        (`rewritten`, its steps under `remote_api_dir`) is checked too: what
        only the service understands (Cerise's TimeLimit hint, say) is gone
        from it, and if it passes, so does the job.
        """
        try:
            with _lock:
                try:
                    return self._check(workflow_url, raw, input_doc, read, None)
                except InvalidWorkflow as first:
                    if rewritten is None:
                        raise
                    try:
                        return self._check(workflow_url, rewritten, input_doc, read, remote_api_dir)
                    except InvalidInput:  # (without lines: they would be the rewritten JSON's)
                        raise
                    except InvalidWorkflow:
                        raise first from None
        except (InvalidWorkflow, InvalidInput):
            raise
        except Exception as exc:  # noqa: BLE001 - fails closed: unchecked is refused
            logger.exception('could not check %s with cwltool; the job is refused', workflow_url)
            raise InvalidWorkflow(
                f'the workflow could not be checked ({type(exc).__name__}: '
                f'{str(exc)[:300]}); if it is a valid workflow, please report this'
            ) from None

    def _check(self, url: str, raw: bytes, input_doc: dict, read, api_dir) -> Tuple[str, ...]:
        key = (url, hashlib.sha256(raw).digest(), api_dir)
        entry = self._cached(key)
        given = json.dumps(input_doc)
        if entry is not None and given in entry[2]:
            entry[2].move_to_end(given)
            return _outcome(entry[2][given])
        reads = _Reads()
        installed = self._installed(url, api_dir)
        request = {
            'key': hashlib.sha256(f'{self._scope}\0{key!r}'.encode()).hexdigest(),
            'reload': entry is None,
            'url': url,
            'text': raw.decode('utf-8-sig'),
            'input': input_doc,
            'with_lines': api_dir is None,
            'cwd': os.getcwd(),
        }
        answer = self._worker.converse(
            request, lambda wanted: _serve(wanted, installed, read, reads)
        )
        for line in answer.get('log') or ():
            logger.warning('cwltool, checking %s: %s', url, line)
        outcome = _read_answer(answer, reads)
        if answer.get('loaded'):  # read again now: what it read decides whether it is kept
            self._tools.pop(key, None)
            entry = None if reads.others else self._keep(key, reads.installed)
        if entry is not None:
            entry[2][given] = outcome
            while len(entry[2]) > CACHED_ANSWERS:
                entry[2].popitem(last=False)
        return _outcome(outcome)

    def _cached(self, key: _Key) -> Optional[_Entry]:
        entry = self._tools.get(key)
        if entry is None:
            return None
        if any(_mtime(path) != stamp for path, stamp in entry[1].items()):
            del self._tools[key]
            return None
        self._tools.move_to_end(key)
        return entry

    def _keep(self, key: _Key, stamps: Dict[Path, Optional[int]]) -> _Entry:
        entry: _Entry = (_Loaded(), dict(stamps), collections.OrderedDict())
        self._tools[key] = entry
        while len(self._tools) > CACHED_WORKFLOWS:
            self._tools.popitem(last=False)
        return entry

    def _installed(self, url: str, api_dir: Optional[str]) -> Callable[[str], Optional[Path]]:
        """url -> the installed file it names: relative to the workflow's folder
        (`<project>/<path>`, as `run:` writes it), or, in a rewritten workflow,
        under the API folder on the resource (`<project>/steps/<path>`)."""
        folder = url.rsplit('/', 1)[0] + '/'
        rewritten = f'file://{api_dir.rstrip("/")}/' if api_dir else None

        def installed(wanted: str) -> Optional[Path]:
            if rewritten and wanted.startswith(rewritten):
                project, _, rest = urllib.parse.unquote(wanted[len(rewritten) :]).partition('/')
                if rest.startswith('steps/'):
                    return self._local_file(project, rest[len('steps/') :])
            if wanted.startswith(folder):
                relative = urllib.parse.unquote(wanted[len(folder) :])
                return self._local_file(relative.split('/', 1)[0], relative)
            return None

        return installed

    def _local_file(self, project: str, relative: str) -> Optional[Path]:
        """`steps/<relative>` of `project`'s installed folder, if it is a file there."""
        folder = self._projects.get(project)
        if folder is None:
            return None
        path = (folder / 'steps' / relative).resolve()
        inside = folder / 'steps' in path.parents
        return path if inside and path.is_file() else None


class _Reads:
    """What a load read besides the workflow: installed files (with their
    modification times), whether anything else (an exchange import), and the
    errors the reader raised (raised again if the load ends with one)."""

    def __init__(self) -> None:
        self.installed: dict = {}
        self.others = False
        self.failures: list = []


def _serve(wanted: str, installed, read, reads: _Reads) -> dict:
    """What the worker's loader gets for `wanted`: an installed step, an import
    from the exchange area (`read`), or a refusal; nothing else is fetched."""
    try:
        path = installed(wanted)
        if path is not None:
            reads.installed[path] = _mtime(path)
            return {'text': path.read_text()}
        reads.others = True
        try:
            return {'text': read(wanted).decode('utf-8-sig')}
        except (InvalidWorkflow, InvalidInput, UnicodeDecodeError) as exc:
            return {'refused': f'cannot read {wanted}: {exc}'}
    except Exception as exc:  # noqa: BLE001 - raised again if the load ends with it
        reads.failures.append(exc)
        failed = {'type': type(exc).__name__, 'message': str(exc)}
        return {'failed': dict(failed, index=len(reads.failures) - 1)}


def _read_answer(answer: dict, reads: _Reads):
    """The worker's answer as an outcome: ('ok', warnings) or ('input', message);
    anything else is raised."""
    if isinstance(answer.get('ok'), list):
        return ('ok', tuple(str(line) for line in answer['ok']))
    if isinstance(answer.get('input'), str):
        return ('input', answer['input'])
    if isinstance(answer.get('workflow'), str):
        raise InvalidWorkflow(answer['workflow'])
    failed, error = answer.get('failed'), answer.get('error')
    if isinstance(failed, dict) and 0 <= failed.get('index', -1) < len(reads.failures):
        raise reads.failures[failed['index']]
    if isinstance(error, dict):
        logger.error('the workflow check failed:\n%s', error.get('traceback', ''))
        raise type(str(error.get('type', 'Exception')), (Exception,), {})(error.get('message'))
    raise WorkerFailed(f'the workflow check answered {str(answer)[:200]}')


def _outcome(outcome) -> Tuple[str, ...]:
    kind, value = outcome
    if kind == 'input':
        raise InvalidInput(value)
    return value


def _mtime(path: Path) -> Optional[int]:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None
