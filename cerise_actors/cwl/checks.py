"""Scans of a submitted workflow document for things it may not contain.

The service promises that a user can only run the steps the specialisation
installed, and read only files in the exchange area. CWL has ways around
that promise: requirements that change how a tool runs (environment, shell,
containers, files placed in the working dir), extensions, and directives
that load schemas. Each scan below closes one of those doors and explains
itself in terms a user can act on. What cannot escape is allowed:
JavaScript (the runner evaluates it in a sandbox), inline type definitions,
hints the service cannot honour (dropped, with a note), `$import` and
`$include` of files in the exchange area (expanded by the service first, see
imports.py) and File defaults there (staged like inputs).
"""

from collections.abc import Mapping
from typing import Any, Iterator, List, Tuple

from ..boundary.workflow_policy import (
    ALLOWED_REQUIREMENTS,
    HARMLESS_DIRECTIVES,
    LOADING_DIRECTIVES,
    REFUSED_REQUIREMENTS,
)
from ..errors import InvalidWorkflow
from .resources import requirement_entries

__all__ = ['ALLOWED_REQUIREMENTS', 'HARMLESS_DIRECTIVES', 'LOADING_DIRECTIVES']

# The allow-lists live with the rest of the trust boundary (boundary/); the
# scans below explain each refusal in a user's terms. `$import` and `$include`
# are expanded before this check (imports.py), and `$namespaces` only declares
# prefixes; every other `$` key is refused: none belongs in a workflow a user
# writes.
_REASONS = REFUSED_REQUIREMENTS

# Guards against documents that are huge once YAML aliases are expanded, or
# nested deeply enough to exhaust recursion in later processing.
MAX_NODES = 100_000
MAX_DEPTH = 100


def describe(path: tuple) -> str:
    """Human-readable location of a node, e.g. ``steps.hello.in[0]``."""
    if not path:
        return 'the top level'
    text = ''
    for part in path:
        if isinstance(part, int):
            text += f'[{part}]'
        else:
            text += ('.' if text else '') + str(part)
    return f"'{text}'"


def iter_nodes(doc: Any) -> Iterator[tuple]:
    """Yield ``(path, node)`` for every node, parents before children.

    Iterative and bounded, so a hostile document fails with a clear message
    instead of exhausting memory or the recursion limit.
    """
    stack: List[Tuple[tuple, Any]] = [((), doc)]  # (path, node) still to visit
    count = 0
    while stack:
        path, node = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise InvalidWorkflow(f'the workflow is too large (more than {MAX_NODES} values)')
        if len(path) > MAX_DEPTH:
            raise InvalidWorkflow(
                f'the workflow is nested too deeply (more than {MAX_DEPTH} levels)'
            )
        yield path, node
        if isinstance(node, Mapping):
            children = [(path + (key,), value) for key, value in node.items()]
        elif isinstance(node, list):
            children = [(path + (i,), value) for i, value in enumerate(node)]
        else:
            continue
        stack.extend(reversed(children))


def check_directives(doc: Any, installed_imports: frozenset = frozenset()) -> None:
    """Refuse ``$import``, ``$include`` etc. anywhere in the document, but for
    `installed_imports`: ``$import``s of files installed with the steps."""
    for path, node in iter_nodes(doc):
        if not isinstance(node, Mapping):
            continue
        for key in node:
            if not isinstance(key, str) or not key.startswith('$'):
                continue
            if key in HARMLESS_DIRECTIVES:
                continue
            if key == '$import' and node[key] in installed_imports:
                continue
            if key in LOADING_DIRECTIVES:
                raise InvalidWorkflow(
                    f"the workflow uses '{key}' at {describe(path)}; "
                    f'loading schemas or other documents this way is not allowed '
                    f'(use $import or $include of a file next to the workflow)'
                )
            raise InvalidWorkflow(
                f"the workflow uses the directive '{key}' at "
                f"{describe(path)}; keys starting with '$' are not allowed"
            )


def _reason(cls: str) -> str:
    if cls in _REASONS:
        return _REASONS[cls]
    if ':' in cls or '#' in cls:
        return 'extensions could change how the installed steps run'
    return 'allowed are ' + ', '.join(sorted(ALLOWED_REQUIREMENTS))


def check_requirements(node: Mapping, where: str) -> None:
    """Refuse requirements outside the allowed set (hints: see drop_hints)."""
    for section, cls, _ in requirement_entries(node, where, InvalidWorkflow):
        if section == 'requirements' and cls not in ALLOWED_REQUIREMENTS:
            raise InvalidWorkflow(f"{where}: requirement '{cls}' is not allowed: {_reason(cls)}")


def drop_hints(node: dict, where: str) -> List[str]:
    """Remove the hints the service does not honour from `node`, in place.

    A hint is a wish, not a demand, and the runner would honour some of
    them (an environment variable, a container): they are dropped instead.
    Returns one note per hint, for the job log.
    """
    notes = []
    hints = node.get('hints')
    if isinstance(hints, dict):
        for cls in [c for c in hints if c not in ALLOWED_REQUIREMENTS]:
            del hints[cls]
            notes.append(f"{where}: ignored the hint '{cls}' ({_reason(cls)})")
    elif isinstance(hints, list):
        kept = []
        for item in hints:
            cls = item.get('class') if isinstance(item, Mapping) else None
            if cls in ALLOWED_REQUIREMENTS or (
                isinstance(item, Mapping) and list(item) == ['$import']
            ):
                kept.append(item)  # or an installed file's, imported (see imports.py)
            else:
                notes.append(f"{where}: ignored the hint '{cls}' ({_reason(str(cls))})")
        hints[:] = kept
    return notes


def check_content(doc: Any) -> None:
    """Refuse extensions, and file objects the service would not stage.

    * keys containing ``:``: namespaced or URI keys are CWL extensions
      (e.g. ``cwltool:...``), which could change how steps run.
    * objects with a location or path whose class is not plainly ``File``
      or ``Directory`` (``cwl:File``, the full URI): a runner reads them,
      but only plain File and Directory defaults are staged by the service
      from the exchange area (see cwl/inputs.py, plan_defaults).
    """
    for path, node in iter_nodes(doc):
        if not isinstance(node, Mapping):
            continue
        for key in node:
            if isinstance(key, str) and ':' in key:
                raise InvalidWorkflow(
                    f"the workflow has the key '{key}' at {describe(path)}; "
                    f'namespaced keys and extensions are not allowed'
                )
        if 'class' not in node or node['class'] in ('File', 'Directory'):
            continue
        for key in ('location', 'path'):
            if key in node:
                raise InvalidWorkflow(
                    f"the {node['class']} at {describe(path)} has a '{key}'; "
                    f'only objects of class File or Directory may name files'
                )


def check_no_javascript(doc: Any) -> None:
    """Refuse JavaScript of the workflow's own (InlineJavascriptRequirement, as
    a requirement or a hint, anywhere): a configured cwl-runner such as
    cwltool evaluates it in node, whose `vm` is no sandbox, so an expression
    could run any command there. Parameter references (`$(inputs.x)`) need no
    JavaScript and stay allowed; installed steps keep their own."""
    for path, node in iter_nodes(doc):
        if (
            isinstance(node, Mapping)
            and node.get('class') == 'InlineJavascriptRequirement'
            or (
                isinstance(node, Mapping)
                and path
                and path[-1] in ('requirements', 'hints')
                and 'InlineJavascriptRequirement' in node
            )
        ):
            raise InvalidWorkflow(
                f'the workflow uses JavaScript (InlineJavascriptRequirement at {describe(path)}); '
                f'this service runs its jobs with a configured cwl-runner, which cannot '
                f'evaluate JavaScript safely, so workflows may use parameter references '
                f'($(inputs.x)) but no JavaScript of their own'
            )
