"""Checking a submitted workflow and rewriting it to run on the resource.

Users submit a CWL Workflow whose steps name installed steps
(``run: example/hostname.cwl``). Before it is sent to the compute resource we
expand its `$import`s and `$include`s (:mod:`.imports`), make sure it can
only run those steps (see :mod:`.checks` for what is refused and why), drop
the hints the service does not honour, plan the staging of its File
defaults, point each ``run`` at the step's installed copy under the remote
API directory, and work out how many cores and how much time to ask the
scheduler for.
"""

import copy
import json
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

from ..boundary.workflow_policy import NotSelfContained, check_self_contained
from ..errors import ApiInstallError, InvalidInput, InvalidWorkflow
from .checks import (
    check_content,
    check_directives,
    check_no_javascript,
    check_requirements,
    drop_hints,
    iter_nodes,
)
from .imports import Reader, expand_references
from .inputs import plan_defaults
from .parse import parse_cwl
from .resources import SECTIONS, TIME_LIMIT_CLASSES, read_cores, read_time_limit
from .secondary import add_secondary_files, secondary_patterns
from .steps import step_resources

MAX_LISTED_STEPS = 20


#: CWL versions without ToolTimeLimit: there it is the job's limit, as in Cerise
_VERSIONS_WITHOUT_TOOL_TIME_LIMIT = ('v1.0', 'draft-3')


@dataclass(frozen=True)
class WorkflowPlan:
    """What the service needs to run a checked workflow."""

    content: bytes  # the rewritten workflow, serialised as JSON (utf-8)
    steps: tuple  # installed step names used, as written, in order
    cores: int  # 0 = not specified
    time_limit: int  # seconds, 0 = not specified
    notes: tuple = ()  # lines for the job log (hints ignored)
    files: tuple = ()  # the File and Directory defaults to copy (InputFile)
    #: the secondaryFiles patterns of the workflow and its installed steps
    secondary_files: tuple = ()


#: no installed files: name -> class of the document it holds
_NO_FILES: Mapping[str, Optional[str]] = {}


def _refuse_references(url: str) -> bytes:
    raise InvalidWorkflow(f'{url}: this workflow cannot import other documents')


def _check_class(doc: Mapping) -> None:
    if '$graph' in doc:
        raise InvalidWorkflow(
            "packed workflows ('$graph') are not supported; submit a single "
            'Workflow whose steps use the installed steps'
        )
    cls = doc.get('class')
    if cls == 'Workflow':
        return
    if cls is None:
        raise InvalidWorkflow(
            "the document has no 'class'; submit a Workflow whose steps use the installed steps"
        )
    raise InvalidWorkflow(
        f'this is a {cls}, not a Workflow; submit a Workflow whose steps use the installed steps'
    )


def _workflow_steps(doc: Mapping) -> list:
    """Return ``(step id, step)`` pairs from the mapping or list form."""
    steps = doc.get('steps')
    result = []
    if isinstance(steps, Mapping):
        for step_id, step in steps.items():
            result.append((str(step_id), step))
    elif isinstance(steps, list):
        for number, step in enumerate(steps, 1):
            step_id = step.get('id') if isinstance(step, Mapping) else None
            if not isinstance(step_id, str) or not step_id.lstrip('#'):
                raise InvalidWorkflow(f"step number {number} has no 'id'")
            result.append((step_id.lstrip('#'), step))
    elif steps is not None:
        raise InvalidWorkflow("'steps' must be a list or a mapping")
    for step_id, step in result:
        if not isinstance(step, Mapping):
            raise InvalidWorkflow(f"step '{step_id}' must be an object")
    return result


def _installed_list(catalogue: Mapping) -> str:
    names = sorted(catalogue)
    if not names:
        return 'no steps are installed'
    listed = ', '.join(names[:MAX_LISTED_STEPS])
    if len(names) > MAX_LISTED_STEPS:
        listed += f' and {len(names) - MAX_LISTED_STEPS} more'
    return f'installed steps are: {listed}'


def _step_name(step_id: str, step: Mapping, catalogue: Mapping) -> str:
    """Check a step's ``run`` and return the installed step it names."""
    form = "'<project>/<path>.cwl', naming an installed step"
    if 'run' not in step:
        raise InvalidWorkflow(f"step '{step_id}' has no 'run'; it must be {form}")
    run = step['run']
    if isinstance(run, Mapping):
        raise InvalidWorkflow(
            f"step '{step_id}': inline tools and workflows are not allowed; 'run' must be {form}"
        )
    if not isinstance(run, str):
        raise InvalidWorkflow(f"step '{step_id}': 'run' must be {form}")
    if ':' in run:
        raise InvalidWorkflow(f"step '{step_id}': 'run' must be {form}, not a URL ({run!r})")
    if run.startswith('/'):
        raise InvalidWorkflow(
            f"step '{step_id}': 'run' must be {form}, not an absolute path ({run!r})"
        )
    parts = run.split('/')
    if '\\' in run or any(part in ('', '.', '..') for part in parts):
        raise InvalidWorkflow(
            f"step '{step_id}': 'run' value {run!r} is not a plain step name "
            f"(no '.', '..', empty parts or backslashes)"
        )
    if len(parts) < 2 or not run.endswith('.cwl'):
        raise InvalidWorkflow(f"step '{step_id}': 'run' value {run!r} must be {form}")
    if run not in catalogue:
        raise InvalidWorkflow(
            f"step '{step_id}': unknown step {run!r}; {_installed_list(catalogue)}"
        )
    return run


def _resources(
    doc: Mapping, steps: list, names: list, catalogue: Mapping, limit_classes: tuple
) -> tuple:
    """Cores: the most anything asks for. Time: the workflow's own limit.

    Step time limits are not used for the job: they limit one tool, and a
    short one would otherwise cut the whole job short.
    """
    cores = read_cores(doc, 'the workflow', InvalidWorkflow)
    for step_id, step in steps:
        cores = max(cores, read_cores(step, f"step '{step_id}'", InvalidWorkflow))
    for name in names:
        try:
            step_cores, _ = step_resources(catalogue[name], name)
        except ApiInstallError as error:
            raise InvalidWorkflow(
                f"{error} (a problem with the service's installed steps, "
                f'please tell its maintainers)'
            ) from None
        cores = max(cores, step_cores)
    time_limit = read_time_limit(doc, 'the workflow', InvalidWorkflow, classes=limit_classes)
    return cores, time_limit


def _drop_time_limits(node: dict, classes: tuple) -> None:
    """Remove the job's time limits (`classes`) from `node`'s requirements and hints.

    The service reads the limit and enforces it itself (through the batch
    scheduler, or the job script without one). Left in, cwltool would refuse
    the workflow: TimeLimit is no CWL class, and ToolTimeLimit does not exist
    in CWL v1.0. From v1.1 on, ToolTimeLimit stays: it limits each tool, and
    the runner enforces it.
    """
    for section in SECTIONS:
        value = node.get(section)
        if isinstance(value, dict):
            for cls in classes:
                value.pop(cls, None)
        elif isinstance(value, list):
            value[:] = [
                item
                for item in value
                if not (isinstance(item, Mapping) and item.get('class') in classes)
            ]


def api_url(remote_api_dir: str) -> str:
    """The `file://` URL of the installed API folder on the resource, ending in '/'.

    Every reference the rewritten workflow makes to an installed file is this
    URL and a path below it: a bare absolute path would be resolved against
    the document's base, which a hostile `id` could point at any server.
    """
    return 'file://' + urllib.request.pathname2url(remote_api_dir.rstrip('/') + '/')


def installed_url(remote_api_dir: str, name: str) -> str:
    """The `file://` URL of the installed copy of `<project>/<path>` on the resource."""
    project = name.split('/', 1)[0]
    return api_url(remote_api_dir) + urllib.request.pathname2url(f'{project}/steps/{name}')


def _check_installed_requirements(doc: Mapping, installed_files, remote_api_dir: str) -> None:
    """An installed file imported as a requirement or hint must hold type
    definitions (SchemaDefRequirement): anything else the specialisation ships
    (an EnvVarRequirement, a script) would change what the steps do."""
    by_copy = {
        installed_url(remote_api_dir, name): (name, cls)
        for name, cls in dict(installed_files).items()
    }
    nodes = [('the workflow', doc)] + [(f"step '{i}'", s) for i, s in _workflow_steps(doc)]
    for where, node in nodes:
        for section in SECTIONS:
            entries = node.get(section)
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, Mapping) and list(entry) == ['$import']:
                    name, cls = by_copy.get(entry['$import'], (entry['$import'], None))
                    if cls != 'SchemaDefRequirement':
                        raise InvalidWorkflow(
                            f"{where}: '{name}' may not be imported as one of the "
                            f"'{section}': an installed file imported there must hold "
                            f'a SchemaDefRequirement'
                        )


def plan_workflow(
    raw: bytes,
    catalogue: Mapping[str, dict],
    remote_api_dir: str,
    url: str = '',
    read: Optional[Reader] = None,
    work_dir: str = '',
    exists: Optional[Callable[[str], bool]] = None,
    installed_files: Mapping[str, Optional[str]] = _NO_FILES,
    javascript: bool = True,
) -> WorkflowPlan:
    """Check a submitted workflow and rewrite it to use the installed steps.

    `url` is where the workflow was read from: its `$import`s, `$include`s
    and relative File defaults resolve against it. `read(url)` reads what
    they name, or refuses; without it, references are refused. `work_dir`
    is the job's work dir on the resource, where File defaults are copied.
    `exists(url)` says whether a secondary file a pattern names is there to
    be staged beside a File default (without it, none is looked for).
    `installed_files` are the names (`<project>/<path>`) of the files that
    the specialisation installed with its steps, which a workflow may import.
    Without `javascript` (a configured cwl-runner, whose JavaScript the service
    cannot sandbox) a workflow may hold no JavaScript of its own.
    Raises InvalidWorkflow, with a message naming the step or key at fault,
    if the workflow could do anything other than run installed steps.
    """

    def installed_copy(name: str) -> Optional[str]:
        if name not in installed_files:
            return None
        return installed_url(remote_api_dir, name)

    doc, kept = expand_references(parse_cwl(raw), url, read or _refuse_references, installed_copy)
    _check_installed_requirements(doc, installed_files, remote_api_dir)
    if not isinstance(doc, dict):
        raise InvalidWorkflow('the workflow is not a CWL document once its imports are read')
    for _ in iter_nodes(doc):
        pass  # size and depth limits
    _check_class(doc)
    check_directives(doc, frozenset(kept))
    if not javascript:
        check_no_javascript(doc)
    check_requirements(doc, 'the workflow')
    steps = _workflow_steps(doc)
    for step_id, step in steps:
        check_requirements(step, f"step '{step_id}'")
    names = [_step_name(step_id, step, catalogue) for step_id, step in steps]
    limits: Tuple[str, ...] = TIME_LIMIT_CLASSES
    if doc.get('cwlVersion') not in _VERSIONS_WITHOUT_TOOL_TIME_LIMIT:
        limits = tuple(cls for cls in TIME_LIMIT_CLASSES if cls != 'ToolTimeLimit')
    cores, time_limit = _resources(doc, steps, names, catalogue, limits)

    rewritten = copy.deepcopy(doc)
    rewritten.setdefault('steps', [])  # CWL requires the field, even with no steps
    notes = drop_hints(rewritten, 'the workflow')
    _drop_time_limits(rewritten, limits)
    for (step_id, step), name in zip(_workflow_steps(rewritten), names):
        step['run'] = installed_url(remote_api_dir, name)
        notes += drop_hints(step, f"step '{step_id}'")
        _drop_time_limits(step, limits)
    check_content(rewritten)  # extension hints are gone by now
    patterns = secondary_patterns([doc] + [catalogue[name] for name in dict.fromkeys(names)])
    if exists is not None:
        rewritten = add_secondary_files(rewritten, patterns, exists, url)
    try:
        files = plan_defaults(rewritten, work_dir, url)
    except InvalidInput as error:
        raise InvalidWorkflow(str(error)) from None
    try:  # the last gate: what the runner loads names nothing outside the API
        check_self_contained(rewritten, api_url(remote_api_dir))
    except NotSelfContained as refused:
        raise InvalidWorkflow(str(refused)) from None
    try:
        content = json.dumps(rewritten, indent=2, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidWorkflow(
            f'the workflow contains values that cannot be written as JSON ({error})'
        ) from None
    return WorkflowPlan(
        content=content.encode('utf-8'),
        steps=tuple(dict.fromkeys(names)),
        cores=cores,
        time_limit=time_limit,
        notes=tuple(notes),
        files=tuple(files),
        secondary_files=tuple(patterns),
    )
