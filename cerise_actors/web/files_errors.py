"""What the file system says about a /files request, as a WebDAV answer.

Every action of the /files provider (files_provider.py) runs inside
`answered`: a link on the way is 403, a missing name 404, a file where a
folder is (or a name that changed kind meanwhile) 409, a full disk 507.
Anything else stays an error of the service (500, with its traceback in the
log).
"""

import contextlib
import errno
from typing import Iterator

from wsgidav.dav_error import (
    HTTP_CONFLICT,
    HTTP_FORBIDDEN,
    HTTP_INSUFFICIENT_STORAGE,
    HTTP_NOT_FOUND,
    DAVError,
)

from ..boundary.confined import Outside, Refused, WrongKind

#: errno values of a name that changed kind or place under the request: a conflict
_CONFLICTS = (errno.ENOTDIR, errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST, errno.EINVAL)


@contextlib.contextmanager
def answered(name: str) -> Iterator[None]:
    """Turn what the file system says about `name` into a WebDAV answer."""
    try:
        yield
    except DAVError:
        raise
    except Outside as exc:
        raise DAVError(HTTP_FORBIDDEN, f'{exc.reason}; links are not served from /files') from None
    except WrongKind as exc:
        raise DAVError(HTTP_CONFLICT, exc.reason) from None
    except Refused as exc:
        raise DAVError(HTTP_FORBIDDEN, exc.reason) from None
    except FileNotFoundError:
        raise DAVError(HTTP_NOT_FOUND, f'{name} is not there (any more)') from None
    except PermissionError:
        raise DAVError(HTTP_FORBIDDEN, f'the service may not change {name}') from None
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DAVError(
                HTTP_INSUFFICIENT_STORAGE, 'the disk of the file exchange is full'
            ) from None
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # a link met, then swapped back
            raise DAVError(
                HTTP_FORBIDDEN, f'a symbolic link was met on the way to {name}; not followed'
            ) from None
        if exc.errno in _CONFLICTS:
            raise DAVError(HTTP_CONFLICT, f'{name} changed while it was worked on') from None
        raise
