"""What a folder of /files shows, from one scan of its descriptor, and at most so much of it.

PROPFIND (files_provider.py) and the folder listings (files_listing.py)
show the same members: regular files and folders only, no symbolic links,
FIFOs, sockets or devices, no names that are not UTF-8 and no
`.cerise-upload-*` files of uploads still being written.

And no more than MAX_LISTING_ENTRIES of them. A folder of 200,000 empty
files (a shell user makes one in seconds) made one `PROPFIND Depth: 1` a
157 MB answer that grew the service by 1 GB, never given back, and a GET
of its listing took 60 s; four at once took the service past 2 GB. A
folder that shows more is refused (`TooManyEntries`, answered 403 with a
JSON body that says why): a scan stops at the first entry past the cap, so
the refusal itself costs no memory. It is refused rather than cut short: a
WebDAV client or sync tool that read a truncated listing as the whole
folder would act on files it believes gone (rclone or a mirror would delete
them on its side), while a 403 is final to every client, not retried, and
says what is wrong; a 507 would read as a full disk (davfs2 turns it into
ENOSPC). RFC 4918 refuses a PROPFIND of unbounded size the same way
(propfind-finite-depth is a 403).
"""

import os
import stat
from typing import List, Optional, Tuple

from ..defaults import MAX_LISTING_ENTRIES, UPLOAD_PREFIX


class TooManyEntries(Exception):
    """A folder holds more entries than one listing answers; the message says so."""

    def __init__(self, name: str, limit: int = MAX_LISTING_ENTRIES):
        shown = '/files/' + name.strip('/') + ('/' if name.strip('/') else '')
        super().__init__(
            f'{shown} holds more than {limit} files and folders, more than one listing '
            f'answers; name its files directly (GET, PUT, DELETE), or keep fewer in one folder'
        )
        self.name = name
        self.limit = limit


def members(
    fd: int, name: str, limit: int = MAX_LISTING_ENTRIES
) -> List[Tuple[str, os.stat_result]]:
    """(name, lstat) of what the folder open as `fd` (the folder `name`) shows, unsorted.

    Raises TooManyEntries as soon as more than `limit` are seen.
    """
    found: List[Tuple[str, os.stat_result]] = []
    with os.scandir(fd) as scan:
        for entry in scan:
            info = shown(entry)
            if info is None:
                continue
            if len(found) >= limit:
                raise TooManyEntries(name, limit)
            found.append((entry.name, info))
    return found


def shown(entry: os.DirEntry) -> Optional[os.stat_result]:
    """The lstat of a folder's entry, if /files shows it (see the module's docstring)."""
    if entry.name.startswith(UPLOAD_PREFIX):
        return None
    try:
        entry.name.encode('utf-8')
        found = entry.stat(follow_symlinks=False)
    except (OSError, UnicodeEncodeError):
        return None
    if stat.S_ISDIR(found.st_mode) or stat.S_ISREG(found.st_mode):
        return found
    return None
