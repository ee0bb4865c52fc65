"""The one place where bash is put together from values: templates and `render`.

The scripts the service runs on a resource (the job script, and each
scheduler's submit, poll and cancel commands) are files of bash beside this
module (`scripts/`), so a shell linter reads them as bash (tests/unit/
test_shell_templates.py runs shellcheck on every rendered variant), and the
values they need are put in here and nowhere else, so no path, id or name
reaches bash unquoted. A template holds placeholders (`{{name}}`) and
sections (`{{#name}}` ... `{{/name}}`, kept when the value is True, and
`{{^name}}` ... `{{/name}}`, kept when it is False; their tags stand on
lines of their own). A value is rendered by its type:

- `str`: one shell word, always quoted (shlex.quote), whatever it holds;
- a list or tuple of str: that many quoted words, separated by spaces (an argv);
- `int`: its digits;
- `Raw`: a bash fragment the code built itself (a command line rendered from
  another template, directive lines), inserted as it is.

Rendering fails closed: a placeholder without a value, a value no
placeholder uses, a value of another type, a malformed tag or a section left
open raises TemplateError, so a broken script is never produced. Every
placeholder needs its value even inside a section that is left out, which
keeps each call's set of names fixed and checked. psij-python renders its
scripts with mustache; this is the little of it we need, without a library.
"""

import dataclasses
import functools
import importlib.resources
import re
import shlex
from typing import TYPE_CHECKING, FrozenSet, List, Mapping, Tuple, Union

if TYPE_CHECKING:
    from importlib.abc import Traversable


class TemplateError(ValueError):
    """A template or its values would not make the script it stands for."""


@dataclasses.dataclass(frozen=True)
class Raw:
    """Bash the code built itself (never a value from outside), put in as is."""

    text: str


Value = Union[str, int, Raw, List[str], Tuple[str, ...]]

_NAME = r'[a-z][a-z0-9_]*'
_TAG = re.compile(r'\{\{([#^/]?)(' + _NAME + r')\}\}')
_SECTION = re.compile(r'^\{\{([#^])(' + _NAME + r')\}\}\n(.*?)^\{\{/\2\}\}\n', re.M | re.S)


class Template:
    """A template checked once, when it is made; `render` fills it in."""

    def __init__(self, text: str, name: str = 'inline template'):
        self.name = name
        self._text = text
        placeholders, sections = _check(text, name)
        self.placeholders: FrozenSet[str] = placeholders
        self.sections: FrozenSet[str] = sections
        self._names = placeholders | sections
        # text and placeholder names alternating, split once: a poll renders
        # one line a job, thousands of times a round
        self._parts = _TAG.split(text)[::3] if not sections else []
        self._keys = [tag.group(2) for tag in _TAG.finditer(text)]

    def render(self, **values: Value) -> str:
        """The template with `values` filled in (see the module docstring)."""
        if values.keys() != self._names:
            given = frozenset(values)
            missing, unused = sorted(self._names - given), sorted(given - self._names)
            raise TemplateError(f'{self.name}: no value for {missing}, unused values {unused}')
        if self.sections:
            text = _SECTION.sub(lambda m: _section(m, values, self.name), self._text)
            return _TAG.sub(lambda m: _word(values[m.group(2)], m.group(2), self.name), text)
        parts = self._parts
        out = [parts[0]]
        for index, key in enumerate(self._keys, 1):
            out.append(_word(values[key], key, self.name))
            out.append(parts[index])
        return ''.join(out)

    def raw(self, **values: Value) -> Raw:
        """`render` as a Raw fragment, to be put into another template."""
        return Raw(self.render(**values))


def _check(text: str, name: str) -> Tuple[FrozenSet[str], FrozenSet[str]]:
    """(placeholders, sections) of a well-formed template, else TemplateError."""
    tags = list(_TAG.finditer(text))
    if text.count('{{') != len(tags):
        raise TemplateError(f'{name}: a "{{{{" that starts no tag')
    blocks = list(_SECTION.finditer(text))
    if any(tag.group(1) for block in blocks for tag in _TAG.finditer(block.group(3))):
        raise TemplateError(f'{name}: a section inside a section')
    # every section tag must be an opening or closing line of a block found above
    if sum(1 for tag in tags if tag.group(1)) != 2 * len(blocks):
        raise TemplateError(f'{name}: a section tag not on a line of its own, or not closed')
    placeholders = frozenset(tag.group(2) for tag in tags if not tag.group(1))
    sections = frozenset(block.group(2) for block in blocks)
    if placeholders & sections:
        raise TemplateError(f'{name}: {sorted(placeholders & sections)} both section and value')
    for text_line in text.splitlines():
        if text_line.lstrip().startswith('#') and _TAG.search(text_line):
            # a quoted value with a line break in it would end the comment
            raise TemplateError(f'{name}: a placeholder in a comment: {text_line!r}')
    return placeholders, sections


def _section(match: 're.Match[str]', values: Mapping[str, Value], name: str) -> str:
    value = values[match.group(2)]
    if not isinstance(value, bool):
        raise TemplateError(f'{name}: section {match.group(2)} needs True or False, not {value!r}')
    return match.group(3) if value == (match.group(1) == '#') else ''


def _word(value: Value, key: str, name: str) -> str:
    """How one value is written into bash (the module docstring's rules)."""
    if isinstance(value, str):
        return shlex.quote(value)
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, bool):
        raise TemplateError(f'{name}: {key} is a section, not a value')
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)) and all(isinstance(word, str) for word in value):
        return ' '.join(shlex.quote(word) for word in value)
    raise TemplateError(f'{name}: {key} has a value of type {type(value).__name__}')


def _folder() -> 'Traversable':
    """scripts/ beside this module, wherever the package is installed (package data)."""
    return importlib.resources.files(__package__).joinpath('scripts')


@functools.cache
def script_template(file_name: str) -> Template:
    """The template `scripts/<file_name>`, read (and checked) once."""
    text = _folder().joinpath(file_name).read_text(encoding='utf-8')
    return Template(text, file_name)


@functools.cache
def line_template(text: str) -> Template:
    """A one-line template written in the code (e.g. `sbatch --parsable
    {{script}}`), checked once however often it is rendered."""
    if '\n' in text:
        raise TemplateError(f'not one line: {text!r}')
    return Template(text)
