"""Expanding `$import` and `$include` in a submitted workflow, on the service.

CWL lets a document pull in others: ``{$import: types.yml}`` is replaced by
the parsed document, ``{$include: lib.js}`` by the file's text. The runner
would follow these references on the compute resource, where they could
name any file. So the service follows them itself, before any check, and
sends the runner one self-contained document; what was imported then faces
the same checks as the rest of the workflow.

Which references may be read is decided by the caller's `read` function
(the exchange area only, see staging/); this module resolves them against
the document that holds them, and bounds how many, how deep and how large.

Names defined in an imported document are referred to by its file name
(``type: types.yml#Hello``). Once the document is part of the workflow,
its names are the workflow's own, so such references become ``#Hello``.

A workflow may also import a file the specialisation installed with its
steps (not a step itself), named as `run:` names steps: ``$import:
project/types.yml``. That one is not expanded but pointed at the installed
copy, which the runner reads: record types are compared by name, so a
workflow passing a value of the steps' own type must use the very same
definition. ``project/types.yml#Hello`` names a type in it.
"""

from collections.abc import Mapping
from typing import Any, Callable, NamedTuple, Optional, Set, Tuple
from urllib.parse import urljoin

from ..errors import InvalidWorkflow
from .checks import MAX_DEPTH, MAX_NODES, describe
from .parse import load_cwl_text

#: imports and includes in one workflow, in all
MAX_REFERENCES = 100
#: documents importing documents importing ...
MAX_NESTING = 10
#: bytes read through references, in all
MAX_REFERENCED_BYTES = 16 * 1024 * 1024

Reader = Callable[[str], bytes]
#: the installed copy (a path on the resource) of a file named `<project>/<path>`, or None
Installed = Callable[[str], Optional[str]]


class _Reference(NamedTuple):
    """A string of the form `<file>#<name>`, kept until all imports are known."""

    text: str
    url: str  # <file> resolved against the document that holds the string
    name: str


class _Expander:
    def __init__(self, read: Reader, installed: Installed) -> None:
        self._read = read
        self._installed = installed
        self.kept: Set[str] = set()  # installed copies left as $import
        self._count = 0
        self._bytes = 0
        self._nodes = 0
        self.imported: Set[str] = set()  # URLs of the documents $imported

    def fetch(self, ref: Any, base: str, key: str, path: tuple) -> tuple:
        if not isinstance(ref, str) or not ref:
            raise InvalidWorkflow(f"'{key}' at {describe(path)} must name a file")
        self._count += 1
        if self._count > MAX_REFERENCES:
            raise InvalidWorkflow(f'the workflow uses more than {MAX_REFERENCES} imports')
        url = urljoin(base, ref)
        data = self._read(url)
        self._bytes += len(data)
        if self._bytes > MAX_REFERENCED_BYTES:
            raise InvalidWorkflow(
                f'the documents the workflow imports are larger than {MAX_REFERENCED_BYTES} bytes'
            )
        try:
            return url, data.decode('utf-8-sig')
        except UnicodeDecodeError:
            raise InvalidWorkflow(f"'{key}: {ref}' is not UTF-8 text") from None

    def expand(self, node: Any, base: str, nesting: int, path: tuple) -> Any:
        self._nodes += 1  # YAML aliases can make a small text a huge tree
        if self._nodes > MAX_NODES:
            raise InvalidWorkflow(f'the workflow is too large (more than {MAX_NODES} values)')
        if len(path) > MAX_DEPTH:
            raise InvalidWorkflow(
                f'the workflow is nested too deeply (more than {MAX_DEPTH} levels)'
            )
        if isinstance(node, list):
            result = []
            for i, item in enumerate(node):
                value = self.expand(item, base, nesting, path + (i,))
                if isinstance(value, list) and isinstance(item, Mapping) and '$import' in item:
                    result.extend(value)  # an imported list is spliced in, as schema-salad does
                else:
                    result.append(value)
            return result
        if isinstance(node, str) and '#' in node and not node.startswith('#'):
            file, _, name = node.partition('#')
            copy = self._installed(file)
            if copy is not None:
                return f'{copy}#{name}'
            return _Reference(node, urljoin(base, file), name)
        if not isinstance(node, Mapping):
            return node
        for key in ('$import', '$include'):
            if key in node:
                if len(node) != 1:
                    raise InvalidWorkflow(
                        f"'{key}' at {describe(path)} must be the only key of its object"
                    )
                copy = self._installed(node[key]) if isinstance(node[key], str) else None
                if copy is not None and key == '$import':
                    self.kept.add(copy)
                    return {key: copy}
                url, text = self.fetch(node[key], base, key, path)
                if key == '$include':
                    return text
                if nesting >= MAX_NESTING:
                    raise InvalidWorkflow(
                        f'imports are nested more than {MAX_NESTING} deep at {describe(path)}'
                    )
                imported = load_cwl_text(text, f"'{url}'")
                self.imported.add(url)
                return self.expand(imported, url, nesting + 1, path)
        return {
            key: self.expand(value, base, nesting, path + (key,)) for key, value in node.items()
        }


def _resolve_names(node: Any, imported: set) -> Any:
    if isinstance(node, _Reference):
        return f'#{node.name}' if node.url in imported else node.text
    if isinstance(node, list):
        return [_resolve_names(item, imported) for item in node]
    if isinstance(node, dict):
        return {key: _resolve_names(value, imported) for key, value in node.items()}
    return node


def _none(name: str) -> Optional[str]:
    return None


def expand_references(
    doc: Any, base_url: str, read: Reader, installed: Installed = _none
) -> Tuple[Any, Set[str]]:
    """`doc` with every `$import` and `$include` replaced by what it names,
    and the installed copies left as `$import` (see the module's doc).

    References resolve against the URL of the document that holds them
    (`base_url` for the workflow itself). `read(url)` returns a file's bytes
    or raises a JobRefused error saying why it may not be read.
    """
    expander = _Expander(read, installed)
    expanded = expander.expand(doc, base_url, 0, ())
    return _resolve_names(expanded, expander.imported), expander.kept
