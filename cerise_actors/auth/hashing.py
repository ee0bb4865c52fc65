"""Tokens as the users file keeps them, and comparing them without a timing leak.

A users file holds `sha256$<salt>$<hash>`: HMAC-SHA256 of the token keyed
by a random salt, so a copy of the file does not give the tokens away.
Why not a slow hash (scrypt, bcrypt): those protect passwords, which people
choose and attackers can guess. These tokens are 256 random bits; no
amount of hashing speed makes guessing one feasible, while a slow hash let
anyone who reaches the port make the service spend 50 ms of CPU on every
wrong token that names a real user, and starve the users (the red team's
`tests/auth/test_redteam_scrypt.py`). GitHub and PyPI keep their API tokens
the same way. Checking costs a microsecond, so it is also done for a name
that is not in the file: a 401 takes as long whether the user exists or not.
"""

import base64
import hashlib
import hmac
import os

_PREFIX = 'sha256'
#: what a token of an unknown user is checked against, so that it costs the same
_NOBODY = 'sha256$' + 'A' * 22 + '$' + 'A' * 43


class BadHash(ValueError):
    """A stored hash that is not in the form `hash_token` writes."""


def hash_token(token: str) -> str:
    """`sha256$<salt>$<hash>`, salt (16 bytes) and hash in URL-safe base64."""
    salt = os.urandom(16)
    return '$'.join((_PREFIX, _b64(salt), _b64(_digest(token, salt))))


def verify_token(token: str, stored: str) -> bool:
    """Whether `token` is the one `stored` (from `hash_token`) was made from.

    Raises BadHash for a stored text that is not such a hash.
    """
    parts = stored.split('$')
    if len(parts) != 3 or parts[0] != _PREFIX:
        raise BadHash('expected sha256$<salt>$<hash>')
    try:
        salt, expected = _unb64(parts[1]), _unb64(parts[2])
    except ValueError:
        raise BadHash('the salt or hash cannot be read') from None
    if len(salt) < 16 or len(expected) != 32:
        raise BadHash('the salt or hash has the wrong length')
    return hmac.compare_digest(_digest(token, salt), expected)


def verify_nobody(token: str) -> bool:
    """The work of `verify_token` for a user who does not exist; always False."""
    verify_token(token, _NOBODY)
    return False


def same_secret(given: str, expected: str) -> bool:
    """`given == expected` in time that does not depend on where they differ."""
    return hmac.compare_digest(_sha256(given), _sha256(expected))


def fingerprint(token: str) -> bytes:
    """A digest to remember a token by, without keeping the token."""
    return _sha256(token)


def _digest(token: str, salt: bytes) -> bytes:
    return hmac.new(salt, token.encode('utf-8', 'surrogateescape'), hashlib.sha256).digest()


def _sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode('utf-8', 'surrogateescape')).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode('ascii').rstrip('=')


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))
    except (ValueError, TypeError):
        raise ValueError(text) from None
