"""Checking a workflow and its input object with cwltool's loader, while staging.

Mistakes that only cwltool finds (a wrong input type, a missing input, a
step input that the step does not have) used to surface when the runner
started, which on a cluster means after the queue wait, and with line
numbers in the service's rewritten JSON. Here the user's own document is
loaded, exactly as the runner will load it, on the service: its `run:`
names are served from the installed steps, `$import`s through the same
bounded reader as the rest of staging, and nothing else can be fetched.
Nothing runs: cwltool's JavaScript linting (which would start a JavaScript
engine) is off, and loading evaluates no expressions.

cwltool is imported on first use, so a service that never stages a job
does not pay for it (about 35 MiB and 0.2 s, then about 10 ms a workflow).
A loaded workflow is kept for the next job of the same text (a burst, or a
user's repeated submissions), and only its input object is checked then.
Loads are serialised: cwltool keeps process-wide caches. If the checker
itself fails (a bug, or a document it cannot handle), the job is refused:
a check that cannot decide never lets a job through (issue 18: a hint that
made this check raise once let a workflow fetch its steps from anywhere).

A wrong input is explained in the user's terms (input_mistakes.py: the
input, the value given, the declared type, the shape of a File), with
cwltool's own explanation after it. cwltool's warnings about the input
object (`invalid field 'fiel'`, a misspelt optional input it ignores) are
collected by a logger made for the one call, never the shared `salad`
logger, so several stagers checking at once cannot mix their jobs' warnings
and none reaches the service's terminal; `check` returns them for the job
log.
"""

import collections
import copy
import hashlib
import logging
import os
import re
import threading
import urllib.parse
from pathlib import Path
from typing import Callable, List, Mapping, Optional, Tuple

from ..errors import InvalidInput, InvalidWorkflow
from . import input_mistakes

logger = logging.getLogger(__name__)

#: lines of cwltool's explanation kept in the job log
MAX_LINES = 20
#: loaded workflows kept for the next job of the same workflow
CACHED_WORKFLOWS = 64
#: indentation that marks a line schema-salad wrapped under a `file:line:col:`
#: prefix (nested explanations are indented by a few spaces only)
_WRAPPED = 16

_lock = threading.Lock()


class WorkflowValidator:
    """Checks documents against the installed steps of `projects` (name -> folder)."""

    def __init__(self, projects: Mapping[str, Path]):
        self._projects = {name: Path(folder).resolve() for name, folder in projects.items()}
        # loaded workflows by (url, text, api dir): a burst of jobs of one workflow
        # loads it once; an entry holds while the installed files it read are unchanged
        self._tools: collections.OrderedDict = collections.OrderedDict()

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
        from cwltool.context import LoadingContext
        from cwltool.errors import WorkflowException
        from cwltool.load_tool import load_tool
        from cwltool.process import INPUT_OBJ_VOCAB, fill_in_defaults, normalizeFilesDirs
        from cwltool.workflow import default_make_tool
        from schema_salad.exceptions import ValidationException
        from schema_salad.validate import validate_ex

        key = (url, hashlib.sha256(raw).digest(), api_dir)
        tool = self._cached(key)
        if tool is None:
            reads = _Reads()
            installed = self._installed(url, api_dir)
            fetcher = _fetcher_class(url, raw, installed, read, ValidationException, reads)
            context = LoadingContext(
                {
                    'fetcher_constructor': fetcher,
                    'construct_tool_object': default_make_tool,
                    'disable_js_validation': True,  # jshint would run a JavaScript engine
                }
            )
            try:
                tool = load_tool(url, context)
            except (ValidationException, WorkflowException) as exc:
                raise InvalidWorkflow(_tidy(str(exc), url, api_dir is None)) from None
            if not reads.others:  # imports from the exchange area may change: not kept
                self._keep(key, tool, reads.installed)
        job = copy.deepcopy(input_doc)  # cwltool fills in fields: never the job's own
        warnings = _Warnings()
        try:
            fill_in_defaults(tool.tool['inputs'], job, None)
            normalizeFilesDirs(job)
            schema = tool.names.get_name('input_record_schema', None)
            validate_ex(
                schema,
                job,
                strict=False,
                raise_ex=True,
                vocab=INPUT_OBJ_VOCAB,
                logger=warnings.logger,
            )
        except (ValidationException, WorkflowException) as exc:
            problem = _tidy(str(exc), url, api_dir is None)
            explained = input_mistakes.explain(tool.tool['inputs'], input_doc, url)
            if explained:
                problem = '\n'.join(explained + [f"cwltool's explanation: {problem}"])
            raise InvalidInput(f'the input object does not fit the workflow: {problem}') from None
        names = [input_mistakes.short_name(str(i.get('id', ''))) for i in tool.tool['inputs']]
        return tuple(
            f'Warning about the input object: {input_mistakes.suggest(line, names)}'
            for line in warnings.lines(url, api_dir is None)
        )

    def _cached(self, key):
        entry = self._tools.get(key)
        if entry is None:
            return None
        tool, stamps = entry
        if any(_mtime(path) != stamp for path, stamp in stamps.items()):
            del self._tools[key]
            return None
        self._tools.move_to_end(key)
        return tool

    def _keep(self, key, tool, stamps: dict) -> None:
        self._tools[key] = (tool, dict(stamps))
        while len(self._tools) > CACHED_WORKFLOWS:
            self._tools.popitem(last=False)

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


class _Warnings:
    """A logger of its own for one check: what cwltool warns about the input
    object, kept for that job only. It is made, not fetched with
    logging.getLogger, so it is in no registry and no other thread logs to it."""

    def __init__(self):
        self.records: List[str] = []
        self.logger = logging.Logger('cerise_actors.staging.validate.input')
        self.logger.propagate = False
        self.logger.addHandler(_Collect(self.records))

    def lines(self, url: str, with_lines: bool) -> List[str]:
        lines = []
        for record in self.records[:MAX_LINES]:
            text = _tidy(record, url, with_lines).replace('\n', ' ')
            text = re.sub(r'^Warning:\s*', '', text)
            if text and text not in lines:
                lines.append(text)
        return lines


class _Collect(logging.Handler):
    def __init__(self, records: List[str]):
        super().__init__(logging.WARNING)
        self._records = records

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._records.append(record.getMessage())
        except Exception:  # noqa: BLE001 - a bad format string: keep the template
            self._records.append(str(record.msg))


class _Reads:
    """What a load read besides the workflow: installed files (with their
    modification times) and whether anything else (an exchange import)."""

    def __init__(self):
        self.installed: dict = {}
        self.others = False


def _mtime(path: Path) -> Optional[int]:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _fetcher_class(url: str, raw: bytes, local_file, read, refused, reads: _Reads):
    """A schema-salad Fetcher serving the workflow, the installed steps and
    imports from the exchange area, and refusing everything else."""
    from schema_salad.fetcher import Fetcher

    text = raw.decode('utf-8-sig')

    class ServedFetcher(Fetcher):
        def __init__(self, cache, session):
            pass

        def fetch_text(self, wanted: str, content_types=None) -> str:
            if wanted == url:
                return text
            path = local_file(wanted)
            if path is not None:
                reads.installed[path] = _mtime(path)
                return path.read_text()
            reads.others = True
            try:
                return read(wanted).decode('utf-8-sig')
            except (InvalidWorkflow, InvalidInput, UnicodeDecodeError) as exc:
                raise refused(f'cannot read {wanted}: {exc}') from None

        def check_exists(self, wanted: str) -> bool:
            try:
                self.fetch_text(wanted)
            except refused:
                return False
            return True

        def urljoin(self, base_url: str, wanted: str) -> str:
            return urllib.parse.urljoin(base_url, wanted)

    return ServedFetcher


def _tidy(message: str, url: str, with_lines: bool = True) -> str:
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
