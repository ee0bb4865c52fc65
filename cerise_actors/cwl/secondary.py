"""Secondary files that CWL documents declare by pattern, found while staging.

An input parameter may say ``secondaryFiles: [.idx, ^.bai]``: every File
given for it comes with files named after it, and a runner looks for them
next to the primary. On the compute resource only what the service staged
is next to it. So the service collects the patterns that the workflow and
the installed steps it uses declare, applies them to every File of the
input object and every File default of the workflow, and stages what they
name beside the primary when it exists there in the exchange area, as if
the user had listed it. A missing one is left for the runner to report.
Patterns that are expressions cannot be applied without running
JavaScript on the service; they are left to the runner.
"""

from collections.abc import Mapping
from typing import Any, Callable, Iterable, List
from urllib.parse import urljoin, urlsplit, urlunsplit


def _patterns_of(value: Any) -> List[str]:
    result = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, Mapping):
            item = item.get('pattern')
        if not isinstance(item, str):
            continue
        pattern = item[:-1] if item.endswith('?') else item
        if pattern and '$(' not in pattern and '${' not in pattern:
            result.append(pattern)
    return result


def secondary_patterns(docs: Iterable[Any]) -> List[str]:
    """Every plain secondaryFiles pattern of the parameters in `docs`, once each."""
    found: List[str] = []
    stack = list(docs)
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, Mapping):
            if 'secondaryFiles' in node and ('type' in node or 'id' in node):
                found += [p for p in _patterns_of(node['secondaryFiles']) if p not in found]
            stack.extend(value for key, value in node.items() if key != 'secondaryFiles')
    return found


def apply_pattern(location: str, pattern: str) -> str:
    """CWL's rule: each leading ^ strips one extension, then the rest is appended."""
    parts = urlsplit(location)
    folder, _, name = parts.path.rpartition('/')
    while pattern.startswith('^'):
        pattern = pattern[1:]
        if '.' in name:
            name = name.rsplit('.', 1)[0]
    return urlunsplit(parts._replace(path=f'{folder}/{name}{pattern}'))


def add_secondary_files(
    value: Any, patterns: List[str], exists: Callable[[str], bool], base_url: str = ''
) -> Any:
    """`value` with the files `patterns` name beside each File added as secondaryFiles.

    Relative locations resolve against `base_url`; only files that
    `exists(url)` finds are added, where no file of that name is listed yet.
    """
    if not patterns:
        return value
    if isinstance(value, list):
        return [add_secondary_files(item, patterns, exists, base_url) for item in value]
    if not isinstance(value, dict):
        return value
    if value.get('class') != 'File':
        return {
            key: add_secondary_files(item, patterns, exists, base_url)
            for key, item in value.items()
        }
    location = value.get('location', value.get('path'))
    listed = value.get('secondaryFiles', [])
    if not isinstance(location, str) or not isinstance(listed, list):
        return value
    url = urljoin(base_url, location)
    names = {
        str(item.get('basename') or str(item.get('location', '')).rsplit('/', 1)[-1])
        for item in listed
        if isinstance(item, dict)
    }
    added = []
    for pattern in patterns:
        candidate = apply_pattern(url, pattern)
        name = candidate.rsplit('/', 1)[-1]
        if name not in names and candidate != url and exists(candidate):
            names.add(name)
            added.append({'class': 'File', 'location': candidate})
    if not added:
        return value
    return dict(value, secondaryFiles=listed + added)
