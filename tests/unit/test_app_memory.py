"""app/memory.py: glibc's malloc set to give freed memory back (issue 21, item 4)."""

import subprocess
import sys

from ..helpers import REPO_DIR

#: threads allocating and freeing blocks above the default first mapping
#: threshold, then the resident set in KiB
PROGRAM = """
import sys, threading
from cerise_actors.app.memory import keep_malloc_lean
lean = sys.argv[1] == 'lean'
if lean:
    assert keep_malloc_lean()
def churn():
    for size in range(200):
        block = bytearray(4 * 1024 * 1024 + size)  # mapped, then the threshold grows
        del block
    kept = [bytearray(300 * 1024) for _ in range(40)]
    del kept
threads = [threading.Thread(target=churn) for _ in range(6)]
[t.start() for t in threads]
[t.join() for t in threads]
print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS')))
"""


def rss_kib(mode):
    out = subprocess.run(
        [sys.executable, '-c', PROGRAM, mode], capture_output=True, text=True, cwd=REPO_DIR
    )
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


def test_freed_large_blocks_go_back_to_the_system():
    default, lean = rss_kib('default'), rss_kib('lean')
    assert lean < default - 10 * 1024, (lean, default)
