"""Turning Python values into a CWL input object, uploading local files on the way.

The rules (also in Job.add_input's docstring):

- a `pathlib.Path` (anywhere), or a `str` given directly or as an item of a
  list, is a local file or folder: it is uploaded and becomes a CWL File or
  Directory. A `str` containing `://` is a URL the service reads itself.
- `bytes` and file objects are uploaded as Files (named after the input, or
  after the file object's `name`).
- a dict with `class: File` or `class: Directory` keeps its other fields; its
  `location` (or `path`) and each of its `secondaryFiles` may be any of the
  above. `basename` chooses the uploaded file's name.
- other dicts are CWL records: their values are walked, but a `str` in
  them stays a string (only Paths, bytes and file objects are files there).
- numbers, booleans, None and strings elsewhere are plain JSON.

Every local path is checked before anything is uploaded (`check_input`), so
a typo fails at once and leaves nothing half-uploaded behind.
"""

import abc
import os
import re
from pathlib import Path
from typing import Any, Optional, Set

from .errors import InputError, InputFileMissing

FILE_CLASSES = ('File', 'Directory')
_UNSAFE = re.compile(r'[^A-Za-z0-9._-]+')


class Uploader(abc.ABC):
    """Where a walk puts files: paths are relative to the job's upload folder."""

    @abc.abstractmethod
    def put(self, relative: str, source: Any) -> str:
        """Upload `source` (Path, bytes or file object); the URL the job names it by."""

    @abc.abstractmethod
    def url_of(self, relative: str) -> str:
        """The URL of an uploaded file."""

    @abc.abstractmethod
    def make_folders(self, relative: str) -> None:
        """Create the folder (and its parents) before a streamed upload."""


def safe_name(text: str, fallback: str = 'input') -> str:
    """A name usable as one URL path segment and one folder name."""
    cleaned = _UNSAFE.sub('_', str(text)).strip('._')[:64]
    return cleaned or fallback


def is_url(text: str) -> bool:
    return '://' in text


def is_file_object(value: Any) -> bool:
    return hasattr(value, 'read') and callable(value.read)


class Layout:
    """Chooses where each upload goes inside a job's folder, never twice the same.

    `<input>/<basename>`, or `<input>/<n>/<basename>` when that name is taken
    (two array items called data.txt); secondary files go next to their
    primary, as CWL expects to find them by name.
    """

    def __init__(self) -> None:
        self.used: Set[str] = set()

    def reserve(self, folder: str, basename: str) -> str:
        base, suffix = folder, 1
        while folder and self._is_taken_folder(folder):  # a file already has that name
            suffix += 1
            folder = f'{base}_{suffix}'
        candidate = f'{folder}/{basename}' if folder else basename
        number = 1
        while self._clashes(candidate):
            number += 1
            candidate = f'{folder}/{number}/{basename}' if folder else f'{number}/{basename}'
        self.used.add(candidate)
        return candidate

    def _is_taken_folder(self, folder: str) -> bool:
        parts = folder.split('/')
        return any('/'.join(parts[:n]) in self.used for n in range(1, len(parts) + 1))

    def _clashes(self, candidate: str) -> bool:
        parents = candidate.split('/')
        return (
            candidate in self.used
            or any(used.startswith(candidate + '/') for used in self.used)
            or any('/'.join(parents[:n]) in self.used for n in range(1, len(parents)))
        )


class _Walker:
    """One pass over one input value: checking only (no uploader), or uploading."""

    def __init__(
        self,
        name: str,
        uploader: Optional[Uploader],
        layout: Optional[Layout],
        string_hint: bool = False,
    ):
        self.name = name
        self.uploader = uploader
        self.layout = layout or Layout()
        self.folder = safe_name(name)
        self.string_hint = string_hint

    # --- dispatch ----------------------------------------------------------
    def value(self, value: Any, strings_as_paths: bool) -> Any:
        if isinstance(value, os.PathLike):
            return self.local(Path(value), None, {})
        if isinstance(value, str):
            if not strings_as_paths:
                return value
            if is_url(value):
                return {'class': 'File', 'location': value}
            if not value:
                raise InputError(
                    f"input '{self.name}': an empty string is not a path; use "
                    f'set_input() for string inputs'
                )
            try:
                return self.local(Path(value), None, {})
            except InputFileMissing as exc:
                if not self.string_hint:
                    raise
                raise InputFileMissing(
                    exc.path,
                    self.name,
                    hint=f'; the workflow does not say whether {self.name!r} is a string or '
                    f'a File, so a str is taken as a path. If it is text, use '
                    f'set_input({self.name!r}, {value!r:.60})',
                ) from None
        if isinstance(value, (bytes, bytearray, memoryview)) or is_file_object(value):
            return self.upload_file(value, None, {}, None)
        if isinstance(value, (list, tuple)):
            return [self.value(item, strings_as_paths) for item in value]
        if isinstance(value, dict):
            if value.get('class') in FILE_CLASSES:
                return self.file_object(value, None)
            return {key: self.value(item, False) for key, item in value.items()}
        if value is None or isinstance(value, (bool, int, float)):
            return value
        raise InputError(
            f"input '{self.name}': cannot send a {type(value).__name__} "
            f'({value!r:.60}); use a path, bytes, a file object, a '
            f'File/Directory dict or plain JSON'
        )

    # --- File and Directory objects ----------------------------------------
    def file_object(self, obj: dict, folder: Optional[str]) -> dict:
        """A CWL File/Directory dict; `folder` is the primary's upload folder."""
        result = dict(obj)
        source = obj['location'] if 'location' in obj else obj.get('path')
        if 'secondaryFiles' in obj and not isinstance(obj['secondaryFiles'], list):
            raise InputError(f"input '{self.name}': secondaryFiles must be a list")
        if source is None:  # a literal: File with contents, Directory with listing
            if 'listing' in obj and isinstance(obj['listing'], list):
                result['listing'] = [self.entry(item) for item in obj['listing']]
            own_folder = folder
        elif isinstance(source, str) and is_url(source):
            own_folder = folder
        elif isinstance(source, (str, os.PathLike)):
            result.pop('path', None)
            result, own_folder = self.local_into(Path(source), folder, result)
        elif isinstance(source, (bytes, bytearray, memoryview)) or is_file_object(source):
            result.pop('path', None)
            if obj['class'] != 'File':
                raise InputError(
                    f"input '{self.name}': a Directory cannot come from "
                    f'bytes or a file object; give a local folder'
                )
            if folder is not None and not obj.get('basename') and _name_of(source) is None:
                raise _unnamed_secondary(self.name)
            result, own_folder = self.upload_file_into(source, folder, result, obj.get('basename'))
        else:
            raise InputError(
                f"input '{self.name}': location {source!r:.60} is not a "
                f'path, URL, bytes or file object'
            )
        if 'secondaryFiles' in obj:
            result['secondaryFiles'] = [
                self.secondary(item, own_folder) for item in obj['secondaryFiles']
            ]
        return result

    def entry(self, item: Any) -> Any:
        if isinstance(item, dict) and item.get('class') in FILE_CLASSES:
            return self.file_object(item, None)
        return self.value(item, True)

    def secondary(self, item: Any, folder: Optional[str]) -> dict:
        if isinstance(item, dict):
            if item.get('class') not in FILE_CLASSES:
                raise InputError(
                    f"input '{self.name}': secondaryFiles must be Files or Directories"
                )
            return self.file_object(item, folder)
        if isinstance(item, str) and is_url(item):
            return {'class': 'File', 'location': item}
        if isinstance(item, (str, os.PathLike)):
            return self.local(Path(item), folder, {})
        if isinstance(item, (bytes, bytearray, memoryview)) or is_file_object(item):
            if _name_of(item) is None:
                raise _unnamed_secondary(self.name)
            return self.upload_file(item, folder, {}, None)
        raise InputError(f"input '{self.name}': cannot use {item!r:.60} as a secondary file")

    # --- uploads -----------------------------------------------------------
    def local(self, path: Path, folder: Optional[str], fields: dict) -> dict:
        return self.local_into(path, folder, fields)[0]

    def local_into(self, path: Path, folder: Optional[str], fields: dict):
        path = path.expanduser()
        cls = fields.get('class')
        if cls == 'Directory' or (cls is None and path.is_dir()):
            if not path.is_dir():
                raise InputFileMissing(path, self.name, 'folder')
            return self.upload_directory(path, folder, fields)
        if not path.is_file():
            if path.is_dir():
                raise InputError(
                    f"input '{self.name}': {path} is a folder; use "
                    f"{{'class': 'Directory', 'location': ...}} for folders"
                )
            raise InputFileMissing(path, self.name)
        return self.upload_file_into(path, folder, fields, fields.get('basename'))

    def upload_file(self, source, folder, fields, basename):
        return self.upload_file_into(source, folder, fields, basename)[0]

    def upload_file_into(
        self, source, folder: Optional[str], fields: dict, basename: Optional[str]
    ):
        basename = basename or _name_of(source) or self.folder
        _check_basename(basename, self.name)
        result = dict(fields)
        result.setdefault('class', 'File')
        if self.uploader is None:
            return result, folder or self.folder
        relative = self.layout.reserve(folder if folder is not None else self.folder, basename)
        result['location'] = self.uploader.put(relative, source)
        return result, relative.rsplit('/', 1)[0]

    def upload_directory(self, path: Path, folder: Optional[str], fields: dict):
        basename = fields.get('basename') or path.resolve().name or self.folder
        _check_basename(basename, self.name)
        result = dict(fields)
        result['class'] = 'Directory'
        result.pop('listing', None)  # the uploaded folder is the listing
        if self.uploader is None:
            return result, folder or self.folder
        relative = self.layout.reserve(folder if folder is not None else self.folder, basename)
        uploaded = 0
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                local = Path(root) / name
                inside = local.relative_to(path).as_posix()
                self.uploader.put(f'{relative}/{inside}', local)
                uploaded += 1
        if not uploaded:  # PUT creates folders only for the files it writes
            self.uploader.make_folders(relative)
        result['location'] = self.uploader.url_of(relative)
        return result, relative.rsplit('/', 1)[0]


def _name_of(source: Any) -> Optional[str]:
    if isinstance(source, Path):
        return source.name
    name = getattr(source, 'name', None)
    if isinstance(name, str) and name and not name.startswith('<'):
        return os.path.basename(name)
    return None


def _unnamed_secondary(input_name: str) -> InputError:
    return InputError(
        f"input '{input_name}': a secondary file given as bytes needs a name: "
        f"use {{'class': 'File', 'location': <bytes>, 'basename': 'x.idx'}}"
    )


def _check_basename(basename: Any, input_name: str) -> None:
    if (
        not isinstance(basename, str)
        or basename in ('', '.', '..')
        or '/' in basename
        or '\0' in basename
    ):
        raise InputError(f"input '{input_name}': cannot use {basename!r} as a file name")


def check_input(
    name: str, value: Any, strings_as_paths: bool = True, string_hint: bool = False
) -> Any:
    """Raise InputFileMissing/InputError for `value` without uploading anything;
    the CWL value it would become, without locations (for its type check).

    With `string_hint`, a missing file named by a str says to use set_input()
    if the str is text.
    """
    return _Walker(name, None, None, string_hint).value(value, strings_as_paths)


def convert_input(
    name: str,
    value: Any,
    uploader: Uploader,
    layout: Layout,
    strings_as_paths: bool = True,
    string_hint: bool = False,
) -> Any:
    """The CWL value for `value`, after uploading its files with `uploader`."""
    check_input(name, value, strings_as_paths, string_hint)
    return _Walker(name, uploader, layout).value(value, strings_as_paths)
