"""glibc's malloc told to give freed memory back, for a long-lived threaded service.

The service's threads (HTTP, actors) each get a malloc arena of their own
by default, up to eight per core, and a freed block stays in its arena;
the threshold above which a block is mapped on its own (and unmapped when
freed) also grows with every large block freed, up to 32 MiB, so the large
ones (the text of a long GET /jobs, a page of jobs) soon come from the
arenas too. After a burst of 2,000 jobs that kept some 15 MiB resident for
nothing (issue 21, item 4). Two arenas and a fixed threshold of 128 KiB
keep the service near what it uses; the cost is a lock now and then (the
interpreter's own lock serialises most allocations anyway) and a mapping
per large block.

Only where the C library is glibc, and only for `cerise-actors serve`,
before its threads start; elsewhere (musl, macOS) nothing is done.
"""

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

#: mallopt's parameters (malloc.h)
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
#: the arenas kept, and the size from which a block is mapped on its own
ARENAS = 2
MAP_FROM = 128 * 1024


def keep_malloc_lean() -> bool:
    """Set glibc's malloc up as above; whether it took."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    done = mallopt(M_ARENA_MAX, ARENAS) == 1 and mallopt(M_MMAP_THRESHOLD, MAP_FROM) == 1
    if not done:
        logger.info('malloc left as it is (mallopt refused)')
    return done
