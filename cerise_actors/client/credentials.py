"""Finding the service's token, and the one rule for where it may be sent.

A service asks for a token on every request (issue 19). Users should not
have to pass it by hand when it can be found, as Jupyter's clients find
theirs, so `find_credential` looks in this order and takes the first:

1. `token=` given to Service (scripts that have it already);
2. `token_file=` given to Service (`--token-file`: a token never goes on a
   command line, where `ps` shows it to everyone);
3. the password in the service URL, `http://cerise:TOKEN@host:port` (the
   form the service prints, which clients that know nothing of tokens can
   use too); the credentials are always taken out of the URL the client
   uses, so they are never logged nor shown by repr();
4. the environment variable CERISE_TOKEN;
5. a file named by CERISE_TOKEN_FILE;
6. `run/token` in the current folder, where a service started from the
   repository folder keeps it; only for a service on a loopback address,
   so that a local service's token never goes to another machine.

The token is then sent only to the service's own origins (scheme, host and
port of the service URL and of its file area): output and input URLs may
point anywhere, and another host must never receive it (`Origins`).
"""

import ipaddress
import os
import urllib.parse
from pathlib import Path
from typing import Iterable, Mapping, Optional, Tuple

from .errors import TokenError

ENV_TOKEN = 'CERISE_TOKEN'
ENV_TOKEN_FILE = 'CERISE_TOKEN_FILE'
#: where `cerise-actors serve` with the shipped conf/config.yml keeps its token
LOCAL_TOKEN_FILE = Path('run') / 'token'
#: no token file is larger (a token is one short line)
MAX_TOKEN_FILE = 4096
_DEFAULT_PORTS = {'http': 80, 'https': 443}

Origin = Tuple[str, str, int]


class Credential:
    """A token and where it was found; repr() and str() never show the token."""

    __slots__ = ('_token', 'source')

    def __init__(self, token: str, source: str):
        self._token = token
        self.source = source

    @property
    def authorization(self) -> str:
        """The value of the Authorization header."""
        return f'Bearer {self._token}'

    def __repr__(self) -> str:
        return f'<token from {self.source}>'

    __str__ = __repr__


def split_url(url: str) -> Tuple[str, Optional[str]]:
    """(`url` without user name and password, the password or None)."""
    parts = urllib.parse.urlsplit(url)
    if '@' not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition('@')
    _, colon, password = userinfo.partition(':')
    clean = urllib.parse.urlunsplit(parts._replace(netloc=hostport))
    return clean, (urllib.parse.unquote(password) if colon and password else None)


def origin_of(url: str) -> Optional[Origin]:
    """(scheme, host, port) of an http(s) URL, default ports filled in; else None."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


class Origins:
    """The origins that may receive the token: exactly these, nothing else
    (no other port, no other scheme, no sub-domain, no 'same machine' guess)."""

    def __init__(self, urls: Iterable[str]):
        self._origins = frozenset(o for o in map(origin_of, urls) if o is not None)

    def covers(self, url: str) -> bool:
        origin = origin_of(url)
        return origin is not None and origin in self._origins


def is_loopback_url(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ''
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_token_file(path, what: str = 'token file') -> str:
    """The token in the file at `path` (its first line); TokenError if none."""
    try:
        with open(path, 'rb') as source:
            data = source.read(MAX_TOKEN_FILE + 1)
    except OSError as exc:
        raise TokenError(f'cannot read the {what} {path}: {exc.strerror or exc}') from None
    if len(data) > MAX_TOKEN_FILE:
        raise TokenError(f'the {what} {path} is not a token file (it is too large)')
    lines = data.decode('utf-8', errors='replace').strip().splitlines()
    return checked_token(lines[0].strip() if lines else '', f'the {what} {path}')


def checked_token(token: str, source: str) -> str:
    """`token`, if it can go in a header; TokenError naming `source` (never the value)."""
    if not token:
        raise TokenError(f'{source} holds no token (it is empty)')
    if not all(33 <= ord(ch) < 127 for ch in token):
        raise TokenError(f'{source} does not hold a token (a token is one word of printable ASCII)')
    return token


def find_credential(
    url: str,
    token: Optional[str] = None,
    token_file=None,
    environ: Optional[Mapping[str, str]] = None,
    cwd=None,
) -> Tuple[str, Optional[Credential]]:
    """(`url` without credentials, the token to send or None), looked up in
    the order of the module docstring. A token given, or a file named, that
    cannot be used raises TokenError; a missing ./run/token is no error."""
    environ = os.environ if environ is None else environ
    clean, password = split_url(url)
    if token is not None:
        return clean, Credential(checked_token(str(token).strip(), 'the token given'), 'token=')
    if token_file is not None:
        return clean, Credential(read_token_file(token_file), f'the token file {token_file}')
    if password:
        return clean, Credential(checked_token(password, 'the URL'), 'the service URL')
    if environ.get(ENV_TOKEN, '').strip():
        return clean, Credential(checked_token(environ[ENV_TOKEN].strip(), ENV_TOKEN), ENV_TOKEN)
    named = environ.get(ENV_TOKEN_FILE, '').strip()
    if named:
        where = f'token file {named} (from {ENV_TOKEN_FILE})'
        return clean, Credential(read_token_file(named, where), where)
    local = Path(cwd or '.') / LOCAL_TOKEN_FILE
    if is_loopback_url(clean) and local.is_file():
        try:
            return clean, Credential(read_token_file(local), f'{local}')
        except TokenError:
            return clean, None  # not ours to read: as if it were not there
    return clean, None


def how_to_give(cli: bool = False) -> str:
    """How a user gives the token, for the message of a refused request."""
    explicit = '--token-file FILE' if cli else 'Service(token=...)'
    return (
        f'give it with {explicit}, in ${ENV_TOKEN}, in a file named by ${ENV_TOKEN_FILE}, '
        f'or in the service URL as http://cerise:<token>@host:port; a service started '
        f'in the current folder keeps it in {LOCAL_TOKEN_FILE}, and a service with a '
        f'users file has one per user (cerise-actors add-user)'
    )
