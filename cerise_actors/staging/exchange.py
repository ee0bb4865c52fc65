"""The client file-exchange area: mapping URLs users give to files the service reads.

Users put inputs under `input/<job name>/` and find outputs under
`output/<job id>/`, addressing them with `store-location-client` URLs; the
service sees the same folder at `store-location-service`. A location a
user gives is turned into a name relative to that folder as text only
(`boundary/locations.py`: dot segments resolved, climbs refused), or is an
http(s) URL; anything else is refused. The file is then reached through
`Exchange.root`, a `boundary.confined.ConfinedRoot`, which follows no link:
no job can read /etc/passwd by naming it, by linking to it, or by swapping
a folder for a link while it is staged.
"""

import contextlib
import stat
from pathlib import Path
from typing import Optional, Sequence

from ..boundary import locations, names
from ..boundary.confined import ConfinedRoot, Outside, Refused
from ..errors import InvalidInput


class Exchange:
    """The exchange folder; `client_url` is how clients address it, and
    `served_at` other URLs of the same folder (the service's own /files under
    the address it listens on), so a URL of the service's own /files is read
    from the folder, never fetched from the service by itself."""

    def __init__(self, service_dir: Path, client_url: str, served_at: Sequence[str] = ()):
        self.service_dir = Path(service_dir).resolve()
        self.client_url = client_url.rstrip('/')
        self._prefixes = tuple(
            dict.fromkeys(f'{url.rstrip("/")}/' for url in (client_url, *served_at) if url)
        )
        #: every file of the area is opened, created and walked through this
        self.root = ConfinedRoot(self.service_dir)
        # a path may name the folder as configured or with its links resolved
        self._spellings = tuple(dict.fromkeys([str(self.service_dir), str(Path(service_dir))]))

    def ensure_layout(self) -> None:
        for sub in ('input', 'output'):
            (self.service_dir / sub).mkdir(parents=True, exist_ok=True)

    def output_dir(self, job_id: str) -> Path:
        return self.service_dir / 'output' / job_id

    def output_name(self, job_id: str) -> str:
        """The job's output folder, relative to `root`."""
        return f'output/{job_id}'

    def remove_outputs(self, job_id: str) -> None:
        """Remove `output/<job id>/` without following any link in it (a link
        planted there is removed, never what it points to); quietly, as
        what is left is only clutter."""
        with contextlib.suppress(OSError, Refused):
            self.root.remove(self.output_name(job_id))

    def output_url(self, job_id: str) -> str:
        return f'{self.client_url}/output/{job_id}'

    def name_of(self, url: str) -> Optional[str]:
        """The name below the area ('' for the area itself) that `url`
        names, None for an http(s) URL, which is fetched instead.

        Raises InvalidInput for anything else, with a message for the job log.
        """
        prefix = next((p for p in self._prefixes if url.startswith(p)), None)
        if prefix is not None:
            try:  # the one lexical rule for names in URLs, as /files and WES read them
                return '/'.join(names.resolve(url[len(prefix) :], decode=True))
            except names.LeavesRoot:
                raise self._outside(url) from None
            except names.NameRefused as exc:
                raise InvalidInput(f'{url!r}: the path {exc}') from None
        try:
            path = locations.local_path(url)
        except locations.NotLocal as exc:
            if exc.scheme in ('http', 'https'):
                return None
            if exc.reason == locations.NUL:
                raise self._refusal(url, exc.reason) from None
            if exc.scheme == 'file':
                raise InvalidInput(
                    f'{url}: file URLs must not name a host nor hold a query'
                ) from None
            raise self._unreadable(url) from None
        if path is None:
            raise self._unreadable(url)
        for root in self._spellings:
            name = locations.relative_below(path, root)
            if name is not None:
                return name
        raise self._outside(url)

    def checked_name(self, url: str) -> Optional[str]:
        """`name_of`, and a look (without following links) that the way to
        the file holds no link: a job naming one is refused before anything
        is copied. Reading goes through `root` again, which refuses a link
        met then, so this early look is for the message, not the safety."""
        name = self.name_of(url)
        if name is None:
            return None
        try:
            found = self.root.locate(name)
        except Refused as exc:
            raise self.refused(url, exc) from None
        except OSError:
            return name  # missing or unreadable: told when it is read
        if stat.S_ISLNK(found.st_mode):
            link = Outside(name, f'{name} is a symbolic link, which is never followed')
            raise self.refused(url, link)
        return name

    def refused(self, url: str, exc: Refused) -> InvalidInput:
        """The job-log message for `url`, whose file the confined root refused."""
        if isinstance(exc, Outside):
            return InvalidInput(f'{url}: outside the file exchange area ({exc.reason})')
        return InvalidInput(f'{url}: {exc.reason}')

    def _refusal(self, url: str, reason: str) -> InvalidInput:
        if reason == locations.NUL:
            return InvalidInput(f'{url!r} {reason}')
        return self._outside(url)

    def _outside(self, url: str) -> InvalidInput:
        return InvalidInput(
            f'{url}: outside the file exchange area; put the file under '
            f'{self.client_url}/input/ first'
        )

    def _unreadable(self, url: str) -> InvalidInput:
        return InvalidInput(
            f'{url}: not a location this service can read; use a URL under '
            f'{self.client_url}/ or an http(s) URL'
        )
