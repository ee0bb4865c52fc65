"""What the workflow says its inputs are, so that `add_input` can tell text from files.

`add_input('message', 'hello world')` used to take every string for a local
path and fail with "file not found". A workflow declares the type of each of
its inputs (`message: string`, `in_text: File`, `files: File[]`), and the
client has the workflow when it uploads it, so it reads those declarations:
a string for an input that takes no File or Directory stays a string, one
for an input that takes only files is a path, and when the type cannot be
known (a workflow given as a URL, an input it does not declare, a type of
both kinds or a named type) a string is a path, and a missing file says to
use `set_input()`.

YAML needs PyYAML, which installing cerise-actors brings; the client alone
reads JSON workflows and treats the types of a YAML one as unknown.
"""

import json
from typing import Any, Dict, Optional, Set

#: the CWL types that hold no File or Directory
TEXT_TYPES = frozenset({'null', 'boolean', 'int', 'long', 'float', 'double', 'string'})
FILE_TYPES = frozenset({'File', 'Directory'})
#: the most bytes of a workflow that are read for its types
MAX_BYTES = 4 * 1024 * 1024

TEXT = 'text'
FILES = 'files'


def declared_input_types(document: bytes) -> Dict[str, Any]:
    """The type of each input the workflow declares, by name; {} if it cannot be read."""
    data = _load(document)
    if isinstance(data, dict) and isinstance(data.get('$graph'), list):
        data = _main_of(data['$graph'])
    if not isinstance(data, dict):
        return {}
    inputs = data.get('inputs')
    types: Dict[str, Any] = {}
    if isinstance(inputs, dict):
        for name, spec in inputs.items():
            types[str(name)] = spec.get('type') if isinstance(spec, dict) else spec
    elif isinstance(inputs, list):
        for spec in inputs:
            if isinstance(spec, dict) and isinstance(spec.get('id'), str):
                name = spec['id'].rsplit('#', 1)[-1].rsplit('/', 1)[-1]
                types[name] = spec.get('type')
    return types


def kind_of(cwl_type: Any) -> Optional[str]:
    """TEXT if `cwl_type` holds no File or Directory, FILES if only those, else None."""
    kinds: Set[str] = set()
    if not _collect(cwl_type, kinds, depth=0):
        return None
    kinds.discard('null')
    if kinds and kinds <= TEXT_TYPES:
        return TEXT
    if kinds and kinds <= FILE_TYPES:
        return FILES
    return None


def _collect(cwl_type: Any, kinds: set, depth: int) -> bool:
    """Add the base types of `cwl_type` to `kinds`; False if one is not known here."""
    if depth > 20:
        return False
    if isinstance(cwl_type, str):
        base = cwl_type
        while base.endswith('?') or base.endswith('[]'):
            base = base[:-1] if base.endswith('?') else base[:-2]
        if base in TEXT_TYPES or base in FILE_TYPES:
            kinds.add(base)
            return True
        return False  # Any, or a named type from a SchemaDefRequirement
    if isinstance(cwl_type, list):
        return bool(cwl_type) and all(_collect(item, kinds, depth + 1) for item in cwl_type)
    if isinstance(cwl_type, dict):
        if cwl_type.get('type') == 'array':
            return _collect(cwl_type.get('items'), kinds, depth + 1)
        if cwl_type.get('type') == 'enum':
            kinds.add('string')
            return True
    return False  # a record: its fields are converted one by one anyway


def _load(document: bytes) -> Any:
    try:
        return json.loads(document)
    except ValueError:
        pass
    try:
        import yaml
    except ImportError:
        return None
    try:
        return yaml.safe_load(document)
    except yaml.YAMLError:
        return None


def _main_of(graph: list) -> Any:
    processes = [item for item in graph if isinstance(item, dict)]
    for item in processes:
        if item.get('id') in ('main', '#main'):
            return item
    workflows = [item for item in processes if item.get('class') == 'Workflow']
    return workflows[0] if len(workflows) == 1 else None
