"""Explaining an input object that does not fit the workflow, in the user's terms.

cwltool's own explanation of a wrong type loses the value and the input's
type: `file: text.txt` gives "the 'file' field is not valid because\\n is
not a dict. Expected a File object.", with no hint that a File is written
`{class: File, location: ...}`. Here each input's value is compared with
its declared type (as cwltool's loader normalised it) and a mismatch gives
one line naming the input, the value given (shortened, as repr shows it,
so that control characters cannot forge log lines) and the declared type,
and for a File or Directory the shape to write. Undeclared names get a
line too, with the closest declared name: a misspelt optional input is
otherwise silently ignored.

Only what can be judged for sure is judged (scalars, File, Directory,
enums, arrays, unions of them, optional forms); records, `Any` and named
types are left to cwltool, whose explanation is kept beside these lines.
Pure functions: no cwltool import, so they are tested without it.
"""

import difflib
import json
import re
import urllib.parse
from typing import Any, List, Mapping, Optional, Sequence

#: characters of a value shown in a message
SHOWN = 60
_SCALARS = {
    'string': (str,),
    'boolean': (bool,),
    'int': (int,),
    'long': (int,),
    'float': (int, float),
    'double': (int, float),
    'null': (type(None),),
}
_FILE_CLASSES = ('File', 'Directory')


def short_name(identifier: str) -> str:
    """`file:///.../mine.cwl#file` -> `file` (also enum symbols `...#a/x` -> `x`)."""
    return identifier.rsplit('#', 1)[-1].rsplit('/', 1)[-1]


def explain(
    declared: Sequence[Mapping[str, Any]], job: Mapping[str, Any], workflow_url: str = ''
) -> List[str]:
    """One line per input whose value cannot have its declared type, and per
    name the workflow does not declare; `declared` is cwltool's `inputs`."""
    types = {short_name(str(item.get('id', ''))): item.get('type') for item in declared}
    lines = []
    for name, value in job.items():
        if not isinstance(name, str) or ':' in name or name[:1] in ('$', '@'):
            continue  # cwl:tool, $namespaces: not inputs
        if name not in types:
            lines.append(undeclared(name, list(types)))
            continue
        if value is None and 'default' in _declaration(declared, name):
            continue
        if fits(value, types[name]) is False:
            lines.append(mismatch(name, value, types[name], workflow_url))
    return lines


def _declaration(declared, name: str) -> Mapping[str, Any]:
    for item in declared:
        if short_name(str(item.get('id', ''))) == name:
            return item
    return {}


def undeclared(name: str, names: List[str]) -> str:
    """The line for an input object field the workflow does not declare."""
    known = ', '.join(repr(n) for n in sorted(names)) or 'none'
    close = difflib.get_close_matches(name, names, n=1)
    guess = f'; did you mean {close[0]!r}?' if close else ''
    return (
        f'input {_shown(name)} is not declared by the workflow and is ignored '
        f'(its inputs: {known}){guess}'
    )


def suggest(warning: str, names: List[str]) -> str:
    """cwltool's `invalid field 'fiel', expected one of: 'file'`, with the
    closest declared name, if there is one."""
    match = re.search(r"invalid field '([^']{1,200})'", warning)
    close = difflib.get_close_matches(match.group(1), names, n=1) if match else []
    return f'{warning} (did you mean {close[0]!r}?)' if close else warning


def fits(value: Any, cwl_type: Any, depth: int = 0) -> Optional[bool]:
    """Whether `value` can have `cwl_type`; None when that is not judged here."""
    if depth > 20:
        return None
    if isinstance(cwl_type, list):  # a union: fits if any member does
        answers = [fits(value, member, depth + 1) for member in cwl_type]
        if True in answers:
            return True
        return None if None in answers else False
    if isinstance(cwl_type, str):
        if cwl_type in _SCALARS:
            if isinstance(value, bool) and bool not in _SCALARS[cwl_type]:
                return False
            return isinstance(value, _SCALARS[cwl_type])
        if cwl_type in _FILE_CLASSES:
            return isinstance(value, dict) and value.get('class') == cwl_type and _complete(value)
        return None  # Any, or a named type
    if isinstance(cwl_type, dict):
        kind = cwl_type.get('type')
        if kind == 'array':
            if not isinstance(value, list):
                return False
            answers = [fits(item, cwl_type.get('items'), depth + 1) for item in value]
            if False in answers:
                return False
            return None if None in answers else True
        if kind == 'enum':
            symbols = [short_name(str(s)) for s in cwl_type.get('symbols') or []]
            return isinstance(value, str) and short_name(value) in symbols
    return None  # a record, or something new


def _complete(obj: Mapping[str, Any]) -> bool:
    """A File or Directory object cwltool can read: a location or path, or a literal."""
    if isinstance(obj.get('location'), str) or isinstance(obj.get('path'), str):
        return True
    if obj.get('class') == 'File':
        return 'contents' in obj
    return isinstance(obj.get('listing'), list)


def mismatch(name: str, value: Any, cwl_type: Any, workflow_url: str = '') -> str:
    """The line for an input whose value cannot have its declared type."""
    given = describe(value)
    bad = _bad_item(value, cwl_type)
    if bad is not None:
        given = f'{given} whose item [{bad}] is {describe(value[bad])}'
        value = value[bad]
    line = f'input {_shown(name)}: got {given}, but it is declared {spell(cwl_type)}'
    wanted = _file_class(cwl_type)
    if wanted is None:
        return line
    if isinstance(value, dict) and value.get('class') == wanted:
        what = 'contents and basename' if wanted == 'File' else 'listing'
        return (
            f'{line}; a {wanted} needs a "location" (the URL of an uploaded file), '
            f'or {what}: write {shape(wanted, value, workflow_url)}'
        )
    return f'{line}; write {shape(wanted, value, workflow_url)}'


def _bad_item(value: Any, cwl_type: Any) -> Optional[int]:
    """The index of the first item of list `value` that its array type refuses."""
    if not isinstance(value, list):
        return None
    members = cwl_type if isinstance(cwl_type, list) else [cwl_type]
    arrays = [m for m in members if isinstance(m, dict) and m.get('type') == 'array']
    if len(arrays) != 1:
        return None
    for index, item in enumerate(value):
        if fits(item, arrays[0].get('items')) is False:
            return index
    return None


def shape(wanted: str, value: Any, workflow_url: str = '') -> str:
    """`{"class": "File", "location": "<URL ...>"}`: what to write for a File or
    Directory, with the URL the service would read if the value names an
    upload next to the workflow."""
    location = '<URL under /files/input/...>'
    folder = _folder_of(workflow_url)
    if folder and isinstance(value, str) and _plain_relative(value):
        location = folder + urllib.parse.quote(value)
    return json.dumps({'class': wanted, 'location': location})


def _folder_of(workflow_url: str) -> Optional[str]:
    """The /files/input/... folder of an http(s) workflow URL, with a trailing slash."""
    parts = urllib.parse.urlsplit(workflow_url)
    if parts.scheme not in ('http', 'https') or '/files/input/' not in parts.path:
        return None
    return workflow_url.rsplit('/', 1)[0] + '/'


def _plain_relative(text: str) -> bool:
    segments = text.split('/')
    return (
        0 < len(text) <= 200
        and '://' not in text
        and not text.startswith('/')
        and all(s not in ('', '.', '..') for s in segments)
        and text.isprintable()
    )


def _file_class(cwl_type: Any) -> Optional[str]:
    """File or Directory if `cwl_type` takes one (or an array of them), else None."""
    members = cwl_type if isinstance(cwl_type, list) else [cwl_type]
    for member in members:
        if isinstance(member, dict) and member.get('type') == 'array':
            member = member.get('items')
        if member in _FILE_CLASSES:
            return member
    return None


def describe(value: Any) -> str:
    """`the string 'text.txt'`, `the number 42`, `a list of 2 items`, ..."""
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return f'the boolean {json.dumps(value)}'
    if isinstance(value, (int, float)):
        return f'the number {_cut(repr(value))}'
    if isinstance(value, str):
        return f'the string {_shown(value)}'
    if isinstance(value, list):
        return f'a list of {len(value)} item{"" if len(value) == 1 else "s"}'
    if isinstance(value, dict):
        cls = value.get('class')
        if isinstance(cls, str):
            keys = ', '.join(_cut(repr(k), 20) for k in list(value)[:6])
            return f'a {_cut(cls, 20)!r} object with {keys}'
        return 'a mapping without "class"'
    return f'a {type(value).__name__}'


def spell(cwl_type: Any, depth: int = 0) -> str:
    """A CWL type as the user wrote it: `File`, `int[]`, `string?`, `enum (x, y)`."""
    if depth > 5:
        return '...'
    if isinstance(cwl_type, str):
        return short_name(cwl_type) if '#' in cwl_type else cwl_type
    if isinstance(cwl_type, list):
        rest = [t for t in cwl_type if t != 'null']
        if len(rest) == 1 and len(rest) < len(cwl_type):
            return spell(rest[0], depth + 1) + '?'
        return ' or '.join(spell(t, depth + 1) for t in cwl_type)
    if isinstance(cwl_type, dict):
        kind = cwl_type.get('type')
        if kind == 'array':
            inner = spell(cwl_type.get('items'), depth + 1)
            return f'({inner})[]' if ' ' in inner else f'{inner}[]'
        if kind == 'enum':
            symbols = [short_name(str(s)) for s in cwl_type.get('symbols') or []]
            return f'enum ({_cut(", ".join(symbols), SHOWN)})'
        if kind == 'record':
            return 'a record'
    return _cut(json.dumps(cwl_type, default=str), SHOWN)


def _shown(text: str) -> str:
    """repr of `text`, shortened: never a raw newline or control character."""
    return _cut(repr(text), SHOWN)


def _cut(text: str, limit: int = SHOWN) -> str:
    return text if len(text) <= limit else text[: limit - 3] + '...'
