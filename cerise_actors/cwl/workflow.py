"""Checking a submitted workflow and rewriting it to run on the resource.

Users submit a CWL Workflow whose steps name installed steps
(``run: example/hostname.cwl``). Before it is sent to the compute resource we
make sure it can only run those steps (see :mod:`.checks` for what is
refused and why), point each ``run`` at the step's installed copy under the
remote API directory, and work out how many cores and how much time to ask
the scheduler for.
"""

import copy
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

import yaml

from ..errors import ApiInstallError, InvalidWorkflow
from .checks import check_content, check_directives, check_requirements, iter_nodes
from .resources import SECTIONS, TIME_LIMIT_CLASSES, read_cores, read_time_limit
from .steps import step_resources

MAX_LISTED_STEPS = 20


@dataclass(frozen=True)
class WorkflowPlan:
    """What the service needs to run a checked workflow."""

    content: bytes  # the rewritten workflow, serialised as JSON (utf-8)
    steps: tuple  # installed step names used, as written, in order
    cores: int  # 0 = not specified
    time_limit: int  # seconds, 0 = not specified


class _Loader(yaml.SafeLoader):
    """A safe YAML loader that reads scalars the way CWL (YAML 1.2) does.

    PyYAML follows YAML 1.1, where ``yes``/``no``/``on``/``off`` are booleans
    and dates become datetime objects; CWL runners read those as strings.
    Keeping them strings means the JSON we send says what the user wrote.
    """


class _FastLoader(getattr(yaml, 'CSafeLoader', yaml.SafeLoader)):
    """The same rules on libyaml's parser, where PyYAML has it: ten times faster,
    and every job's workflow is parsed. libyaml recurses in C without a limit,
    so a document that might nest deeply goes to _Loader, which stops at
    Python's recursion limit instead of overflowing the stack."""


#: above this bound on nesting, documents are read by the pure-Python parser
FAST_PARSER_MAX_DEPTH = 500


def _may_nest_deeply(text: str) -> bool:
    """A cheap upper bound on YAML nesting: a flow level needs a bracket, and a
    block level a column of indentation or an indicator on its line."""
    openers = text.count('[') + text.count('{')
    if openers > FAST_PARSER_MAX_DEPTH:
        return True
    longest = max(map(len, text.splitlines()), default=0)
    return openers + longest > FAST_PARSER_MAX_DEPTH


for _cls in (_Loader, _FastLoader):
    _cls.yaml_implicit_resolvers = {
        first: [
            (tag, regexp)
            for tag, regexp in resolvers
            if tag not in ('tag:yaml.org,2002:bool', 'tag:yaml.org,2002:timestamp')
        ]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _cls.add_implicit_resolver(
        'tag:yaml.org,2002:bool',
        re.compile(r'^(?:true|True|TRUE|false|False|FALSE)$'),
        list('tTfF'),
    )


def parse_cwl(raw: bytes) -> dict:
    """Parse a CWL document written as YAML or JSON into a dict.

    Raises InvalidWorkflow, quoting the parser's complaint and line, if the
    text does not parse or is not a mapping.
    """
    if isinstance(raw, str):
        text = raw
    else:
        try:
            text = bytes(raw).decode('utf-8-sig')
        except UnicodeDecodeError as error:
            raise InvalidWorkflow(f'the workflow is not UTF-8 text ({error})') from None
    document: Any = None
    parsed = False
    if text.lstrip().startswith('{'):
        try:
            document, parsed = json.loads(text), True
        except (ValueError, RecursionError):
            pass  # maybe YAML flow style; let the YAML parser explain
    if not parsed:
        try:
            loader = _Loader if _may_nest_deeply(text) else _FastLoader
            document = yaml.load(text, Loader=loader)  # noqa: S506 - safe loaders
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            where = (
                f' at line {mark.line + 1}, column {mark.column + 1}' if mark is not None else ''
            )
            problem = error.problem or error.context or 'syntax error'
            raise InvalidWorkflow(
                f'the workflow is not valid YAML or JSON: {problem}{where}'
            ) from None
        except yaml.YAMLError as error:
            raise InvalidWorkflow(f'the workflow is not valid YAML or JSON: {error}') from None
        except RecursionError:
            raise InvalidWorkflow('the workflow is nested too deeply to read') from None
    if document is None:
        raise InvalidWorkflow('the workflow is empty')
    if not isinstance(document, dict):
        raise InvalidWorkflow(
            f'the workflow is not a CWL document: expected a mapping at the '
            f'top level, found a {type(document).__name__}'
        )
    return document


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
    if not result:
        raise InvalidWorkflow('the workflow has no steps')
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


def _resources(doc: Mapping, steps: list, names: list, catalogue: Mapping) -> tuple:
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
    time_limit = read_time_limit(doc, 'the workflow', InvalidWorkflow)
    return cores, time_limit


def _drop_time_limits(node: dict) -> None:
    """Remove TimeLimit and ToolTimeLimit from `node`'s requirements and hints.

    The service reads the limit and enforces it itself (through the batch
    scheduler, or the job script without one). Left in, they would make
    cwltool refuse the workflow: TimeLimit is no CWL class, and ToolTimeLimit
    does not exist in CWL v1.0 or as a requirement of a workflow.
    """
    for section in SECTIONS:
        value = node.get(section)
        if isinstance(value, dict):
            for cls in TIME_LIMIT_CLASSES:
                value.pop(cls, None)
        elif isinstance(value, list):
            value[:] = [
                item
                for item in value
                if not (isinstance(item, Mapping) and item.get('class') in TIME_LIMIT_CLASSES)
            ]


def plan_workflow(raw: bytes, catalogue: Mapping[str, dict], remote_api_dir: str) -> WorkflowPlan:
    """Check a submitted workflow and rewrite it to use the installed steps.

    Raises InvalidWorkflow, with a message naming the step or key at fault,
    if the workflow could do anything other than run installed steps.
    """
    doc = parse_cwl(raw)
    for _ in iter_nodes(doc):
        pass  # size and depth limits
    _check_class(doc)
    check_directives(doc)
    check_requirements(doc, 'the workflow')
    steps = _workflow_steps(doc)
    for step_id, step in steps:
        check_requirements(step, f"step '{step_id}'")
    check_content(doc)
    names = [_step_name(step_id, step, catalogue) for step_id, step in steps]
    cores, time_limit = _resources(doc, steps, names, catalogue)

    rewritten = copy.deepcopy(doc)
    _drop_time_limits(rewritten)
    for (_, step), name in zip(_workflow_steps(rewritten), names):
        project = name.split('/', 1)[0]
        step['run'] = f'{remote_api_dir}/{project}/steps/{name}'
        _drop_time_limits(step)
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
    )
