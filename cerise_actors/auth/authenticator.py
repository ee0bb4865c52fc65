"""A request's credentials to the user they belong to, or why they are refused.

Two ways to present a token, both on every request:

- `Authorization: Bearer <token>` (WES clients, our own client and CLI);
- HTTP Basic with any user name and the token as password, which is what a
  client sends for credentials written in the URL
  (`http://cerise:<token>@host:port`), so clients that know nothing of tokens
  work unchanged.

Where the tokens come from:

- `SingleToken`: `auth: token`, the one token in the run folder; its user
  is '' (the service has one user, whose jobs and files are the service's).
- `UsersFile`: `rest-service.users`; a token `<name>.<secret>` is checked
  against that user's salted hash (a microsecond, the same for a name that
  is not in the file). The file is read again when it changes (looked at
  no more than once a second), so adding, replacing or removing a user
  needs no restart.

Each answers `who(token)`: the user's name, or None. Anything that goes
wrong while checking (a file that cannot be read any more) refuses.
"""

import base64
import binascii
import logging
import threading
import time
from pathlib import Path
from typing import NamedTuple, Optional

from . import users as users_file
from .hashing import same_secret

logger = logging.getLogger(__name__)

#: seconds between looks at the users file for changes
RECHECK_SECONDS = 1.0


class Presented(NamedTuple):
    """What an Authorization header holds: a token, or a problem ('' if fine)."""

    token: str
    problem: str


def presented_token(header: Optional[str]) -> Presented:
    """The token of an `Authorization` header value (Bearer, or Basic's
    password), or what is wrong with the header."""
    if not header:
        return Presented('', 'no credentials')
    scheme, _, rest = header.strip().partition(' ')
    rest = rest.strip()
    if scheme.lower() == 'bearer' and rest:
        return Presented(rest, '')
    if scheme.lower() == 'basic' and rest:
        try:
            decoded = base64.b64decode(rest, validate=True).decode('utf-8')
        except (binascii.Error, ValueError):
            return Presented('', 'an Authorization header that cannot be read')
        _, colon, password = decoded.partition(':')
        if colon and password:
            return Presented(password, '')
        return Presented('', 'Basic credentials without a password (the token)')
    return Presented('', 'an Authorization header that is neither Bearer nor Basic')


class SingleToken:
    """One token, for the service's one user ''."""

    def __init__(self, token: str):
        self._token = token

    def who(self, token: str) -> Optional[str]:
        return '' if same_secret(token, self._token) else None


class UsersFile:
    """The users of `rest-service.users`, read again when the file changes."""

    def __init__(self, path: Path):
        self._path = Path(path)
        self._lock = threading.Lock()
        self._users = users_file.read_users(self._path)  # a bad file stops the start
        self._looked = time.monotonic()

    @property
    def names(self):
        return sorted(self._users.hashes)

    def who(self, token: str) -> Optional[str]:
        users = self._current()
        if users is None:
            return None
        return users_file.check_token(users, token) or None

    def _current(self) -> Optional[users_file.Users]:
        """The users, read again if the file changed; None (every token
        refused) if the file cannot be read or trusted any more."""
        now = time.monotonic()
        with self._lock:
            if now - self._looked < RECHECK_SECONDS:
                return self._users
            self._looked = now
            try:
                if users_file.stamp_of(self._path) == self._users.stamp:
                    return self._users
                fresh = users_file.read_users(self._path)
            except (OSError, users_file.UsersFileError) as exc:
                logger.error('auth: refusing every token: %s', exc)
                self._users = users_file.Users({}, (0, 0, 0))
                return None
            logger.info('auth: read %s again: %d users', self._path, len(fresh.hashes))
            self._users = fresh
            return fresh
