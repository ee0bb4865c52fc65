"""Scans of a submitted workflow document for things it may not contain.

The service promises that a user can only run the steps the specialisation
installed. CWL has many ways around that promise: loading other documents
(``$import`` and friends), JavaScript, requirements that change how a tool
runs (environment, shell, containers, files placed in the working dir),
extensions, and File defaults that point at files on the service or the
compute resource. Each scan below closes one of those doors and explains
itself in terms a user can act on.
"""

from typing import Any, Iterator, Mapping

from ..errors import InvalidWorkflow
from .resources import requirement_entries

# Schema-salad directives that pull in other files or URLs, or change how
# names resolve. Every other ``$`` key is refused too: none belongs in a
# workflow a user writes.
LOADING_DIRECTIVES = ('$import', '$include', '$mixin', '$schemas', '$namespaces', '$base', '$graph')

ALLOWED_REQUIREMENTS = frozenset(
    {
        'ScatterFeatureRequirement',
        'MultipleInputFeatureRequirement',
        'StepInputExpressionRequirement',
        'SubworkflowFeatureRequirement',
        'ResourceRequirement',
        'LoadListingRequirement',
        'WorkReuse',
        'NetworkAccess',
        'TimeLimit',
        'ToolTimeLimit',
    }
)

_REASONS = {
    'InlineJavascriptRequirement': 'JavaScript expressions would run user code on the compute resource',
    'EnvVarRequirement': 'setting environment variables could change what the installed steps run',
    'ShellCommandRequirement': 'it would let the workflow run shell commands',
    'InitialWorkDirRequirement': "it could place arbitrary files in a step's working directory",
    'DockerRequirement': 'steps run with the software the service installed, not in a '
    'container of your choice',
    'SoftwareRequirement': 'steps run with the software the service installed',
    'SchemaDefRequirement': 'it can load type definitions from other files',
}

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
    stack = [((), doc)]
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


def check_directives(doc: Any) -> None:
    """Refuse ``$import``, ``$include`` etc. anywhere in the document."""
    for path, node in iter_nodes(doc):
        if not isinstance(node, Mapping):
            continue
        for key in node:
            if not isinstance(key, str) or not key.startswith('$'):
                continue
            if key in LOADING_DIRECTIVES:
                raise InvalidWorkflow(
                    f"the workflow uses '{key}' at {describe(path)}; "
                    f'loading other documents, files or URLs is not allowed'
                )
            raise InvalidWorkflow(
                f"the workflow uses the directive '{key}' at "
                f"{describe(path)}; keys starting with '$' are not allowed"
            )


def check_requirements(node: Mapping, where: str) -> None:
    """Refuse requirements and hints outside the allowed set."""
    for section, cls, _ in requirement_entries(node, where, InvalidWorkflow):
        if cls in ALLOWED_REQUIREMENTS:
            continue
        kind = 'requirement' if section == 'requirements' else 'hint'
        if cls in _REASONS:
            reason = _REASONS[cls]
        elif ':' in cls or '#' in cls:
            reason = 'extensions could change how the installed steps run'
        else:
            reason = 'allowed are ' + ', '.join(sorted(ALLOWED_REQUIREMENTS))
        raise InvalidWorkflow(f"{where}: {kind} '{cls}' is not allowed: {reason}")


def _is_documentation(path: tuple) -> bool:
    """True for the text of ``doc`` and ``label``, which is never evaluated."""
    if not path:
        return False
    if path[-1] in ('doc', 'label'):
        return True
    return len(path) >= 2 and path[-2] == 'doc' and isinstance(path[-1], int)


def check_content(doc: Any) -> None:
    """Refuse JavaScript, extensions and files pointing outside the job.

    * ``expressionLib`` anywhere, and ``${`` (a JavaScript function body) in
      any string except documentation. Parameter references such as
      ``$(inputs.x)`` are evaluated without JavaScript and are fine.
    * keys containing ``:``: namespaced or URI keys are CWL extensions
      (e.g. ``cwltool:...``), which could change how steps run.
    * File or Directory objects with a ``location`` or ``path``: a default
      like that would read a file on the service or the compute resource.
      Literals with ``contents`` are fine. Any object with a ``class`` counts,
      since runners also accept ``class: cwl:File`` or the full URI.
    """
    for path, node in iter_nodes(doc):
        if isinstance(node, str):
            if '${' in node and not _is_documentation(path):
                raise InvalidWorkflow(
                    f'{describe(path)} contains a JavaScript expression '
                    f"('${{...}}'), which is not allowed; use a parameter "
                    f'reference such as $(inputs.x) instead'
                )
            continue
        if not isinstance(node, Mapping):
            continue
        for key in node:
            if key == 'expressionLib':
                raise InvalidWorkflow(
                    f"the workflow has an 'expressionLib' at "
                    f'{describe(path)}; JavaScript is not allowed'
                )
            if isinstance(key, str) and ':' in key:
                raise InvalidWorkflow(
                    f"the workflow has the key '{key}' at {describe(path)}; "
                    f'namespaced keys and extensions are not allowed'
                )
        # Any class, not just 'File': runners also accept spellings such as
        # 'cwl:File' or the full URI, and nothing else has a location.
        if 'class' not in node:
            continue
        for key in ('location', 'path'):
            if key in node:
                raise InvalidWorkflow(
                    f"the {node['class']} at {describe(path)} has a '{key}'; "
                    f'a workflow may not refer to files on the service or '
                    f'the compute resource. Pass files as workflow inputs, '
                    f"or give a literal with 'contents'"
                )
