"""Checking an inputs file against the workflow's declared types, before submitting.

The service checks the input object with cwltool while staging, but it gets
JSON and cannot point into the user's YAML. The command-line client has both
files, so it checks the plain cases itself and names the line: a number
given for a `string`, text for an `int`, a list for a single value, and so
on, and a name the workflow does not declare (with the closest declared
name). Only types it can judge for sure are checked (input_checks.py:
scalars, File, Directory, enums, their optional forms, arrays and unions);
anything else is left to the service.
"""

from pathlib import Path
from typing import Any, Dict, List, Optional

from .input_checks import describe, file_hint, fits, spell, undeclared


def type_problems(
    inputs: Dict[str, Any], declared: Dict[str, Any], file: Optional[Path]
) -> List[str]:
    """One line per input the workflow does not declare, and per input whose
    value cannot have its declared type; each with its line in `file`."""
    if not declared:
        return []  # the workflow's declarations could not be read
    lines = _value_lines(file) if file is not None else {}
    problems = []
    for name, value in inputs.items():
        where = f'{file.name}:{lines[name]}: ' if file is not None and name in lines else ''
        missing = undeclared(str(name), declared)
        if missing:
            problems.append(f'{where}input {missing}')
            continue
        cwl_type = declared.get(name)
        if value is None and _optional(cwl_type):
            continue
        if fits(value, cwl_type) is False:
            problems.append(
                f'{where}input {str(name)!r} is {describe(value)}, but the workflow declares '
                f'it {spell(cwl_type)}{file_hint(cwl_type, value, yaml_style=True)}'
            )
    return problems


def _optional(cwl_type: Any) -> bool:
    if isinstance(cwl_type, str):
        return cwl_type.endswith('?')
    return isinstance(cwl_type, list) and 'null' in cwl_type


def _value_lines(file: Path) -> Dict[str, int]:
    """The line of each top-level input in a YAML or JSON inputs file (its key's line)."""
    try:
        import yaml

        node = yaml.compose(file.read_text(encoding='utf-8'))
    except Exception:  # noqa: BLE001 - no PyYAML, or not YAML: no line numbers
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {key.value: key.start_mark.line + 1 for key, value in node.value}
