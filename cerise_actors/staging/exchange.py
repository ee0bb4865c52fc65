"""The client file-exchange area: mapping URLs users give to files the service reads.

Users put inputs under `input/<job name>/` and find outputs under
`output/<job id>/`, addressing them with `store-location-client` URLs; the
service sees the same folder at `store-location-service`. A location a
user gives is turned into a name relative to that folder as text only
(`boundary/exchange_names.py`, the rule WES POST applies too: dot segments
resolved, climbs refused), or is an http(s) URL; anything else is refused. The file is then reached through
`Exchange.root`, a `boundary.confined.ConfinedRoot`, which follows no link:
no job can read /etc/passwd by naming it, by linking to it, or by swapping
a folder for a link while it is staged.
"""

import contextlib
import stat
import threading
from pathlib import Path
from typing import Dict, Optional, Sequence

from ..auth.users import valid_name
from ..boundary import exchange_names, locations
from ..boundary.confined import ConfinedRoot, Outside, Refused
from ..errors import InvalidInput


class Exchange:
    """The exchange folder; `client_url` is how clients address it, and
    `served_at` other URLs of the same folder (the service's own /files under
    the address it listens on), so a URL of the service's own /files is read
    from the folder, never fetched from the service by itself."""

    def __init__(
        self,
        service_dir: Path,
        client_url: str,
        served_at: Sequence[str] = (),
        per_user: bool = False,
    ):
        self.service_dir = Path(service_dir).resolve()
        self.client_url = client_url.rstrip('/')
        self._served_at = tuple(served_at)
        #: with a users file: each user's files are in `users/<name>/` (`for_user`)
        self.per_user = per_user
        self._users: Dict[str, Exchange] = {}
        self._users_lock = threading.Lock()
        #: every file of the area is opened, created and walked through this
        self.root = ConfinedRoot(self.service_dir)
        #: which name a URL or path names: the client URL and `served_at`, and
        #: the folder as configured or with its links resolved (WES POST asks it too)
        self.names = exchange_names.ExchangeNames(
            (client_url, *served_at), (str(self.service_dir), str(Path(service_dir).absolute()))
        )

    def for_user(self, user: str) -> 'Exchange':
        """The area of `user`'s files. With one user (no users file) that is
        this whole area. With a users file it is `users/<name>/` of it, an
        Exchange of its own: its URLs name files below that folder only, and
        its root opens nothing above it, so by construction one user's job
        never reads another's inputs, and outputs are published where only
        their owner finds them. Clients address it by the same URLs
        (`/files/input/...`); a file:// client URL gains `/users/<name>`."""
        if not self.per_user:
            return self
        if not valid_name(user):  # '' (no user) or anything odd: no area at all
            raise ValueError(f'no file area for user {user!r}')
        with self._users_lock:
            area = self._users.get(user)
            if area is None:
                client = self.client_url
                if client.lower().startswith('file:'):
                    client = f'{client}/users/{user}'
                area = Exchange(self.service_dir / 'users' / user, client, self._served_at)
                area.ensure_layout()
                self._users[user] = area
            return area

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
        try:
            return self.names.name_of(url)
        except exchange_names.OutsideArea:
            raise self._outside(url) from None
        except exchange_names.BadName as exc:
            raise InvalidInput(f'{url!r}: the path {exc.detail}') from None
        except exchange_names.NotLocalFile as exc:
            if exc.nul:
                raise InvalidInput(f'{url!r} {locations.NUL}') from None
            raise InvalidInput(f'{url}: file URLs must not name a host nor hold a query') from None
        except exchange_names.Unreadable:
            raise self._unreadable(url) from None

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
