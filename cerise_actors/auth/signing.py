"""Signed, expiring, per-file download URLs for outputs.

cerise-client 0.3.1 downloads an output with a plain GET of the URL the
service gave it, sending no credentials, and WES clients do the same with a
run's `outputs`. So the output URLs the service hands to an authenticated
user carry their own authority: a query parameter `cerise-sig` that names
the user, an expiry time and an HMAC-SHA256 over both and the one file's
name below /files, with a key only the service holds (`url-key` in the run
folder). Such a URL opens that one file, for reading (GET and HEAD), until
it expires; it never holds the token. Removing the key file revokes every
URL handed out (a new key is made at the next start).
"""

import base64
import hashlib
import hmac
import time
from typing import Optional

#: the query parameter that carries the signature
PARAMETER = 'cerise-sig'


class UrlSigner:
    """Signs names below /files for a user, and checks such signatures."""

    def __init__(self, key: str, lifetime: float):
        self._key = key.encode('utf-8')
        self.lifetime = lifetime

    def signature(self, user: str, name: str, now: Optional[float] = None) -> str:
        """The value of `cerise-sig` for `name` (below /files, decoded, no
        leading slash, e.g. `output/<job id>/out.txt`), valid for `lifetime`
        seconds from `now`."""
        if not signable(name):
            raise ValueError(f'not a plain file name below /files: {name!r}')
        expires = int((time.time() if now is None else now) + self.lifetime)
        return f'{expires}.{user}.{self._mac(user, expires, name)}'

    def user_of(self, value: str, name: str, now: Optional[float] = None) -> Optional[str]:
        """The user a `cerise-sig` value was made for, if it is this service's
        signature of `name` and has not expired; else None."""
        expires_text, user, mac = _split(value)
        if not expires_text.isdigit() or len(expires_text) > 12 or not signable(name):
            return None
        expires = int(expires_text)
        if expires < (time.time() if now is None else now):
            return None
        if not hmac.compare_digest(
            mac.encode('ascii', 'replace'), self._mac(user, expires, name).encode()
        ):
            return None
        return user

    def _mac(self, user: str, expires: int, name: str) -> str:
        message = '\0'.join(('cerise-download', user, str(expires), name))
        digest = hmac.new(self._key, message.encode('utf-8', 'surrogateescape'), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).decode('ascii').rstrip('=')


def signable(name: str) -> bool:
    """A name of `output/...` with no empty, `.` or `..` segment and no NUL:
    what a signature may grant."""
    parts = name.split('/')
    return (
        len(parts) >= 3
        and parts[0] == 'output'
        and '\0' not in name
        and all(part not in ('', '.', '..') for part in parts)
    )


def _split(value: str):
    parts = value.split('.')
    if len(parts) != 3:
        return '', '', ''
    return parts[0], parts[1], parts[2]
