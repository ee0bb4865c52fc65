"""Why the HTTP port could not be bound, said in terms an operator can act on.

The socket layer reports "[Errno 98] Address already in use" without the
address, so an operator cannot tell which setting or which other process
is in the way. `naming_the_address` turns that into `CannotListen`, whose
message names host and port and, when the port is taken, the usual cause.
It is an OSError, so callers that already handle OSError keep working.
"""

import contextlib
import errno

_HINTS = {
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
def naming_the_address(host: str, port: int):
    """Re-raise an OSError from binding `host:port` as CannotListen naming it."""
    try:
        yield
    except CannotListen:
        raise
    except OSError as exc:
        reason = _HINTS.get(exc.errno) or (exc.strerror or str(exc)).lower()
        raise CannotListen(f'cannot listen on {address(host, port)}: {reason}') from exc
