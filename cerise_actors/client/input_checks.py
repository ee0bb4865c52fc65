"""Whether an input value can have the type the workflow declares, on the client.

The service checks the input object with cwltool while staging, but then
the job exists and the user learns of `add_input('fiel', ...)` or
`file: 42` from a PermanentFailure. The client has the workflow's
declarations (workflow_types.py), so it refuses what is surely wrong before
anything is submitted: a name the workflow does not declare (with the
closest declared name), a value that cannot have its type (a number for a
File, text for an int, a File for a string, a single value for an array).

Types are taken as written in the workflow (`File`, `int?`, `string[]`,
`['null', File]`, `{type: array, items: File}`, enums); what cannot be
judged here for sure (records, `Any`, named types from a
SchemaDefRequirement) is left to the service. Standard library only.
"""

import difflib
import json
from typing import Any, Dict, Iterable, Optional

SCALARS = {
    'string': (str,),
    'boolean': (bool,),
    'int': (int,),
    'long': (int,),
    'float': (int, float),
    'double': (int, float),
    'null': (type(None),),
}
FILE_CLASSES = ('File', 'Directory')
#: characters of a value shown in a message
SHOWN = 60


def is_input_name(name: Any) -> bool:
    """Whether a key of an input object names an input (not `cwl:tool`, `$schemas`)."""
    return isinstance(name, str) and ':' not in name and name[:1] not in ('$', '@')


def undeclared(name: str, declared: Iterable[str]) -> Optional[str]:
    """Why `name` is not an input of the workflow, or None if it is one."""
    names = sorted(declared)
    if name in names or not is_input_name(name):
        return None
    close = difflib.get_close_matches(name, names, n=1)
    guess = f'; did you mean {close[0]!r}?' if close else ''
    known = ', '.join(repr(n) for n in names) or 'none'
    return f'{_cut(repr(name))} is not an input of the workflow (its inputs: {known}){guess}'


def fits(value: Any, cwl_type: Any, depth: int = 0) -> Optional[bool]:
    """Whether `value` can have `cwl_type`; None when that is not judged here."""
    if depth > 20:
        return None
    if isinstance(cwl_type, str):
        if cwl_type.endswith('?'):
            return fits(value, ['null', cwl_type[:-1]], depth + 1)
        if cwl_type.endswith('[]'):
            return fits(value, {'type': 'array', 'items': cwl_type[:-2]}, depth + 1)
        if cwl_type in SCALARS:
            if isinstance(value, bool) and bool not in SCALARS[cwl_type]:
                return False
            return isinstance(value, SCALARS[cwl_type])
        if cwl_type in FILE_CLASSES:
            return isinstance(value, dict) and value.get('class') == cwl_type
        return None  # Any, or a named type
    if isinstance(cwl_type, list):  # a union: fits if any member does
        answers = [fits(value, member, depth + 1) for member in cwl_type]
        if True in answers:
            return True
        return None if None in answers or not answers else False
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
            symbols = [str(s).rsplit('/', 1)[-1] for s in cwl_type.get('symbols') or []]
            return isinstance(value, str) and value.rsplit('/', 1)[-1] in symbols
    return None  # a record, or something new


def file_class(cwl_type: Any, depth: int = 0) -> Optional[str]:
    """File or Directory if `cwl_type` takes one (or an array of them)."""
    if depth > 20:
        return None
    if isinstance(cwl_type, str):
        base = cwl_type.rstrip('?')
        base = base[:-2] if base.endswith('[]') else base
        return base if base in FILE_CLASSES else None
    if isinstance(cwl_type, list):
        for member in cwl_type:
            found = file_class(member, depth + 1)
            if found:
                return found
    if isinstance(cwl_type, dict) and cwl_type.get('type') == 'array':
        return file_class(cwl_type.get('items'), depth + 1)
    return None


def describe(value: Any) -> str:
    """`the number 42`, `the text 'x'`, `a list`, `a File`, `null`."""
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return f'the boolean {json.dumps(value)}'
    if isinstance(value, (int, float)):
        return f'the number {_cut(repr(value))}'
    if isinstance(value, str):
        return f'the text {_cut(repr(value))}'
    if isinstance(value, list):
        return 'a list'
    if isinstance(value, dict):
        cls = value.get('class')
        return f'a {_cut(cls, 20)}' if isinstance(cls, str) else 'a mapping'
    return f'a {type(value).__name__}'


def spell(cwl_type: Any) -> str:
    return cwl_type if isinstance(cwl_type, str) else _cut(json.dumps(cwl_type, default=str))


def file_hint(cwl_type: Any, value: Any, yaml_style: bool = False) -> str:
    """`; write {class: File, location: text.txt}` for a File input given something else."""
    wanted = file_class(cwl_type)
    if wanted is None or (isinstance(value, dict) and value.get('class') == wanted):
        return ''
    location = value if isinstance(value, str) and value and len(value) <= SHOWN else '...'
    if yaml_style:
        return f'; write {{class: {wanted}, location: {location}}}'
    return (
        f"; give a local path (add_input uploads it) or {{'class': {wanted!r}, "
        f"'location': {location!r}}}"
    )


def problem(name: str, value: Any, types: Dict[str, Any]) -> Optional[str]:
    """Why `value` cannot be input `name` of a workflow declaring `types`, or None."""
    if not types:
        return None  # the declarations could not be read: nothing to judge by
    missing = undeclared(name, types)
    if missing:
        return missing
    if name not in types or fits(value, types[name]) is not False:
        return None
    return (
        f'input {name!r} is declared {spell(types[name])}, but got {describe(value)}'
        f'{file_hint(types[name], value)}'
    )


def _cut(text: str, limit: int = SHOWN) -> str:
    return text if len(text) <= limit else text[: limit - 3] + '...'
