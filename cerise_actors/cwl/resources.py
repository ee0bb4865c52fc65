"""Reading requirements, hints, core counts and time limits from CWL documents.

The same reading is used for submitted workflows (strictly: anything we cannot
turn into a number is the user's mistake and is refused) and for the installed
steps (leniently: a step may legitimately compute its cores with an expression,
which we cannot evaluate before the run, so it counts as "not specified").

CWL allows requirements and hints to be written as a mapping (class -> body)
or as a list of ``{class: ...}`` objects; both are handled here so that no
other module has to care.
"""

import math
from collections.abc import Mapping
from typing import Any, Dict, Optional

SECTIONS = ('requirements', 'hints')

# Time limit hints: Cerise's cwl1.1-dev1 ``TimeLimit`` (``timeLimit``) and the
# CWL 1.1 ``ToolTimeLimit`` (``timelimit``). Both spellings are accepted.
TIME_LIMIT_CLASSES = ('TimeLimit', 'ToolTimeLimit')
_TIME_LIMIT_FIELDS = ('timeLimit', 'timelimit')


def requirement_entries(node: Mapping, where: str, error=ValueError, strict: bool = True) -> list:
    """Return ``(section, class, body)`` for each requirement and hint.

    ``body`` is whatever the document holds: in list form the whole
    ``{class: ...}`` object, in mapping form the value (which may be a
    scalar, e.g. ``TimeLimit: 101``). Malformed sections raise ``error``
    when strict and are skipped otherwise. An entry that is a ``$import``
    left in place (a file installed with the steps, see imports.py) is the
    specialisation's own and is skipped.
    """
    entries = []
    for section in SECTIONS:
        value = node.get(section)
        if value is None:
            continue
        if isinstance(value, Mapping):
            for cls, body in value.items():
                entries.append((section, str(cls), body))
        elif isinstance(value, list):
            for number, item in enumerate(value, 1):
                if isinstance(item, Mapping) and isinstance(item.get('class'), str):
                    entries.append((section, item['class'], item))
                elif isinstance(item, Mapping) and list(item) == ['$import']:
                    continue
                elif strict:
                    raise error(
                        f"{where}: entry {number} of '{section}' is not an object with a 'class'"
                    )
        elif strict:
            raise error(f"{where}: '{section}' must be a list or a mapping")
    return entries


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and ('$(' in value or '${' in value)


def _number(value: Any, field: str, where: str, error, strict: bool, round_up: bool) -> int:
    """Turn a resource value into a non-negative int, or raise ``error``."""
    if value is None:
        return 0
    if not strict and _is_expression(value):
        return 0  # only known at run time; treat as not specified
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if _is_expression(value):
            raise error(
                f'{where}: {field} is an expression ({value!r}); the service '
                f'needs a plain whole number to reserve resources'
            )
        raise error(f'{where}: {field} must be a whole number, not {value!r}')
    if isinstance(value, float):
        if not math.isfinite(value) or (not round_up and not value.is_integer()):
            raise error(f'{where}: {field} must be a whole number, not {value!r}')
        value = math.ceil(value)
    if value < 0:
        raise error(f'{where}: {field} must not be negative, got {value}')
    return int(value)


def read_cores(node: Mapping, where: str, error=ValueError, strict: bool = True) -> int:
    """Number of cores a ResourceRequirement asks for, 0 if none.

    ``coresMin`` is used, else ``coresMax``. As in CWL, a ResourceRequirement
    under ``requirements`` overrides one under ``hints``. CWL 1.2 allows
    fractional cores; they are rounded up because we reserve whole cores.
    """
    per_section: Dict[str, Optional[int]] = {section: None for section in SECTIONS}
    for section, cls, body in requirement_entries(node, where, error, strict):
        if cls != 'ResourceRequirement':
            continue
        if not isinstance(body, Mapping):
            if strict:
                raise error(f"{where}: ResourceRequirement in '{section}' must be an object")
            continue
        value = body.get('coresMin')
        field = 'coresMin'
        if value is None:
            value, field = body.get('coresMax'), 'coresMax'
        cores = _number(value, f'ResourceRequirement {field}', where, error, strict, round_up=True)
        previous = per_section[section]
        per_section[section] = cores if previous is None else max(previous, cores)
    for section in SECTIONS:
        found = per_section[section]
        if found is not None:
            return found
    return 0


def time_limit_value(cls: str, body: Any) -> tuple:
    """Return ``(field name, raw value)`` of a time limit requirement body."""
    if not isinstance(body, Mapping):
        return 'value', body  # e.g. ``TimeLimit: 101``
    for field in _TIME_LIMIT_FIELDS:
        if field in body:
            return field, body[field]
    return None, None


def read_time_limit(
    node: Mapping,
    where: str,
    error=ValueError,
    strict: bool = True,
    classes: tuple = TIME_LIMIT_CLASSES,
) -> int:
    """Time limit in seconds from TimeLimit / ToolTimeLimit (`classes`), 0 if none.

    When several are given the largest wins: the job must get at least as
    much time as any part of it says it needs.
    """
    limit = 0
    for section, cls, body in requirement_entries(node, where, error, strict):
        if cls not in classes:
            continue
        field, value = time_limit_value(cls, body)
        if field is None:
            raise error(
                f"{where}: {cls} in '{section}' has no time limit "
                f'value (expected e.g. {{timelimit: 3600}})'
            )
        seconds = _number(value, f'{cls} {field}', where, error, strict, round_up=False)
        limit = max(limit, seconds)
    return limit
