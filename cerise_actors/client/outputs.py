"""A finished job's outputs: files to read, save or stream, and plain values.

The service publishes output files under URLs (`<files>/output/<job id>/...`,
or `file://` URLs when client and service share a file system); these
objects fetch them on demand, so looking at a job's outputs costs nothing
until a file is actually read. Downloads are streamed: `save()` never holds
a whole file in memory, and writes to a temporary name first so that an
interrupted download never leaves a truncated file under the real name.
"""

import os
import urllib.parse
from pathlib import Path
from typing import Any, Iterator, List, Optional, Union

from .errors import DownloadFailed
from .http import CHUNK_SIZE, Http

PathLike = Union[str, 'os.PathLike[str]']


def _basename(data: dict) -> str:
    name = data.get('basename')
    if isinstance(name, str) and name and '/' not in name and name not in ('.', '..'):
        return name
    path = urllib.parse.urlsplit(str(data.get('location', ''))).path
    name = urllib.parse.unquote(path.rstrip('/').rsplit('/', 1)[-1])
    return name if name not in ('', '.', '..') else 'output'


def _relative(location: str, job_id: Optional[str], fallback: str) -> str:
    """The path below the job's output folder (unique among its outputs)."""
    if job_id:
        path = urllib.parse.unquote(urllib.parse.urlsplit(location).path)
        marker = f'/output/{job_id}/'
        if marker in path:
            relative = path.split(marker, 1)[1].strip('/')
            parts = [part for part in relative.split('/') if part not in ('', '.', '..')]
            if parts:
                return '/'.join(parts)
    return fallback


class OutputFile:
    """A CWL File output: `location`, `basename`, `size`, `checksum`, the raw `data`."""

    def __init__(self, data: dict, http: Http, job_id: Optional[str] = None):
        self.data = data
        self._http = http
        self.location: str = data.get('location', '')
        self.basename = _basename(data)
        self.size: Optional[int] = data.get('size')
        self.checksum: Optional[str] = data.get('checksum')
        self.relative_path = _relative(self.location, job_id, self.basename)
        self.secondary_files: List[Any] = [
            wrap_outputs(item, http, job_id) for item in data.get('secondaryFiles', [])
        ]

    def __repr__(self) -> str:
        return f'OutputFile({self.location!r})'

    def stream(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The file's bytes, chunk by chunk, as they arrive."""
        if not self.location:
            raise DownloadFailed(f'output {self.basename} has no location')
        return self._http.stream(self.location, chunk_size)

    def read_bytes(self) -> bytes:
        return b''.join(self.stream())

    def text(self, encoding: str = 'utf-8') -> str:
        return self.read_bytes().decode(encoding)

    def save(self, path: PathLike = '.') -> Path:
        """Download to `path` (into it, under `basename`, if it is a folder); the path."""
        target = Path(path)
        if target.is_dir():
            target = target / self.basename
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + '.part')
        try:
            with open(partial, 'wb') as out:
                for chunk in self.stream():
                    out.write(chunk)
            os.replace(partial, target)
        except BaseException:
            try:
                partial.unlink()
            except OSError:
                pass
            raise
        return target


class OutputDirectory:
    """A CWL Directory output; `listing` holds its entries when the service gave them."""

    def __init__(self, data: dict, http: Http, job_id: Optional[str] = None):
        self.data = data
        self.location: str = data.get('location', '')
        self.basename = _basename(data)
        self.relative_path = _relative(self.location, job_id, self.basename)
        listing = data.get('listing')
        self.listing: Optional[List[Any]] = (
            [wrap_outputs(item, http, job_id) for item in listing]
            if isinstance(listing, list)
            else None
        )

    def __repr__(self) -> str:
        return f'OutputDirectory({self.location!r})'

    def save(self, path: PathLike = '.') -> Path:
        """Download the whole folder to `path` (into it if `path` is an existing folder)."""
        if self.listing is None:
            raise DownloadFailed(
                f'cannot download the folder {self.location}: the '
                f'service did not list its contents',
                self.location,
            )
        target = Path(path)
        if target.is_dir():
            target = target / self.basename
        target.mkdir(parents=True, exist_ok=True)
        for entry in self.listing:
            if isinstance(entry, (OutputFile, OutputDirectory)):
                entry.save(target / entry.basename)
        return target


def wrap_outputs(value: Any, http: Http, job_id: Optional[str] = None) -> Any:
    """The output object with File/Directory dicts replaced by OutputFile/OutputDirectory."""
    if isinstance(value, list):
        return [wrap_outputs(item, http, job_id) for item in value]
    if isinstance(value, dict):
        if value.get('class') == 'File':
            return OutputFile(value, http, job_id)
        if value.get('class') == 'Directory':
            return OutputDirectory(value, http, job_id)
        return {key: wrap_outputs(item, http, job_id) for key, item in value.items()}
    return value


def output_files(value: Any) -> Iterator[Union[OutputFile, OutputDirectory]]:
    """Every top-level file or folder in a wrapped output object (with secondaries)."""
    if isinstance(value, list):
        for item in value:
            yield from output_files(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from output_files(item)
    elif isinstance(value, OutputFile):
        yield value
        yield from output_files(value.secondary_files)
    elif isinstance(value, OutputDirectory):
        yield value
