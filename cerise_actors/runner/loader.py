"""A runner that loads nothing it was not given, and runs only installed steps.

The service checks and rewrites every workflow before the runner sees it,
but the promise (only installed steps run, nothing is fetched) must not rest
on that check alone: one check that failed open once let a workflow's `id`
turn a step's path into an attacker's URL (issue 18). So the runner, handed
any document whatsoever, holds the same line by itself. With `--steps DIR`
(the installed API) and `--root DIR` (the job's folder):

- `check_workflow_file`: the workflow it is handed must be the service's
  rewritten JSON, self-contained (`workflow_policy.check_self_contained`:
  no absolute id, no `$base`/`$schemas`, every `run:` a `file://` URL of an
  installed step) with only allowed requirements and hints; and
  `check_job_order`: its input object, like its defaults, may name only
  files of the job, with plain basenames;
- `ConfinedFetcher`: schema-salad reads documents only from `file://` URLs
  inside the installed API, or directly in the job's folder (the workflow
  and the input object), never over the network;
- `confined_resolver`: a name resolves only to such a local file (cwltool's
  default would also ask a GA4GH tool registry over HTTPS);
- `guarded_make_tool`: every process cwltool builds comes from a file of the
  installed API, except the top-level Workflow itself: an inline tool, or a
  tool from the job's own files, is refused before it can run.

What expressions return and what cwltool reads is confined in confine.py.
"""

import json
import os
import urllib.parse
import urllib.request
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    List,
    NoReturn,
    Optional,
    Sequence,
    Tuple,
    TypedDict,
)

from . import confine

if TYPE_CHECKING:  # mypy checks the package, where the boundary is
    from ..boundary import locations, workflow_policy
else:
    try:  # inside the service's package
        from ..boundary import locations, workflow_policy
    except ImportError:  # deployed alone as cerise_runner: copies shipped beside it
        from . import _locations as locations
        from . import _workflow_policy as workflow_policy


class Confinement:
    """The folders of one run: the installed steps, and the job's own folder."""

    def __init__(self, steps: Sequence[str], roots: Sequence[str]):
        self.steps = tuple(os.path.realpath(p) for p in steps)
        self.roots = tuple(os.path.realpath(p) for p in roots) + self.steps
        #: `file://` URLs of the installed API, as the service wrote them in `run:`
        self.step_urls = tuple(_folder_url(p) for p in steps)

    def document_path(self, url: str) -> Optional[str]:
        """The local file a document URL names, if the runner may read it:
        inside the installed steps, or directly in the job's folder."""
        try:
            path = locations.local_path(urllib.parse.urldefrag(url)[0])
        except ValueError:
            return None
        if path is None:
            return None
        if locations.inside(path, self.steps):
            return path
        parent = os.path.dirname(os.path.realpath(path))
        return path if parent in self.roots else None

    def is_installed(self, url: str) -> bool:
        """Whether a process id names a file of the installed steps."""
        try:
            path = locations.local_path(urllib.parse.urldefrag(url)[0])
        except ValueError:
            return False
        return path is not None and locations.inside(path, self.steps)


def _folder_url(path: str) -> str:
    return 'file://' + urllib.request.pathname2url(path.rstrip('/') + '/')


class Refused(Exception):
    """The runner was handed something it will not load or run."""


def check_workflow_file(path: str, confinement: Confinement) -> None:
    """Refuse a workflow document that is not a self-contained rewritten
    workflow of installed steps with allowed requirements. Fails closed."""
    try:
        with open(path, encoding='utf-8') as stream:
            doc = json.load(stream)
    except (OSError, ValueError) as exc:
        raise Refused(f"{path}: not the service's rewritten workflow ({exc})") from None
    problems = []
    for prefix in confinement.step_urls:
        try:
            workflow_policy.check_self_contained(doc, prefix)
            break
        except workflow_policy.NotSelfContained as exc:
            problems.append(str(exc))
    else:
        raise Refused(problems[0] if problems else 'no installed steps were given')
    try:  # File and Directory defaults: only the job's files, plain basenames
        confine.check_files(doc, confinement.roots)
    except ValueError as exc:
        raise Refused(f'the workflow: {exc}') from None
    nodes = [doc] + _steps(doc)
    for node in nodes:
        for cls in _classes(node):
            if cls not in workflow_policy.ALLOWED_REQUIREMENTS:
                raise Refused(f"the requirement or hint '{cls}' is not allowed")


def check_job_order(path: str, confinement: Confinement) -> None:
    """Refuse an input object naming a File or Directory outside the job, or
    with a basename that is not a plain name. Fails closed."""
    try:
        with open(path, encoding='utf-8') as stream:
            job = json.load(stream)
        _check_keys(job)
        confine.check_files(job, confinement.roots)
    except (OSError, ValueError) as exc:
        raise Refused(f'the input object {path}: {exc}') from None


def _check_keys(job: Any) -> None:
    """No key starting with '$' or holding ':' at any depth: `cwltool:overrides`
    or `cwl:requirements` in an input object add requirements (an environment
    variable, say) that no allow-list ever saw, and `$import` loads a file."""
    stack = [job]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if not isinstance(key, str) or key.startswith('$') or ':' in key:
                    raise ValueError(
                        f'the key {str(key)[:100]!r} is a directive or extension for the '
                        f'runner, which an input object may not hold'
                    )
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)


def _steps(doc: dict) -> list:
    steps = doc.get('steps')
    return list(steps.values() if isinstance(steps, dict) else steps or [])


def _classes(node: Any) -> list:
    """The classes of a node's requirements and hints (list or map form);
    an `$import` of an installed file counts as a type definition."""
    found: List[str] = []
    for section in ('requirements', 'hints'):
        value = node.get(section) if isinstance(node, dict) else None
        if isinstance(value, dict):
            found.extend(str(key) for key in value)
        elif isinstance(value, list):
            for entry in value:
                if isinstance(entry, dict) and list(entry) == ['$import']:
                    found.append('SchemaDefRequirement')  # checked below the steps above
                else:
                    found.append(str(entry.get('class')) if isinstance(entry, dict) else '?')
        elif value is not None:
            found.append('?')
    return found


def fetcher_class(confinement: Confinement, refused: Callable[[str], Exception]) -> type:
    """A schema-salad Fetcher that reads only documents `confinement` allows."""
    from schema_salad.fetcher import DefaultFetcher

    class ConfinedFetcher(DefaultFetcher):
        def fetch_text(self, url: str, content_types: Optional[list] = None) -> str:
            path = confinement.document_path(url)
            if path is None:
                raise refused(
                    f"{url}: the runner reads only the installed steps and the job's "
                    f'own workflow and input'
                )
            with open(path, encoding='utf-8') as stream:
                return stream.read()

        def check_exists(self, url: str) -> bool:
            path = confinement.document_path(url)
            return path is not None and os.path.isfile(path)

    return ConfinedFetcher


def confined_resolver(confinement: Confinement) -> Callable[[Any, str], Optional[str]]:
    """cwltool's resolver: a local file the confinement allows, or nothing."""

    def resolve(document_loader: Any, uri: str) -> Optional[str]:
        path_part, fragment = urllib.parse.urldefrag(uri)
        if locations.scheme_of(path_part) not in ('', 'file'):
            return None
        url = path_part if path_part.startswith('file:') else _file_url(path_part)
        path = confinement.document_path(url)
        if path is None or not os.path.isfile(path):
            return None
        resolved = 'file://' + urllib.request.pathname2url(os.path.realpath(path))
        return f'{resolved}#{fragment}' if fragment else resolved

    return resolve


def _file_url(path: str) -> str:
    return 'file://' + urllib.request.pathname2url(os.path.abspath(path))


class _Building(TypedDict):
    """What guarded_make_tool follows: the top-level Workflow's id, once it is
    built, and for each process being built, whether it is installed."""

    top: Optional[str]
    building: List[bool]


def guarded_make_tool(
    confinement: Confinement, make_tool: Callable[..., Any], refused: Callable[[str], Exception]
) -> Callable[..., Any]:
    """`make_tool`, refusing every process but the top-level Workflow, those
    defined in files of the installed steps, and those inline in an installed
    step (an installed workflow may embed its own tools). The process being
    built is tracked: cwltool builds a workflow's steps while it builds it."""
    state: _Building = {'top': None, 'building': []}

    def make(toolpath_object: Any, loading_context: Any) -> Any:
        uri = str(toolpath_object.get('id', '')) if hasattr(toolpath_object, 'get') else ''
        cls = toolpath_object.get('class') if hasattr(toolpath_object, 'get') else None
        within_installed = any(state['building'])
        installed = within_installed or confinement.is_installed(uri)
        if not installed:
            if state['top'] is not None or state['building'] or cls != 'Workflow':
                raise refused(
                    f'{uri or "an inline process"} ({cls}) is not an installed step; '
                    f'only installed steps may run'
                )
            state['top'] = uri
        state['building'].append(installed)
        try:
            return make_tool(toolpath_object, loading_context)
        finally:
            state['building'].pop()

    return make


def loading_context(args: Any, confinement: Confinement) -> Tuple[Any, Any]:
    """cwltool's LoadingContext for `args`, confined; and the error class used."""
    from cwltool.context import LoadingContext
    from cwltool.errors import WorkflowException
    from cwltool.workflow import default_make_tool
    from schema_salad.exceptions import ValidationException

    context = LoadingContext(vars(args))
    context.overrides_list = []  # never from the command line nor the input object
    context.fetcher_constructor = fetcher_class(confinement, ValidationException)
    context.resolver = confined_resolver(confinement)
    # a refusal is a validation error: cwltool then says "Tool definition failed
    # validation", which the service reports as the user's PermanentFailure
    context.construct_tool_object = guarded_make_tool(
        confinement, default_make_tool, ValidationException
    )
    return context, WorkflowException


def no_downloads() -> None:
    """cwltool downloads http(s) Files itself; a confined runner never does."""
    import cwltool.pathmapper
    import cwltool.utils
    from cwltool.errors import WorkflowException

    def refuse(httpurl: str, *args: Any, **kwargs: Any) -> NoReturn:
        raise WorkflowException(f'{httpurl}: the runner does not download files; inputs are staged')

    cwltool.utils.downloadHttpFile = refuse
    cwltool.pathmapper.downloadHttpFile = refuse
