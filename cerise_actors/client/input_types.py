"""Checking an inputs file against the workflow's declared types, before submitting.

The service checks the input object with cwltool while staging, but it gets
JSON and cannot point into the user's YAML. The command-line client has both
files, so it checks the plain cases itself and names the line: a number
given for a `string`, text for an `int`, a list for a single value, and so
on. Only types it can judge for sure are checked (scalars, their optional
forms and arrays of them); anything else is left to the service.
"""

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

_SCALARS = {
    'string': (str,),
    'boolean': (bool,),
    'int': (int,),
    'long': (int,),
    'float': (int, float),
    'double': (int, float),
}


def type_problems(
    inputs: Dict[str, Any], declared: Dict[str, Any], file: Optional[Path]
) -> List[str]:
    """One line per input whose value cannot have its declared type."""
    lines = _value_lines(file) if file is not None else {}
    problems = []
    for name, value in inputs.items():
        expected = _simple(declared.get(name))
        if expected is None or value is None and expected[1]:
            continue
        if not _fits(value, expected[0]):
            where = f'{file.name}:{lines[name]}: ' if name in lines else ''
            problems.append(
                f"{where}input '{name}' is {_describe(value)}, but the workflow declares "
                f'it {_spell(declared.get(name))}'
            )
    return problems


def _simple(cwl_type: Any):
    """(base, optional) for `string`, `int?`, `['null', 'int']`, `string[]`,
    `{type: array, items: int}`; None for what is not checked here."""
    optional = False
    if isinstance(cwl_type, list):
        rest = [t for t in cwl_type if t != 'null']
        optional = len(rest) < len(cwl_type)
        if len(rest) != 1:
            return None
        cwl_type = rest[0]
    if isinstance(cwl_type, str):
        if cwl_type.endswith('?'):
            optional, cwl_type = True, cwl_type[:-1]
        if cwl_type.endswith('[]') and cwl_type[:-2] in _SCALARS:
            return ('array', cwl_type[:-2]), optional
        return (cwl_type, optional) if cwl_type in _SCALARS else None
    if isinstance(cwl_type, dict) and cwl_type.get('type') == 'array':
        items = cwl_type.get('items')
        if isinstance(items, str) and items in _SCALARS:
            return ('array', items), optional
    return None


def _fits(value: Any, base) -> bool:
    if isinstance(base, tuple):  # an array of scalars
        return isinstance(value, list) and all(_fits(item, base[1]) for item in value)
    kinds = _SCALARS[base]
    if isinstance(value, bool) and bool not in kinds:
        return False
    return isinstance(value, kinds)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f'the boolean {json.dumps(value)}'
    if isinstance(value, (int, float)):
        return f'the number {value}'
    if isinstance(value, str):
        return f'the text {value!r}'
    if isinstance(value, list):
        return 'a list'
    if isinstance(value, dict):
        return (
            f'a {value.get("class", "mapping")}'
            if isinstance(value.get('class'), str)
            else 'a mapping'
        )
    return 'null'


def _spell(cwl_type: Any) -> str:
    return cwl_type if isinstance(cwl_type, str) else json.dumps(cwl_type)


def _value_lines(file: Path) -> Dict[str, int]:
    """The line of each top-level input in a YAML or JSON inputs file."""
    try:
        import yaml

        node = yaml.compose(file.read_text(encoding='utf-8'))
    except Exception:  # noqa: BLE001 - no PyYAML, or not YAML: no line numbers
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {key.value: value.start_mark.line + 1 for key, value in node.value}
