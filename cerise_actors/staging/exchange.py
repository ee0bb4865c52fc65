"""The client file-exchange area: mapping URLs users give to files the service reads.

Users put inputs under `input/<job name>/` and find outputs under
`output/<job id>/`, addressing them with `store-location-client` URLs; the
service sees the same folder at `store-location-service`. Anything a user
names must resolve inside that folder (after following symlinks), or be an
http(s) URL: no job can read /etc/passwd by naming it.
"""

import os
import urllib.parse
from pathlib import Path
from typing import Optional

from ..errors import InvalidInput


class Exchange:
    def __init__(self, service_dir: Path, client_url: str):
        self.service_dir = Path(service_dir).resolve()
        self.client_url = client_url.rstrip('/')

    def ensure_layout(self) -> None:
        for sub in ('input', 'output'):
            (self.service_dir / sub).mkdir(parents=True, exist_ok=True)

    def output_dir(self, job_id: str) -> Path:
        return self.service_dir / 'output' / job_id

    def output_url(self, job_id: str) -> str:
        return f'{self.client_url}/output/{job_id}'

    def local_path(self, url: str) -> Optional[Path]:
        """The file inside the exchange that `url` names, None for http(s).

        Raises InvalidInput for anything else, with a message for the job log.
        """
        if url.startswith('/'):
            return self._inside(Path(url), url)
        if self.client_url and url.startswith(self.client_url + '/'):
            relative = urllib.parse.unquote(url[len(self.client_url) + 1 :])
            return self._inside(self.service_dir / relative, url)
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme == 'file':
            if parsed.netloc not in ('', 'localhost'):
                raise InvalidInput(f'{url}: file URLs must not name a host')
            return self._inside(Path(urllib.parse.unquote(parsed.path)), url)
        if parsed.scheme in ('http', 'https'):
            return None
        raise InvalidInput(
            f'{url}: not a location this service can read; use a URL under '
            f'{self.client_url}/ or an http(s) URL'
        )

    def _inside(self, path: Path, url: str) -> Path:
        if '\x00' in str(path):  # realpath would raise ValueError
            raise InvalidInput(f'{url!r} contains a NUL character, which no file name can hold')
        resolved = Path(os.path.realpath(path))
        if resolved != self.service_dir and self.service_dir not in resolved.parents:
            raise InvalidInput(
                f'{url}: outside the file exchange area; put the file under '
                f'{self.client_url}/input/ first'
            )
        return resolved
