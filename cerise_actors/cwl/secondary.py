"""Secondary files a workflow's inputs declare by pattern, found while staging.

A workflow input may say ``secondaryFiles: [.idx, ^.bai]``: every File given
for it comes with files named after it. A runner looks for them next to the
primary, but on the compute resource only what the service staged is next
to it. So the service applies the patterns to the primary's location in the
exchange area and stages what they name beside the primary, as if the user
had listed them. Patterns that are expressions cannot be applied without
running JavaScript on the service; they are left to the runner.
"""

from typing import Any, Callable, Dict, List, Mapping, Tuple
from urllib.parse import urlsplit, urlunsplit

#: (pattern, required) pairs per workflow input name
Patterns = Dict[str, List[Tuple[str, bool]]]


def _pattern_list(value: Any) -> List[Tuple[str, bool]]:
    items = value if isinstance(value, list) else [value]
    result = []
    for item in items:
        if isinstance(item, str):
            pattern, required = item, True
        elif isinstance(item, Mapping) and isinstance(item.get('pattern'), str):
            pattern, required = item['pattern'], item.get('required', True)
        else:
            continue
        if pattern.endswith('?'):
            pattern, required = pattern[:-1], False
        if pattern and '$(' not in pattern and '${' not in pattern:
            result.append((pattern, required is not False))
    return result


def secondary_patterns(doc: Mapping) -> Patterns:
    """The secondaryFiles patterns of a workflow's inputs, by input name."""
    inputs = doc.get('inputs')
    if isinstance(inputs, Mapping):
        pairs = list(inputs.items())
    elif isinstance(inputs, list):
        pairs = [(item.get('id'), item) for item in inputs if isinstance(item, Mapping)]
    else:
        return {}
    result = {}
    for name, param in pairs:
        if isinstance(name, str) and isinstance(param, Mapping) and 'secondaryFiles' in param:
            patterns = _pattern_list(param['secondaryFiles'])
            if patterns:
                result[name.lstrip('#').rsplit('/', 1)[-1]] = patterns
    return result


def apply_pattern(location: str, pattern: str) -> str:
    """CWL's rule: each leading ^ strips one extension, then the rest is appended."""
    parts = urlsplit(location)
    folder, _, name = parts.path.rpartition('/')
    while pattern.startswith('^'):
        pattern = pattern[1:]
        if '.' in name:
            name = name.rsplit('.', 1)[0]
    return urlunsplit(parts._replace(path=f'{folder}/{name}{pattern}'))


def add_secondary_files(input_doc: Any, patterns: Patterns, exists: Callable[[str], bool]) -> Any:
    """`input_doc` with the files that `patterns` name added as secondaryFiles.

    Only files that `exists(url)` finds are added, and only where the user
    did not list a file of that name already; a required one that is
    missing is left for the runner to report.
    """
    if not isinstance(input_doc, dict) or not patterns:
        return input_doc
    result = dict(input_doc)
    for name, found in patterns.items():
        if name in result:
            result[name] = _add(result[name], found, exists)
    return result


def _add(value: Any, patterns: List[Tuple[str, bool]], exists) -> Any:
    if isinstance(value, list):
        return [_add(item, patterns, exists) for item in value]
    if not isinstance(value, dict) or value.get('class') != 'File':
        return value
    location = value.get('location')
    if not isinstance(location, str) or '://' not in location:
        return value
    listed = value.get('secondaryFiles', [])
    if not isinstance(listed, list):
        return value
    names = {
        str(item.get('basename') or str(item.get('location', '')).rsplit('/', 1)[-1])
        for item in listed
        if isinstance(item, dict)
    }
    added = []
    for pattern, _required in patterns:
        url = apply_pattern(location, pattern)
        if url.rsplit('/', 1)[-1] not in names and exists(url):
            added.append({'class': 'File', 'location': url})
    if not added:
        return value
    return dict(value, secondaryFiles=listed + added)
