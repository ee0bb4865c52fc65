"""Where on the compute resource things are: host, port and base directory.

Split out of the API loader because these rules are the fiddly ones: the
``host[:port]`` syntax of ``location`` (including bracketed IPv6 literals),
and the ``$CERISE_USERNAME`` substitution in ``files.path``, whose meaning
depends on whether the files are local or reached over SFTP.
"""

import getpass
import os
import posixpath
from typing import Optional, Tuple

from .. import defaults
from .reader import Section

USERNAME_PLACEHOLDERS = ('${CERISE_USERNAME}', '$CERISE_USERNAME')


def parse_location(section: Section, protocol: str) -> Tuple[str, int]:
    """Split the ``location`` key of ``section`` into host and port.

    Only called for remote protocols, where a location is required. Accepts
    ``host``, ``host:port``, ``[ipv6]``, ``[ipv6]:port`` and a bare IPv6
    address (more than one colon, no port).
    """
    key = 'location'
    value = section.string(
        key, required=f'the host to connect to with {protocol}, as host or host:port'
    )
    text = value.strip()
    malformed = section.error(
        key,
        f'malformed location {value!r}; expected host or host:port (no URL '
        'scheme, and put the user name in the credentials, not in the '
        'location)',
    )
    if any(c.isspace() or c in '/@' for c in text):
        raise malformed
    port_text: Optional[str] = None
    if text.startswith('['):
        end = text.find(']')
        rest = text[end + 1 :] if end >= 0 else ''
        if end < 0 or (rest and not rest.startswith(':')):
            raise section.error(
                key, f'malformed location {value!r}; expected [address] or [address]:port'
            )
        host = text[1:end]
        port_text = rest[1:] if rest else None
    elif text.count(':') == 1:
        host, port_text = text.split(':')
    else:
        host = text
    if not host:
        raise malformed
    if port_text is None:
        return host, defaults.SSH_PORT
    if not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
        raise section.error(
            key, f'bad port {port_text!r} in location {value!r}; expected a number from 1 to 65535'
        )
    return host, int(port_text)


def resolve_files_path(section: Section, protocol: str, username: Optional[str]) -> str:
    """The base directory for Cerise's files on the resource (``files.path``).

    ``$CERISE_USERNAME`` becomes the resolved files username. Locally, with no
    username, it becomes the OS user running the service, a leading ``~`` is
    expanded and a relative path is anchored at the current directory. Over
    SFTP there is no safe guess, so an unresolvable or relative path is an
    error rather than something that lands in an unexpected directory.
    """
    key = 'path'
    value = section.string(key, default=defaults.FILES_PATH)
    if any(placeholder in value for placeholder in USERNAME_PLACEHOLDERS):
        if username is None:
            if protocol != 'local':
                raise section.error(
                    key,
                    f'{value!r} contains $CERISE_USERNAME but no user name is '
                    'configured for files (set CERISE_FILES_USERNAME or '
                    'CERISE_USERNAME, or a credentials username)',
                )
            username = _os_user(section)
        for placeholder in USERNAME_PLACEHOLDERS:
            value = value.replace(placeholder, username)
    if protocol == 'local':
        return os.path.abspath(os.path.expanduser(value))
    if not value.startswith('/'):
        raise section.error(
            key,
            f'expected an absolute path on the remote host for protocol {protocol}, got {value!r}',
        )
    return posixpath.normpath(value)


def _os_user(section: Section) -> str:
    try:
        return getpass.getuser()
    except Exception as exc:  # KeyError or OSError depending on the Python version
        raise section.error(
            'path',
            'cannot substitute $CERISE_USERNAME: no user name is '
            f'configured and the OS user is unknown ({exc})',
        ) from exc
