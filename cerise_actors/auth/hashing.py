"""Tokens as the users file keeps them, and comparing them without a timing leak.

A users file holds scrypt hashes (`hashlib.scrypt`, standard library), so a
copy of the file does not give the tokens away. The tokens are 256 random
bits, so the hash guards against a stolen file, not against guessing; the
cost parameters are scrypt's interactive ones (about 50 ms, 16 MiB), and the
authenticator remembers tokens it has verified so that this cost is paid
once per token, not once per request.
"""

import base64
import hashlib
import hmac
import os

#: scrypt's parameters for new hashes (the stored text keeps its own)
N, R, P = 2**14, 8, 1
_PREFIX = 'scrypt'
_MAX_N = 2**20  # a hash asking for more work than this is refused, not computed


class BadHash(ValueError):
    """A stored hash that is not in the form `hash_token` writes."""


def hash_token(token: str) -> str:
    """`scrypt$<n>$<r>$<p>$<salt>$<hash>`, salt and hash in base64."""
    salt = os.urandom(16)
    digest = _scrypt(token, salt, N, R, P)
    return '$'.join((_PREFIX, str(N), str(R), str(P), _b64(salt), _b64(digest)))


def verify_token(token: str, stored: str) -> bool:
    """Whether `token` is the one `stored` (from `hash_token`) was made from.

    Raises BadHash for a stored text that is not such a hash.
    """
    parts = stored.split('$')
    if len(parts) != 6 or parts[0] != _PREFIX:
        raise BadHash('expected scrypt$<n>$<r>$<p>$<salt>$<hash>')
    try:
        n, r, p = (int(part) for part in parts[1:4])
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        raise BadHash('the numbers, salt or hash cannot be read') from None
    if not (2 <= n <= _MAX_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        raise BadHash(f'scrypt parameters out of range: n={n}, r={r}, p={p}')
    if len(expected) < 16:
        raise BadHash('the hash is too short')
    return hmac.compare_digest(_scrypt(token, salt, n, r, p, len(expected)), expected)


def same_secret(given: str, expected: str) -> bool:
    """`given == expected` in time that does not depend on where they differ."""
    return hmac.compare_digest(_sha256(given), _sha256(expected))


def fingerprint(token: str) -> bytes:
    """A digest to remember a verified token by, without keeping the token."""
    return _sha256(token)


def _sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode('utf-8', 'surrogateescape')).digest()


def _scrypt(token: str, salt: bytes, n: int, r: int, p: int, length: int = 32) -> bytes:
    return hashlib.scrypt(
        token.encode('utf-8', 'surrogateescape'),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=256 * r * n + 2**20,
        dklen=length,
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode('ascii').rstrip('=')


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))
    except (ValueError, TypeError):
        raise ValueError(text) from None
