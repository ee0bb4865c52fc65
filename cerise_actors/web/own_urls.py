"""Credentials in the URLs of a job description: the service's own are dropped, others refused.

Clients that know nothing of tokens are given the service as
`http://cerise:<token>@host:port`, and cerise-client 0.3.1 then submits
workflow and input URLs of the service's own /files with those credentials
in them. Such a URL names a file of the exchange area like any other of its
URLs, so at POST (`/jobs` and WES `/runs`) the user info is removed and the
URL is spelled as the area's own prefix, before anything is stored: the
token is never kept with the job, shown in GET /jobs or a run's request, or
written to a log. Any other URL with a user name or password in it is
refused then and there (stage-in would refuse to fetch it anyway), so no
credential of any kind is stored; the message shows the URL without them.
"""

from typing import Any, Tuple

from ..boundary.exchange_names import ExchangeNames, has_user_info
from ..boundary.network import without_credentials


class CredentialsInUrl(ValueError):
    """A URL with a user name or password that is not the service's own /files."""

    def __init__(self, url: str):
        super().__init__(
            f'{without_credentials(url)}: URLs with a user name or password are not '
            'supported; upload the file to /files, or give a URL without credentials'
        )


def without_own_credentials(workflow: str, input_doc: Any, names: ExchangeNames) -> Tuple[str, Any]:
    """`workflow` and a copy of `input_doc` whose `location`s (and `path`s)
    naming the exchange area by URL carry no user info. Raises
    CredentialsInUrl for any other such URL with user info."""

    def clean(url: str) -> str:
        bare = names.without_own_credentials(url)
        if has_user_info(bare):
            raise CredentialsInUrl(url)
        return bare

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: clean(item)
                if key in ('location', 'path') and isinstance(item, str)
                else walk(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return clean(workflow), walk(input_doc)
