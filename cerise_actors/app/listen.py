"""Where the service listens: why a port cannot be bound, and the URLs
that follow from the address it is bound to.

The socket layer reports "[Errno 98] Address already in use" without the
address, so an operator cannot tell which setting or which other process
is in the way. `naming_the_address` turns that into `CannotListen`, whose
message names host and port and, when the port is taken, the usual cause.
It is an OSError, so callers that already handle OSError keep working.
"""

import contextlib
import errno
import logging
import urllib.parse
from typing import Dict, Iterator, Optional, Tuple

from ..config import ServiceConfig

logger = logging.getLogger(__name__)

_HINTS: Dict[Optional[int], str] = {
    errno.EADDRINUSE: 'address already in use; is another cerise-actors running?',
    errno.EADDRNOTAVAIL: 'address not available on this host (rest-service.hostname)',
    errno.EACCES: 'permission denied (ports below 1024 need privileges)',
}


class CannotListen(OSError):
    """The HTTP port cannot be bound: taken, not ours, or not allowed."""


def address(host: str, port: int) -> str:
    """host:port as an operator types it; IPv6 hosts in brackets."""
    return f'[{host}]:{port}' if ':' in host else f'{host}:{port}'


@contextlib.contextmanager
def naming_the_address(host: str, port: int) -> Iterator[None]:
    """Re-raise an OSError from binding `host:port` as CannotListen naming it."""
    try:
        yield
    except CannotListen:
        raise
    except OSError as exc:
        reason = _HINTS.get(exc.errno) or (exc.strerror or str(exc)).lower()
        raise CannotListen(f'cannot listen on {address(host, port)}: {reason}') from exc


#: how a client on this machine may name the host of a service listening on it
_LOCAL_SPELLINGS = {
    '//127.0.0.1:': ('//localhost:',),
    '//localhost:': ('//127.0.0.1:',),
    # every address: a client here names it as loopback
    '//0.0.0.0:': ('//127.0.0.1:', '//localhost:'),
    '//[::]:': ('//[::1]:', '//127.0.0.1:', '//localhost:'),
}


def own_files_urls(config: ServiceConfig, listening_url: str) -> Tuple[str, ...]:
    """The URLs of the service's own /files: under `base-url`, under the
    address it listens on, and the names a client on this machine gives that
    address (`localhost` for 127.0.0.1, loopback for 0.0.0.0). A job naming
    one of them names a file of the exchange folder; without this, such a
    job would be fetched from the service itself, which it never does."""
    urls = [f'{url.rstrip("/")}/files' for url in (config.base_url, listening_url) if url]
    for url in list(urls):
        for here, aliases in _LOCAL_SPELLINGS.items():
            if here in url:
                urls.extend(url.replace(here, alias, 1) for alias in aliases)
    return tuple(dict.fromkeys(urls))


def exchange_client_url(config: ServiceConfig, listening_url: str) -> str:
    """How clients address the exchange folder: `store-location-client` if
    set, else the service's own /files under `base-url` or under the address
    it listens on, so a port change needs no second setting.

    Warns when a configured http(s) client location names another host and
    port than the service's and no `base-url` explains it: outputs would be
    published with URLs that lead elsewhere (a forgotten port change).
    """
    configured: Optional[str] = config.exchange_client_url
    own = f'{(config.base_url or listening_url).rstrip("/")}/files'
    if configured is None:
        return own
    if config.base_url is None and _authority(configured) not in (None, _authority(own)):
        logger.warning(
            'store-location-client %s names %s, but the service listens on %s and no '
            'base-url says why; clients will be sent to %s for outputs. Leave '
            "store-location-client out to use this service's own %s",
            configured,
            _authority(configured),
            _authority(own),
            _authority(configured),
            own,
        )
    return configured


def _authority(url: str) -> Optional[str]:
    """host:port of an http(s) URL (default ports filled in), else None."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == 'https' else 80)
    host = 'localhost' if parts.hostname in ('127.0.0.1', '::1') else parts.hostname
    return address(host, port)
