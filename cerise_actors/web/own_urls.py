"""The service's own /files URLs in a job description, without the token clients put in them.

Clients that know nothing of tokens are given the service as
`http://cerise:<token>@host:port`, and cerise-client 0.3.1 then submits
workflow and input URLs of the service's own /files with those credentials
in them. Such a URL names a file of the exchange area like any other of its
URLs, so the user info is removed at POST, before anything is stored: the
token is never kept with the job, shown in GET /jobs, or written to a log.
Other URLs are left as they are (stage-in refuses credentials in URLs it
would fetch, with a message that does not show them).
"""

from typing import Any, Tuple

from ..boundary.exchange_names import ExchangeNames


def without_own_credentials(workflow: str, input_doc: Any, names: ExchangeNames) -> Tuple[str, Any]:
    """`workflow` and a copy of `input_doc` whose `location`s naming the
    exchange area by URL carry no user info."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: names.without_own_credentials(item)
                if key == 'location' and isinstance(item, str)
                else walk(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return names.without_own_credentials(workflow), walk(input_doc)
