"""Secrets kept in the run folder: made once, mode 0600, reused at the next start.

Jupyter keeps a personal server's token the same way. A secret file that
others may read is not trusted: it is refused with a message naming the
file and the `chmod` that fixes it, rather than silently used (anyone on the
machine might have copied it) or silently replaced (clients holding it
would stop working without a word).
"""

import os
import secrets
import stat
from pathlib import Path

#: bytes of randomness in a token or key (256 bits)
SECRET_BYTES = 32


class SecretFileError(Exception):
    """A secret file that cannot be made, read or trusted; the message says why."""


def new_secret() -> str:
    """A fresh random secret, URL-safe text (43 characters)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def read_or_make(path: Path) -> str:
    """The secret in `path`, made there first if the file does not exist.

    Made with O_EXCL and mode 0600, so two services starting at once agree on
    one secret, and no other user ever reads it.
    """
    path = Path(path)
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = new_secret()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:  # another start made it meanwhile
        return _read(path)
    except OSError as exc:
        raise SecretFileError(f'cannot make {path}: {exc.strerror}') from None
    with os.fdopen(fd, 'w') as out:
        out.write(secret + '\n')
    return secret


def _read(path: Path) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SecretFileError(f'cannot read {path}: {exc.strerror}') from None
    with os.fdopen(fd) as source:
        info = os.fstat(source.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SecretFileError(f'{path} is not a regular file')
        if info.st_mode & 0o077:
            raise SecretFileError(
                f'{path} may be read by other users (mode {stat.S_IMODE(info.st_mode):o}); '
                f'anyone could have copied it. Make a new one (rm {path}) or, if only you '
                f'could read it, chmod 600 {path}'
            )
        text = source.read(4096).strip()
    if len(text) < 16 or any(ch.isspace() for ch in text):
        raise SecretFileError(
            f'{path} does not hold a secret (one line of at least 16 characters); '
            f'remove it and a new one is made at the next start'
        )
    return text
