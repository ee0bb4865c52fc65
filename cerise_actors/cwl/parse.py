"""Reading CWL text (YAML or JSON) into Python values, the way CWL means it.

Used for submitted workflows and for the documents they import. Bounded:
deeply nested text goes to the pure-Python parser, which stops at Python's
recursion limit instead of overflowing the C stack.
"""

import json
import re
from typing import Any

import yaml

from ..errors import InvalidWorkflow


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
    if text.lstrip().startswith('{'):
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            pass  # maybe YAML flow style; let the YAML parser explain
    try:
        loader = _Loader if _may_nest_deeply(text) else _FastLoader
        return yaml.load(text, Loader=loader)  # noqa: S506 - safe loaders
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
