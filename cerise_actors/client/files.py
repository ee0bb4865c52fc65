"""The service's file area (`<service>/files`), reached over WebDAV.

Like Cerise's own client, a job's workflow and input files are PUT under
`<files>/input/<upload folder>/...` and the job names them by those URLs;
the service reads them from its side of the same folder. Deleting the
upload folder removes the job's inputs.

PUT is expected to create missing parent folders. A strict WebDAV server
(nginx, Apache) answers 409 Conflict instead; then the parents are created
with MKCOL and the upload is tried once more, so the client also works with
a file area served by something other than cerise-actors.
"""

import io
import urllib.parse
from pathlib import Path
from typing import IO, Callable, List, Optional, Union

from .errors import ServiceError, UploadFailed
from .http import Http, Response, join_url

Source = Union[Path, bytes, bytearray, memoryview, IO]


class FileArea:
    """The file area at `url`; paths given to its methods are relative to it."""

    def __init__(self, http: Http, url: str):
        self.http = http
        self.url = url.rstrip('/')

    def url_of(self, relative: str) -> str:
        return join_url(self.url, relative)

    def relative_of(self, url: str) -> Optional[str]:
        """The path of `url` inside the file area, or None if it is elsewhere."""
        prefix = self.url + '/'
        if not url.startswith(prefix):
            return None
        return urllib.parse.unquote(url[len(prefix) :])

    def put(self, relative: str, source: Source) -> str:
        """Upload `source` (a local file, bytes or a file object) to `relative`; its URL."""
        url = self.url_of(relative)
        parent = relative.rsplit('/', 1)[0] if '/' in relative else ''
        rewind = _rewinder(source)
        if rewind is None:  # a pipe cannot be sent twice: make the folders first
            self.make_folders(parent)
        answer = self._put_once(url, source)
        if answer.status == 409 and rewind is not None:
            self.make_folders(parent)
            rewind()
            answer = self._put_once(url, source)
        if not answer.ok:
            raise UploadFailed(_put_failure(url, answer), url, answer.status)
        return url

    def _put_once(self, url: str, source: Source) -> Response:
        headers = {'Content-Type': 'application/octet-stream'}
        if isinstance(source, Path):
            try:
                stream = open(source, 'rb')
            except OSError as exc:
                raise UploadFailed(f'cannot read {source}: {exc.strerror or exc}', url) from exc
            with stream:
                return self.http.request('PUT', url, data=stream, headers=headers)
        if isinstance(source, (bytearray, memoryview)):
            source = bytes(source)
        return self.http.request('PUT', url, data=source, headers=headers)

    def make_folders(self, relative: str) -> None:
        """MKCOL each level of `relative` (existing folders are fine)."""
        parts: List[str] = [part for part in relative.split('/') if part]
        for depth in range(1, len(parts) + 1):
            self.http.request('MKCOL', self.url_of('/'.join(parts[:depth])) + '/')

    def delete_folder(self, relative: str) -> bool:
        """Remove a folder and everything in it; False if it was not there."""
        url = self.url_of(relative) + '/'
        answer = self.http.request('DELETE', url)
        if answer.status == 404:
            return False
        if not answer.ok:
            raise ServiceError(
                f'cannot remove the uploaded files at {url}: {answer.error_message()}',
                answer.status,
                url,
                *answer.error_fields(),
            )
        return True


def _rewinder(source: Source) -> Optional[Callable[[], object]]:
    """A way to send `source` again after a 409, if there is one."""
    if isinstance(source, (Path, bytes, bytearray, memoryview)):
        return lambda: None
    try:
        if source.seekable():
            start = source.tell()
            return lambda: source.seek(start)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pass
    return None


def _put_failure(url: str, answer: Response) -> str:
    if answer.status in (404, 405, 501):
        return (
            f'cannot upload to {url}: the service has no writable file area there '
            f'({answer.error_message()}); the service must serve its '
            f'store-location-client over WebDAV (PUT)'
        )
    if answer.status == 413:
        return f'cannot upload to {url}: the file is too large for the service'
    return f'cannot upload to {url}: {answer.error_message()}'
