"""Reading CWL documents of the conformance suite, and finding what they refer to.

Documents are read as cwltool reads them (YAML 1.2, so `yes` and `no` stay
strings). A reference is anything a runner would load relative to the
document: a step's `run` file, `$import`/`$mixin` (YAML), `$include` (text),
relative `$schemas`, and File/Directory literals with a relative `location`
or `path` (defaults, secondaryFiles).
"""

import dataclasses
import json
import re
from pathlib import Path
from typing import Any, Iterator, Optional
from urllib.parse import unquote, urlsplit

from ruamel.yaml import YAML

PROCESS_CLASSES = ('Workflow', 'CommandLineTool', 'ExpressionTool', 'Operation')
# What a $graph's processes inherit from the document around them.
ROOT_KEYS = ('cwlVersion', '$namespaces', '$schemas')

_yaml = YAML(typ='safe', pure=True)
_cache: dict = {}


def load(path: Path) -> Any:
    """The parsed document at `path` (cached; callers must not change it)."""
    path = Path(path)
    if path not in _cache:
        with open(path, encoding='utf-8') as stream:
            _cache[path] = _yaml.load(stream)
    return _cache[path]


def dump_json(doc: Any) -> str:
    """A document as JSON, which is also YAML (dates and the like become strings)."""
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str) + '\n'


def has_scheme(text: str) -> bool:
    """True for URLs and namespaced names (`http://...`, `edam:format_1234`)."""
    return bool(re.match(r'^[A-Za-z][A-Za-z0-9+.-]*:', text))


def split_ref(ref: str, base: Path) -> tuple:
    """(absolute path or None, fragment) of a reference relative to file `base`."""
    if ref.startswith('#'):
        return None, ref[1:]
    parts = urlsplit(ref)
    if parts.scheme == 'file':
        return Path(unquote(parts.path)), parts.fragment
    if has_scheme(ref):
        return None, parts.fragment  # http(s) or a namespace: not a local file
    path, _, fragment = ref.partition('#')
    return (base.parent / unquote(path)).resolve(), fragment


def graph_entry(root: Any, fragment: str) -> Optional[dict]:
    """The process `#fragment` of a document (`main`, or the only one, if no fragment)."""
    if not isinstance(root, dict):
        return None
    if '$graph' not in root:
        if not fragment or str(root.get('id', '')).lstrip('#') == fragment:
            return root
        return find_id(root, fragment)
    graph = root['$graph']
    wanted = fragment or 'main'
    for entry in graph:
        if isinstance(entry, dict) and str(entry.get('id', '')).lstrip('#') == wanted:
            return entry
    if not fragment and len(graph) == 1:
        return graph[0]
    return None


def find_id(node: Any, fragment: str) -> Optional[dict]:
    """A mapping with `id: #fragment` anywhere inside `node`."""
    for _, child in walk(node):
        if isinstance(child, dict) and str(child.get('id', '')).lstrip('#') == fragment:
            return child
    return None


def inherit_root(entry: dict, root: Any) -> dict:
    """`entry` as a document of its own, with what it inherits from `root`."""
    doc = {}
    if isinstance(root, dict):
        for key in ROOT_KEYS:
            if key in root and key not in entry:
                doc[key] = root[key]
    doc.update(entry)
    return doc


def walk(node: Any, path: tuple = ()) -> Iterator[tuple]:
    """Yield `(path, node)` for `node` and everything inside it, parents first."""
    stack = [(path, node)]
    while stack:
        here, item = stack.pop()
        yield here, item
        if isinstance(item, dict):
            stack.extend((here + (key,), value) for key, value in reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend((here + (i,), value) for i, value in reversed(list(enumerate(item))))


@dataclasses.dataclass(frozen=True)
class Reference:
    kind: str  # 'run', 'yaml' ($import/$mixin), 'text' ($include, $schemas), 'file', 'directory'
    path: Optional[Path]  # None: a fragment of the same document, or a URL
    fragment: str = ''


def steps_of(process: dict) -> list:
    """The step mappings of a Workflow, from the mapping or list form."""
    steps = process.get('steps')
    if isinstance(steps, dict):
        return [step for step in steps.values() if isinstance(step, dict)]
    if isinstance(steps, list):
        return [step for step in steps if isinstance(step, dict)]
    return []


def references(node: Any, base: Path, skip_runs_of: Optional[dict] = None) -> Iterator[Reference]:
    """Everything `node` (part of the document in file `base`) refers to.

    `skip_runs_of`: a Workflow whose own steps' `run` is not followed (the
    submitted workflow, whose steps name installed steps instead).
    """
    skipped = {id(step) for step in steps_of(skip_runs_of)} if skip_runs_of else set()
    for path, child in walk(node):
        if not isinstance(child, dict):
            continue
        run = child.get('run')
        if isinstance(run, str) and id(child) not in skipped and _is_step(path):
            target, fragment = split_ref(run, base)
            if target is not None or run.startswith('#'):
                yield Reference('run', target, fragment)
        for key in ('$import', '$mixin'):
            if isinstance(child.get(key), str):
                target, fragment = split_ref(child[key], base)
                if target is not None:
                    yield Reference('yaml', target, fragment)
        if isinstance(child.get('$include'), str):
            target, _ = split_ref(child['$include'], base)
            if target is not None:
                yield Reference('text', target)
        if isinstance(child.get('$schemas'), list):
            for item in child['$schemas']:
                target, _ = split_ref(str(item), base)
                if target is not None:
                    yield Reference('text', target)
        if child.get('class') in ('File', 'Directory'):
            location = child.get('location', child.get('path'))
            if isinstance(location, str) and not location.startswith('_:'):
                target, _ = split_ref(location, base)
                if target is not None:
                    kind = 'directory' if child['class'] == 'Directory' else 'file'
                    yield Reference(kind, target)


def _is_step(path: tuple) -> bool:
    """True if the mapping at `path` is a workflow step (`steps.x` or `steps[i]`)."""
    return len(path) >= 2 and path[-2] == 'steps'


def processes_reachable(path: Path, fragment: str) -> Iterator[tuple]:
    """(file, process) for the process `path#fragment` and every process it runs."""
    seen = set()
    todo = [(Path(path), fragment)]
    while todo:
        file, frag = todo.pop()
        if (file, frag) in seen:
            continue
        seen.add((file, frag))
        try:
            root = load(file)
        except Exception:  # unreadable or not YAML: nothing to follow
            continue
        process = graph_entry(root, frag)
        if process is None:
            continue
        yield file, process
        for ref in references(process, file):
            if ref.kind == 'run':
                todo.append((ref.path or file, ref.fragment))
