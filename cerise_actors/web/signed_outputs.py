"""Output URLs that carry their own authority, for clients that download without credentials.

cerise-client 0.3.1 downloads each output with a bare GET of the URL in the
job's `output`, and WES clients do the same with a run's `outputs`. When
authentication is on, the service therefore adds a `cerise-sig` parameter
(`auth/signing.py`) to each output location below its own /files as it
answers GET /jobs/{id} and WES GET /runs/{run_id}: signed for the asking
user, for that one file, for a day from the answer. The stored output is
never changed, lists of jobs show the plain URLs, and the token never
appears in a URL.
"""

from typing import Any, Callable, Optional
from urllib.parse import quote, unquote, urlsplit

from ..auth.signing import PARAMETER, UrlSigner, signable


class Downloads:
    """Signs the output locations of a job below `files_url` (the exchange
    area's client URL, when it is the service's own /files) for a user."""

    def __init__(self, files_url: Optional[str], signer: Optional[UrlSigner]):
        self._files_url = (files_url or '').rstrip('/')
        served = urlsplit(self._files_url)
        own = served.scheme in ('http', 'https') and served.path.endswith('/files')
        self._signer = signer if own else None

    def signed(self, output: Any, job_id: str, user: str) -> Any:
        """A copy of `output` (a CWL output object) whose locations below the
        job's output folder carry a signature for `user`."""
        if self._signer is None or not output:
            return output
        prefix = f'{self._files_url}/output/{job_id}/'
        below = len(self._files_url) + 1  # the name below /files starts there
        signer = self._signer

        def sign(url: str) -> str:
            if not url.startswith(prefix) or '?' in url or '#' in url:
                return url
            name = unquote(url[below:])
            if not signable(name):
                return url
            return f'{url}?{PARAMETER}={quote(signer.signature(user, name), safe="")}'

        return _walk(output, sign)


def _walk(value: Any, sign: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {
            key: sign(item) if key == 'location' and isinstance(item, str) else _walk(item, sign)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_walk(item, sign) for item in value]
    return value
