"""Planning which input files to copy to the compute resource, and where.

The job's input object names files by URL. Each file (or directory) is copied
into the job's work dir, and the input object sent to the runner is rewritten
to point at those copies, so the runner never reads anything outside the job.

Every primary file gets a folder of its own, ``input/<n>/``, so that files
with the same name in different inputs cannot collide. Secondary files go in
their primary's folder, because CWL finds them by name next to the primary.
"""

import copy
import re
from dataclasses import dataclass
from typing import Any, List, Optional, Set, Tuple
from urllib.parse import quote, unquote, urljoin, urlsplit

from ..errors import InvalidInput

_SCHEME = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*:')
_FILE_CLASSES = ('File', 'Directory')


@dataclass(frozen=True)
class InputFile:
    """One file or directory to copy into the job's work dir."""

    source: str  # absolute URL as given (file://, http(s)://, ...)
    target: str  # relative to the job's work dir: 'input/3/hello.txt'
    is_directory: bool
    name: str  # the input parameter it belongs to, for messages


class _Folder:
    """An ``input/<n>`` folder, numbered only once something is put in it."""

    def __init__(self, planner: '_Planner') -> None:
        self._planner = planner
        self._path: Optional[str] = None

    @property
    def path(self) -> str:
        if self._path is None:
            self._planner.count += 1
            self._path = f'{self._planner.folder}/{self._planner.count}'
        return self._path


class _Planner:
    """Walks one input object, collecting files and rewriting locations."""

    def __init__(self, work_dir: str, folder: str = 'input', base_url: Optional[str] = None):
        self.work_dir = work_dir.rstrip('/')
        self.folder = folder
        self.base_url = base_url  # relative locations resolve against it, if given
        self.count = 0
        self.files: List[InputFile] = []
        self.targets: Set[str] = set()

    def walk(self, value: Any, name: str) -> Any:
        if isinstance(value, list):
            return [self.walk(item, name) for item in value]
        if isinstance(value, dict):
            if value.get('class') in _FILE_CLASSES:
                return self.file_object(value, name, None)
            if 'class' in value and ('location' in value or 'path' in value):
                # e.g. 'cwl:File': the runner would read it, we would not
                # stage it.
                raise InvalidInput(
                    f"input '{name}': an object with class "
                    f'{value["class"]!r} and a location is not allowed; use '
                    f'class File or Directory'
                )
            return {key: self.walk(item, name) for key, item in value.items()}
        return value

    def file_object(self, obj: dict, name: str, folder: Optional[_Folder]) -> dict:
        """Stage a File/Directory (in ``folder`` if it is a secondary)."""
        cls = obj['class']
        if 'basename' in obj:  # also of a literal: the runner writes it under that name
            plain_basename(obj['basename'], name)
        _no_hidden_files(obj, name)
        source = self.source_of(obj, name)
        if source is None:
            return self.literal(obj, name, folder)
        if folder is None:
            folder = _Folder(self)
        basename = self.basename_of(obj, source, name)
        target = f'{folder.path}/{basename}'
        if target in self.targets:
            raise InvalidInput(
                f"input '{name}': two files would both be staged as "
                f"'{target}'; give them different names"
            )
        self.targets.add(target)
        self.files.append(InputFile(source, target, cls == 'Directory', name))

        result = copy.deepcopy(obj)
        result.pop('path', None)
        result['location'] = 'file://' + quote(f'{self.work_dir}/{target}')
        if cls == 'Directory':
            result.pop('listing', None)  # the whole directory is copied
        if 'secondaryFiles' in obj:
            result['secondaryFiles'] = self.secondaries(obj, name, folder)
        return result

    def literal(self, obj: dict, name: str, folder: Optional[_Folder]) -> dict:
        """A File with ``contents`` or a Directory built from ``listing``."""
        cls = obj['class']
        if cls == 'File' and 'contents' in obj:
            result = copy.deepcopy(obj)
            if 'secondaryFiles' in obj:
                result['secondaryFiles'] = self.secondaries(obj, name, folder or _Folder(self))
            return result
        if cls == 'Directory' and isinstance(obj.get('listing'), list):
            # The runner assembles it from its entries, so each entry is
            # staged as a primary of its own.
            result = copy.deepcopy(obj)
            result['listing'] = [self.entry(item, name) for item in obj['listing']]
            if 'secondaryFiles' in obj:
                result['secondaryFiles'] = self.secondaries(obj, name, folder or _Folder(self))
            return result
        raise InvalidInput(
            f"input '{name}': a {cls} needs a 'location' (or 'path')"
            + (" or 'contents'" if cls == 'File' else " or a 'listing'")
        )

    def entry(self, item: Any, name: str) -> Any:
        if not isinstance(item, dict) or item.get('class') not in _FILE_CLASSES:
            raise InvalidInput(
                f"input '{name}': a Directory listing may only contain File and Directory objects"
            )
        return self.file_object(item, name, None)

    def secondaries(self, obj: dict, name: str, folder: _Folder) -> list:
        secondary = obj['secondaryFiles']
        if not isinstance(secondary, list):
            raise InvalidInput(
                f"input '{name}': secondaryFiles must be a list of File or Directory objects"
            )
        result = []
        for item in secondary:
            if not isinstance(item, dict) or item.get('class') not in _FILE_CLASSES:
                raise InvalidInput(
                    f"input '{name}': secondaryFiles must be a list of File or Directory objects"
                )
            result.append(self.file_object(item, name, folder))
        return result

    def source_of(self, obj: dict, name: str) -> Optional[str]:
        """The absolute URL to copy from, or None for a literal."""
        location = obj.get('location')
        if location is not None:
            if not isinstance(location, str):
                raise InvalidInput(f"input '{name}': location {location!r} is not a URL")
            if location.startswith('_:') and 'contents' in obj:
                return None  # a literal with a blank-node id
            if _SCHEME.match(location):
                return location
            if location.startswith('/'):
                return 'file://' + quote(location)
            if self.base_url is not None:
                return urljoin(self.base_url, location)
            raise InvalidInput(f"input '{name}': location {location!r} is not an absolute URL")
        path = obj.get('path')
        if path is None:
            return None
        if isinstance(path, str) and path.startswith('/'):
            return 'file://' + quote(path)
        if isinstance(path, str) and self.base_url is not None:
            return urljoin(self.base_url, quote(path))
        raise InvalidInput(f"input '{name}': path {path!r} is not an absolute path")

    @staticmethod
    def basename_of(obj: dict, source: str, name: str) -> str:
        basename = obj.get('basename')
        if basename is None:
            url_path = urlsplit(source).path
            basename = unquote(url_path.rsplit('/', 1)[-1])
        if not is_plain_name(basename):
            raise InvalidInput(
                f"input '{name}': cannot use {basename!r} as a file name "
                f"(from {source!r}); give a 'basename'"
            )
        return basename


def _holds_file_object(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get('class') in _FILE_CLASSES:
                return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _no_hidden_files(obj: dict, name: str) -> None:
    """A File or Directory holds others only in `secondaryFiles` and `listing`,
    which are staged; one under any other key would reach the runner as given,
    naming any file at all (a review found `extra: {class: File, location:
    file:///etc/passwd}` passed along unchecked)."""
    for key, value in obj.items():
        if key not in ('secondaryFiles', 'listing') and _holds_file_object(value):
            raise InvalidInput(
                f"input '{name}': a {obj['class']} may hold File and Directory objects only "
                f"in 'secondaryFiles' and 'listing', not in {str(key)[:100]!r}"
            )


def is_plain_name(basename: Any) -> bool:
    """Whether `basename` names one file in a folder: no '/', not '.' or '..', no NUL."""
    return (
        isinstance(basename, str)
        and basename not in ('', '.', '..')
        and '/' not in basename
        and '\0' not in basename
    )


def plain_basename(basename: Any, name: str) -> str:
    """A File's or Directory's `basename`, refused unless it is a plain name.

    The runner writes a literal File (`contents`) and builds a literal
    Directory (`listing`) under their basenames: an absolute or climbing one
    made it write anywhere the service's account may (issue 18, a red-team
    probe that overwrote an installed step and so ran its own command).
    """
    if not is_plain_name(basename):
        raise InvalidInput(
            f"input '{name}': the basename {str(basename)[:200]!r} is not a plain file "
            f"name (no '/', not '.' or '..')"
        )
    return basename


def _is_directive(key: Any) -> bool:
    return not isinstance(key, str) or key.startswith('$') or ':' in key


def _check_keys(value: Any, name: str) -> None:
    """Refuse ``$import``-style directives and extension keys at any depth.

    The runner loads the input object with a schema-salad loader, which
    would follow ``$import``/``$include`` to files on the compute resource.
    """
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, item in node.items():
                if _is_directive(key):
                    raise InvalidInput(
                        f"input '{name}': the key {key!r} is not allowed; "
                        f"keys starting with '$' or containing ':' are "
                        f'directives or extensions for the runner'
                    )
                stack.append(item)
        elif isinstance(node, list):
            stack.extend(node)


def plan_inputs(input_doc: dict, work_dir: str) -> Tuple[dict, list]:
    """Return the rewritten input object and the files to copy.

    ``work_dir`` is the job's work dir on the compute resource. Locations in
    the returned object point at the copies there; ``path`` is dropped
    because the runner recomputes it. Raises InvalidInput for input objects
    that cannot be staged safely.
    """
    if not isinstance(input_doc, dict):
        raise InvalidInput('the job input must be a JSON object mapping input names to values')
    planner = _Planner(work_dir)
    result = {}
    for key, value in input_doc.items():
        if _is_directive(key):
            raise InvalidInput(
                f"input {key!r} is not allowed: names starting with '$' or "
                f"containing ':' are runner directives or extensions (such "
                f'as cwltool:overrides) that could change how steps run'
            )
        try:
            _check_keys(value, key)
            result[key] = planner.walk(value, key)
        except RecursionError:
            raise InvalidInput(f"input '{key}' is nested too deeply") from None
    return result, planner.files


def plan_defaults(doc: Any, work_dir: str, base_url: str) -> list:
    """Stage the File and Directory objects a workflow itself holds (defaults).

    Relative locations resolve against `base_url`, the workflow's own URL,
    as a runner would resolve them next to the workflow. Each is copied
    into ``defaults/<n>/`` of the job's work dir and `doc` (the rewritten
    workflow) is changed in place to point there. Returns the files to copy;
    whether a source may be read is the stager's decision, as for inputs.
    """
    planner = _Planner(work_dir, folder='defaults', base_url=base_url)

    def visit(node: Any, path: tuple) -> Any:
        if isinstance(node, dict) and node.get('class') in _FILE_CLASSES and path:
            where = '.'.join(map(str, path))
            return planner.file_object(node, f'default at {where}', None)
        if isinstance(node, dict):
            for key in list(node):
                node[key] = visit(node[key], path + (key,))
        elif isinstance(node, list):
            node[:] = [visit(item, path + (i,)) for i, item in enumerate(node)]
        return node

    visit(doc, ())
    return planner.files
