"""The users file (`rest-service.users`): who may use a shared service.

One line per user, `<name>:<token hash>` (`hashing.hash_token`,
`sha256$<salt>$<hash>`); blank
lines and lines starting with `#` are ignored. It is written by
`cerise-actors add-user NAME`, which prints the new token once; nothing
else ever shows it. A user's token is `<name>.<secret>`, so a token names
the one hash it is checked against, however many users there are, whatever
user name a Basic client sends with it.

A file that other users may write is refused: whoever can write it can add
themselves.
"""

import os
import re
import stat
from pathlib import Path
from typing import Dict, NamedTuple, Tuple

from .hashing import BadHash, hash_token, verify_nobody, verify_token
from .secret_files import new_secret

#: a user name: also the name of the user's folder of the file exchange
NAME = re.compile(r'[a-z0-9][a-z0-9_-]{0,31}')
NAME_RULE = 'lower-case letters, digits, "-" and "_", starting with a letter or digit, at most 32'


class UsersFileError(Exception):
    """A users file that cannot be read, trusted or written; the message says why."""


class Users(NamedTuple):
    """The users of a users file: name -> token hash, and the file's identity
    (mtime, size, inode), so a changed file is read again."""

    hashes: Dict[str, str]
    stamp: Tuple[int, int, int]


def valid_name(name: str) -> bool:
    return NAME.fullmatch(name) is not None


def split_token(token: str) -> Tuple[str, str]:
    """(name, secret) of a user's token; ('', '') if it is not in that form."""
    name, dot, secret = token.partition('.')
    if not dot or not secret or not valid_name(name):
        return '', ''
    return name, secret


def check_token(users: Users, token: str) -> str:
    """The user whose token `token` is, or '' if none (a bad stored hash is
    no match: it fails closed)."""
    name, _ = split_token(token)
    stored = users.hashes.get(name) if name else None
    if stored is None:  # as much work as for a user who exists: no hint who does
        verify_nobody(token)
        return ''
    try:
        return name if verify_token(token, stored) else ''
    except BadHash:
        return ''


def stamp_of(path: Path) -> Tuple[int, int, int]:
    info = os.stat(path)
    return info.st_mtime_ns, info.st_size, info.st_ino


def read_users(path: Path) -> Users:
    """The users in the file at `path`. Raises UsersFileError for a file that
    cannot be read, may be written by others, or has a line it cannot read."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise UsersFileError(f'cannot read the users file {path}: {exc.strerror}') from None
    with os.fdopen(fd, encoding='utf-8', errors='strict') as source:
        info = os.fstat(source.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UsersFileError(f'the users file {path} is not a regular file')
        if info.st_mode & 0o022:
            raise UsersFileError(
                f'the users file {path} may be written by other users (mode '
                f'{stat.S_IMODE(info.st_mode):o}), who could add themselves; chmod 600 {path}'
            )
        try:
            text = source.read()
        except UnicodeDecodeError:
            raise UsersFileError(f'the users file {path} is not UTF-8 text') from None
    return Users(parse_users(text, str(path)), (info.st_mtime_ns, info.st_size, info.st_ino))


def parse_users(text: str, source: str = '<users>') -> Dict[str, str]:
    hashes: Dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        name, colon, stored = line.partition(':')
        if not colon or not valid_name(name) or not stored.startswith('sha256$'):
            raise UsersFileError(
                f'{source}, line {number}: expected <name>:<hash> as written by '
                f'`cerise-actors add-user`, with a name of {NAME_RULE} characters'
            )
        if name in hashes:
            raise UsersFileError(f'{source}, line {number}: user {name!r} is there twice')
        hashes[name] = stored
    return hashes


def add_user(path: Path, name: str, replace: bool = False) -> str:
    """Add user `name` to the users file at `path` (made if missing, mode
    0600) and return their new token; with `replace`, an existing user gets a
    new token and the old one stops working. The file is replaced whole
    (written aside, then renamed), so the service never reads half of it."""
    if not valid_name(name):
        raise UsersFileError(f'{name!r} is not a user name: use {NAME_RULE} characters')
    path = Path(path)
    lines = []
    if path.exists():
        users = read_users(path)  # refuses a file others may write
        if name in users.hashes and not replace:
            raise UsersFileError(
                f'user {name!r} is already in {path}; to give them a new token '
                f'(the old one stops working) add --replace'
            )
        lines = [
            line
            for line in path.read_text(encoding='utf-8').splitlines()
            if line.strip().partition(':')[0] != name
        ]
    token = f'{name}.{new_secret()}'
    lines.append(f'{name}:{hash_token(token)}')
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f'.{path.name}.new')
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, 'w', encoding='utf-8') as out:
        out.write('\n'.join(lines) + '\n')
    os.chmod(aside, 0o600)
    os.replace(aside, path)
    return token
