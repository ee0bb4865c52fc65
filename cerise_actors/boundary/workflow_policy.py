"""What a submitted workflow may contain, and what the runner may be handed.

The allow-lists are read by the service's check of a user's workflow
(`cwl/checks.py`, which explains each refusal in a user's terms). The last
gate, `check_self_contained`, looks at the workflow as the service rewrote
it, the very document the runner will load, and refuses anything that
names a base, a schema, a document or a step outside the installed API:

- no `$` directive but `$namespaces` at the top level (plain prefixes
  naming http(s) URLs, never fetched; no prefix that is a scheme such as
  `file`, which would change what every `file:///` of the document means)
  and `$import` of a file under the installed steps;
- no `id` (or key of a map of ids), and no `name` of a type or field,
  that is an absolute URL or path, so no relative name can be resolved
  against an attacker's base, and no type can stand for an installed one;
- every step's `run` is a `file://` URL below the installed steps.

A document this check cannot walk (an unexpected type, a cycle, anything
that raises) is refused: the check fails closed. Standard library only.
"""

import re
from typing import Any, Iterator, List, Tuple, Union

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
        'InlineJavascriptRequirement',  # evaluated in the runner's sandbox
        'SchemaDefRequirement',  # inline types; imports were expanded first
    }
)

#: why a requirement that is not allowed is refused, for the job log
REFUSED_REQUIREMENTS = {
    'EnvVarRequirement': 'setting environment variables could change what the installed steps run',
    'ShellCommandRequirement': 'it would let the workflow run shell commands',
    'InitialWorkDirRequirement': "it could place arbitrary files in a step's working directory",
    'DockerRequirement': 'steps run with the software the service installed, not in a '
    'container of your choice',
    'SoftwareRequirement': 'steps run with the software the service installed',
}

#: schema-salad directives that pull in documents or change how names resolve;
#: `$import` and `$include` are expanded by the service before the runner sees
#: the workflow, except `$import`s of installed files
LOADING_DIRECTIVES = ('$import', '$include', '$mixin', '$schemas', '$base', '$graph')
#: declares prefixes only: nothing is fetched for it
HARMLESS_DIRECTIVES = ('$namespaces',)

#: fields whose map form uses its keys as ids
_ID_MAPS = ('steps', 'inputs', 'outputs', 'in', 'out', 'fields')
#: `scheme:` at the start of a reference: an absolute URL (or a prefixed name)
_SCHEME = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*:')
#: a namespace prefix: a plain name
_PREFIX = re.compile(r'^[A-Za-z][A-Za-z0-9_.-]*$')
#: prefixes a workflow may not declare: URL schemes (whose meaning a prefix of
#: the same name would replace) and the prefixes of CWL's own schema
RESERVED_PREFIXES = frozenset(
    {'file', 'http', 'https', 'ftp', 'ftps', 'data', 's3', 'gs', 'keep', 'urn', 'mailto',
     'cwl', 'sld', 'dct', 'rdf', 'rdfs', 'xsd', 'owl', 'sh', 'cwltool', 'arv'}
)  # fmt: skip
#: bounds of the walk, as for a submitted document (cwl/checks.py)
MAX_NODES = 200_000
MAX_DEPTH = 200

#: where a node is in a document: the keys and list places that lead to it
NodePath = Tuple[Union[str, int], ...]


class NotSelfContained(ValueError):
    """The rewritten workflow names something outside the installed API."""


def is_absolute_reference(text: str) -> bool:
    """Whether a name would not be resolved against the document's own base:
    a URL or prefixed name (`scheme:`), an absolute path, or `//host`."""
    return bool(_SCHEME.match(text)) or text.startswith('/') or text.startswith('\\')


def is_plain_reference(text: str) -> bool:
    """Whether an id or name is plain, and so resolved below the document's
    own base and nowhere else: an allow-list, not a list of what is refused.
    No `:` (no scheme, no prefix), no `..` segment, no leading `/` or
    backslash, and no white space or control character at either end or
    within (URL parsers strip leading white space: `\thttp://...` is a URL
    to them, though its text does not start with a scheme)."""
    return (
        isinstance(text, str)
        and ':' not in text
        and '\\' not in text
        and not text.startswith('/')
        and text == text.strip()
        and all(char.isprintable() for char in text)
        and '..' not in re.split('[/#]', text)
    )


def below(url: str, prefix: str) -> bool:
    """Whether `url` lies below the URL folder `prefix` (ending in '/'), with
    no dot segment, encoded dot, backslash, query or fragment to lead it out."""
    if not prefix.endswith('/') or not url.startswith(prefix):
        return False
    rest = url[len(prefix) :]
    if any(char in rest for char in '\\?#\x00') or '%2e' in rest.lower() or '%2f' in rest.lower():
        return False
    return all(part not in ('', '.', '..') for part in rest.split('/'))


def _walk(doc: Any) -> Iterator[Tuple[NodePath, Any]]:
    """(path, node) for every node, iteratively and bounded; refuses
    anything that is not a JSON value."""
    stack: List[Tuple[NodePath, Any]] = [((), doc)]
    count = 0
    while stack:
        path, node = stack.pop()
        count += 1
        if count > MAX_NODES or len(path) > MAX_DEPTH:
            raise NotSelfContained('the workflow is too large or too deeply nested')
        if isinstance(node, dict):
            for key in node:
                if not isinstance(key, str):
                    raise NotSelfContained(f'a key at {_where(path)} is not a string')
            stack.extend((path + (key,), value) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((path + (i,), value) for i, value in enumerate(node))
        elif node is not None and not isinstance(node, (str, bool, int, float)):
            raise NotSelfContained(f'{_where(path)} holds a {type(node).__name__}')
        yield path, node


def _where(path: NodePath) -> str:
    return "'" + '.'.join(str(part) for part in path) + "'" if path else 'the top level'


def _check_namespaces(value: Any) -> None:
    """A prefix is expanded wherever a name starts with it: `file:` mapped to
    an attacker's URL turned every `run: file:///...` of the rewritten
    workflow into that URL, though its text still read `file:///`. So a prefix
    may be a plain name, never a scheme or one of CWL's own prefixes, and
    expands to an http(s) URL (the name of an ontology, never fetched)."""
    if not isinstance(value, dict):
        raise NotSelfContained("'$namespaces' must map prefixes to URLs")
    for prefix, url in value.items():
        if not (isinstance(prefix, str) and _PREFIX.match(prefix)):
            raise NotSelfContained(f'the namespace prefix {str(prefix)[:50]!r} is not a plain name')
        if prefix.lower() in RESERVED_PREFIXES:
            raise NotSelfContained(
                f"the namespace prefix '{prefix}' may not be declared: it would change what "
                f"'{prefix}:' means in the workflow (a scheme or one of CWL's own prefixes)"
            )
        if not (isinstance(url, str) and url.lower().startswith(('http://', 'https://'))):
            raise NotSelfContained(
                f"the namespace '{prefix}' must be an http(s) URL (it names, it is not fetched)"
            )


def _check_directive(path: NodePath, key: str, value: Any, steps_prefix: str) -> None:
    if key == '$namespaces' and path == ():
        _check_namespaces(value)
        return
    if key == '$import' and isinstance(value, str) and below(value, steps_prefix):
        return
    raise NotSelfContained(
        f"'{key}' at {_where(path)} may not be handed to the runner: "
        f'only imports of installed files are'
    )


def _check_run(path: NodePath, step: Any, steps_prefix: str) -> None:
    if not isinstance(step, dict):
        raise NotSelfContained(f'the step at {_where(path)} is not an object')
    run = step.get('run')
    if not (isinstance(run, str) and below(run, steps_prefix) and run.endswith('.cwl')):
        raise NotSelfContained(
            f'the step at {_where(path)} runs {str(run)[:200]!r}, not an installed step'
        )


def check_self_contained(doc: Any, steps_prefix: str) -> None:
    """Raise NotSelfContained unless the rewritten workflow `doc` names no
    base, schema, document or step outside `steps_prefix` (the `file://` URL
    of the installed API folder, ending in '/'). Fails closed."""
    try:
        _check(doc, steps_prefix)
    except NotSelfContained:
        raise
    except Exception as exc:  # noqa: BLE001 - a check that cannot decide refuses
        raise NotSelfContained(
            f'the workflow could not be checked ({type(exc).__name__})'
        ) from None


def _check(doc: Any, steps_prefix: str) -> None:
    if not steps_prefix.startswith('file:///') or not steps_prefix.endswith('/'):
        raise NotSelfContained(f'the installed steps are not a file URL folder: {steps_prefix!r}')
    if not isinstance(doc, dict) or doc.get('class') != 'Workflow':
        raise NotSelfContained('the document is not a Workflow')
    steps = doc.get('steps')
    if isinstance(steps, dict):
        for name, step in steps.items():
            _check_run(('steps', name), step, steps_prefix)
    elif isinstance(steps, list):
        for number, step in enumerate(steps):
            _check_run(('steps', number), step, steps_prefix)
    elif steps is not None:
        raise NotSelfContained("'steps' is neither a list nor a map")
    for path, node in _walk(doc):
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key.startswith('$'):
                _check_directive(path, key, value, steps_prefix)
            elif ':' in key and path != ('$namespaces',):
                # cwl:tool with cwltool:overrides made cwltool read the workflow as a
                # job order and give an installed step an EnvVarRequirement
                raise NotSelfContained(
                    f'the key {key[:100]!r} at {_where(path)} is an extension or directive '
                    f'for the runner; namespaced keys are not allowed'
                )
            elif key == 'id' and not isinstance(value, str):
                raise NotSelfContained(f'the id at {_where(path)} is not a string')
            elif key == 'id' and not is_plain_reference(value):
                raise NotSelfContained(
                    f'the id {value[:200]!r} at {_where(path)} is an absolute URL or path; '
                    f'ids must be plain names (no scheme or prefix, no .., no white space)'
                )
            elif (
                key == 'name'
                and 'type' in node
                and isinstance(value, str)
                and not is_plain_reference(value)
            ):  # a type's name as a URL could stand for an installed step's own type
                raise NotSelfContained(
                    f'the name {value[:200]!r} at {_where(path)} is an absolute URL or path; '
                    f'type and field names must be plain'
                )
        for field in _ID_MAPS:
            names = node.get(field)
            if isinstance(names, dict):
                for name in names:
                    if not is_plain_reference(name):
                        raise NotSelfContained(
                            f"the name {name[:200]!r} in '{field}' at {_where(path)} is an "
                            f'absolute URL or path; names must be plain'
                        )
