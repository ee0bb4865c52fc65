"""Reading CWL text (YAML or JSON) into Python values, the way CWL means it.

Used for submitted workflows and for the documents they import. Bounded:
the parser's events are counted first, so a document with too many nodes
or too deep a nesting is refused before anything is built.

Strict: a user's document may hold only the values of YAML's core schema
(maps, lists, strings, numbers, booleans, null). Any explicit tag
(`!!binary`, `!!set`, `!!python/...`, a custom `!tag`, even `!!str`) is
refused with its line and column, before anything is built. A tag turns a
value into something no CWL document holds (bytes, a set), and every later
check would have to be ready for it; one of them was not, and let a job
through unchecked (issue 18).
"""

import json
import re
from typing import TYPE_CHECKING, Any

import yaml

from ..errors import InvalidWorkflow
from .checks import MAX_DEPTH, MAX_NODES

if TYPE_CHECKING:  # both have what _Loader changes: its resolvers and constructors
    _SafeLoader = yaml.SafeLoader
else:  # libyaml's, where PyYAML has it
    _SafeLoader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)


class _Loader(_SafeLoader):
    """A safe YAML loader, on libyaml's parser where PyYAML has it (ten times
    faster, and every job's workflow is parsed), that reads scalars the way
    CWL (YAML 1.2) does.

    PyYAML follows YAML 1.1, where ``yes``/``no``/``on``/``off`` are booleans
    and dates become datetime objects; CWL runners read those as strings.
    Keeping them strings means the JSON we send says what the user wrote.
    libyaml builds documents recursively in C without a limit; nesting is
    bounded before that by `_check_shape`.
    """


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag
        not in ('tag:yaml.org,2002:bool', 'tag:yaml.org,2002:timestamp', 'tag:yaml.org,2002:value')
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
#: the core schema's constructors, and nothing else: a tag the event check
#: below missed would still build no bytes, set or object
_CORE_TAGS = ('null', 'bool', 'int', 'float', 'str', 'seq', 'map')
_Loader.yaml_constructors = {
    f'tag:yaml.org,2002:{name}': yaml.SafeLoader.yaml_constructors[f'tag:yaml.org,2002:{name}']
    for name in _CORE_TAGS
}


def _refuse_unknown_tag(loader, node):
    raise yaml.constructor.ConstructorError(
        None, None, f'the tag {node.tag!r} is not allowed', node.start_mark
    )


_Loader.add_constructor(None, _refuse_unknown_tag)
_Loader.add_implicit_resolver(
    'tag:yaml.org,2002:bool',
    re.compile(r'^(?:true|True|TRUE|false|False|FALSE)$'),
    list('tTfF'),
)


#: parser events that are one node each (keys count too, so the bound is doubled)
_NODE_EVENTS = (yaml.ScalarEvent, yaml.AliasEvent)
_OPEN_EVENTS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE_EVENTS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _check_shape(text: str, what: str) -> None:
    """Refuse a document with too many nodes or too deep a nesting from the
    parser's events, before anything is built: building a 16 MiB document
    first cost gigabytes. A key and its value are two events, so the node
    bound here is twice the one iter_nodes (checks.py) applies to values."""
    nodes = depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if getattr(event, 'tag', None) is not None:
                _refuse_tag(event, what)
            if isinstance(event, _NODE_EVENTS):
                nodes += 1
            elif isinstance(event, _OPEN_EVENTS):
                nodes += 1
                depth += 1
                if depth > MAX_DEPTH:
                    raise InvalidWorkflow(
                        f'{what} is nested too deeply (more than {MAX_DEPTH} levels)'
                    )
            elif isinstance(event, _CLOSE_EVENTS):
                depth -= 1
            if nodes > 2 * MAX_NODES:
                raise InvalidWorkflow(f'{what} is too large (more than {MAX_NODES} values)')
    except yaml.YAMLError:
        return  # not YAML: the loaders below say why, or read it as JSON


def _refuse_tag(event, what: str) -> None:
    mark = event.start_mark
    tag = event.tag.replace('tag:yaml.org,2002:', '!!')
    raise InvalidWorkflow(
        f'{what} has the YAML tag {tag!r} at line {mark.line + 1}, column '
        f'{mark.column + 1}; tags are not allowed: write plain values (maps, lists, '
        f'strings, numbers, true/false, null)'
    )


def load_cwl_text(raw, what: str = 'the workflow') -> Any:
    """Parse YAML or JSON text (bytes or str) into Python values, as CWL reads it.

    Raises InvalidWorkflow, naming `what` and quoting the parser's complaint
    and line, if the text does not parse.
    """
    if isinstance(raw, str):
        text = raw
    else:
        try:
            text = bytes(raw).decode('utf-8-sig')
        except UnicodeDecodeError as error:
            raise InvalidWorkflow(f'{what} is not UTF-8 text ({error})') from None
    _check_shape(text, what)
    if text.lstrip().startswith('{'):
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            pass  # maybe YAML flow style; let the YAML parser explain
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f' at line {mark.line + 1}, column {mark.column + 1}' if mark is not None else ''
        problem = error.problem or error.context or 'syntax error'
        raise InvalidWorkflow(f'{what} is not valid YAML or JSON: {problem}{where}') from None
    except yaml.YAMLError as error:
        raise InvalidWorkflow(f'{what} is not valid YAML or JSON: {error}') from None
    except RecursionError:
        raise InvalidWorkflow(f'{what} is nested too deeply to read') from None


def parse_cwl(raw) -> dict:
    """Parse a CWL document written as YAML or JSON into a dict.

    Raises InvalidWorkflow, quoting the parser's complaint and line, if the
    text does not parse or is not a mapping.
    """
    document = load_cwl_text(raw)
    if document is None:
        raise InvalidWorkflow('the workflow is empty')
    if not isinstance(document, dict):
        raise InvalidWorkflow(
            f'the workflow is not a CWL document: expected a mapping at the '
            f'top level, found a {type(document).__name__}'
        )
    return document
