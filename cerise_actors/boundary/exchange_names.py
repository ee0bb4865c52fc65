"""Which name below the file-exchange area a URL or a path names: the one rule.

Stage-in reads a user's file from the exchange area by the name this module
gives, and WES `POST /runs` asks the same question of the same URLs, so a
run is refused at POST exactly when its staging would be. The area is known
by the URL prefixes that name it (`store-location-client`, the service's own
`/files` URLs) and by the spellings of its folder (as configured and with
its links resolved). `ExchangeNames.name_of(location)` is:

- for a URL below one of the prefixes: the rest, percent-decoded once and
  resolved lexically by `names.resolve` (dot segments, literal or encoded;
  NUL, backslash, control characters, names encoded twice refused);
- for an absolute path or a `file://` URL (read by `locations.local_path`:
  no other host, no query, no NUL; no control character, which a URL
  parser would silently drop): the path resolved lexically and taken
  relative to one spelling of the folder, its names held to the same rules;
- None for any other http(s) URL, which is fetched instead;
- refused for everything else: a `LocationRefused` whose subclass says why.

`OutsideArea.climbs` tells a location whose text starts in the area and
leaves it with `..` (`file:///<exchange>/../cerise.db`) from one that is
simply elsewhere (a client's own `/home/me/data.txt`). The answer is about
the text only: the file is then reached through `confined.ConfinedRoot`,
which follows no link. Standard library only.
"""

import re
import urllib.parse
from typing import Iterable, Optional, Tuple

from . import locations, names

#: C0 control characters, DEL and C1 control characters, as `names` refuses them
_CONTROL = re.compile('[\x01-\x1f\x7f-\x9f]')


class LocationRefused(ValueError):
    """A location no stage-in reads. `reason` completes "<location> ...";
    the message is the location, quoted and cut short, then the reason."""

    def __init__(self, location: str, reason: str):
        super().__init__(f'{location[:200]!r} {reason}')
        self.location = location
        self.reason = reason


class OutsideArea(LocationRefused):
    """A local path or a URL of the area that is not below it. `climbs`: its
    text starts in the area and `..` leads out of it."""

    def __init__(self, location: str, climbs: bool):
        reason = 'is outside the file exchange area'
        if climbs:
            reason += ': its .. segments leave it'
        super().__init__(location, reason)
        self.climbs = climbs


class BadName(LocationRefused):
    """A location in the area holding a name `names.resolve` refuses (NUL,
    backslash, control character, a name encoded twice, too long or deep).
    `detail` completes "the path ..."."""

    def __init__(self, location: str, detail: str):
        super().__init__(location, detail)
        self.detail = detail


class NotLocalFile(LocationRefused):
    """A `file://` URL naming another host or holding a query, or a location
    holding a NUL (`nul`)."""

    def __init__(self, location: str, reason: str):
        super().__init__(location, reason)
        self.nul = reason == locations.NUL


class Unreadable(LocationRefused):
    """Another scheme (`scheme`, lower case), or a relative name (`scheme` '')."""

    def __init__(self, location: str, scheme: str):
        if scheme:
            reason = f'is a {scheme}: URL, which this service does not read'
        else:
            reason = 'is a relative name, not a URL or an absolute path'
        super().__init__(location, reason)
        self.scheme = scheme


def has_user_info(location: object) -> bool:
    """Whether `location` is a URL with a user name or password in it."""
    if not isinstance(location, str) or '@' not in location:
        return False
    try:
        parts = urllib.parse.urlsplit(location)
    except ValueError:
        return True  # cannot tell: treat as holding credentials (refused)
    return '@' in parts.netloc


class ExchangeNames:
    """The exchange area as URLs and paths name it.

    `prefixes`: URLs of the area's folder (a trailing `/` is added);
    `folders`: absolute paths of that folder (as configured, resolved).
    """

    def __init__(self, prefixes: Iterable[str], folders: Iterable[str]):
        self.prefixes: Tuple[str, ...] = tuple(
            dict.fromkeys(f'{url.rstrip("/")}/' for url in prefixes if url)
        )
        spellings = [locations.normalise(str(folder)) for folder in folders]
        if not all(folder.startswith('/') for folder in spellings):
            raise ValueError('the folders of the exchange area must be absolute paths')
        self.folders: Tuple[str, ...] = tuple(dict.fromkeys(spellings))

    def name_of(self, location: str) -> Optional[str]:
        """The name below the area ('' for the area itself) that `location`
        names; None for an http(s) URL that is not the area's. Raises a
        `LocationRefused` for anything else (see the module's docstring)."""
        if not isinstance(location, str):
            raise Unreadable(repr(location), '')
        for prefix in self.prefixes:
            if location.startswith(prefix) or location + '/' == prefix:
                return self._below(location, location[len(prefix) :], decode=True)
        control = _CONTROL.search(location)
        if control is not None and locations.scheme_of(location) in ('', 'file'):
            # before parsing: a URL parser drops a tab or a newline without a word
            raise BadName(
                location,
                f'holds a control character ({ord(control.group()):#04x}), which no name '
                'here may hold',
            )
        try:
            path = locations.local_path(location)
        except locations.NotLocal as exc:
            if exc.scheme in ('http', 'https'):
                return None
            if exc.scheme in ('', 'file'):
                raise NotLocalFile(location, exc.reason) from None
            raise Unreadable(location, exc.scheme) from None
        if path is None:
            raise Unreadable(location, '')
        resolved = locations.normalise(path)
        for folder in self.folders:
            if resolved == folder:
                return ''
            start = folder.rstrip('/') + '/'
            if resolved.startswith(start):
                return self._below(location, resolved[len(start) :], decode=False)
        climbs = any(path.startswith(folder.rstrip('/') + '/') for folder in self.folders)
        raise OutsideArea(location, climbs)

    def without_own_credentials(self, location: str) -> str:
        """`location` without its user info, spelled as the area's own URL
        prefix, if it names the area by one of its URL prefixes: clients that
        know nothing of tokens send the service's own /files URLs with the
        token in them (`http://cerise:<token>@host:port/files/input/...`,
        cerise-client 0.3.1), and the token must be neither stored nor shown
        with the job. Scheme and host are compared without regard to case.
        Any other location is returned as it is (`has_user_info` tells
        whether it still holds credentials)."""
        if not has_user_info(location):
            return location
        try:
            parts = urllib.parse.urlsplit(location)
            host, port = parts.hostname, parts.port
        except ValueError:
            return location
        for prefix in self.prefixes:
            own = urllib.parse.urlsplit(prefix)
            if (
                own.scheme.lower() == parts.scheme.lower()
                and (own.hostname or '') == (host or '')
                and own.port == port
                and (parts.path + '/').startswith(own.path)
                and not parts.query
                and not parts.fragment
            ):
                return prefix + parts.path[len(own.path) :]
        return location

    @staticmethod
    def _below(location: str, rest: str, decode: bool) -> str:
        try:
            return '/'.join(names.resolve(rest, decode=decode))
        except names.LeavesRoot:
            raise OutsideArea(location, climbs=True) from None
        except names.NameRefused as exc:
            raise BadName(location, str(exc)) from None
