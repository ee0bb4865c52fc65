"""A stand-in entry point for the warm server in tests: reports what a job sees, then
changes the process's global state the way a careless job could, so a test can
check that the next job forked from the same server sees none of it.

argv: `report` (default), `exit N`, `sleep` (prints, then sleeps), `spawn` (starts a
grandchild in the job's group, prints its pid, sleeps), `crash` (SIGKILL to itself).
"""

import json
import os
import signal
import subprocess
import sys
import time

#: a module global a job changes; the next job must see it unchanged
TOUCHED = []


def main(argv):
    import cwltool.process

    seen = {
        'pid': os.getpid(),
        'pgid': os.getpgid(0),
        'sid': os.getsid(0),
        'cwd': os.getcwd(),
        'env_marker': os.environ.get('WARM_MARKER'),
        'env_leak': os.environ.get('WARM_LEAK'),
        'cache_leak': 'leak' in cwltool.process.SCHEMA_CACHE,
        'schema_preloaded': 'v1.0' in cwltool.process.SCHEMA_CACHE,
        'global_leak': list(TOUCHED),
        'fds': sorted(int(fd) for fd in os.listdir('/proc/self/fd')),
        'umask': os.umask(0),
        'argv0': sys.argv[0],
    }
    os.environ['WARM_LEAK'] = 'yes'
    os.chdir('/')
    cwltool.process.SCHEMA_CACHE['leak'] = None
    TOUCHED.append('leak')
    what = argv[0] if argv else 'report'
    if what == 'spawn':
        child = subprocess.Popen(['sleep', '600'])
        seen['grandchild'] = child.pid
    print(json.dumps(seen), flush=True)
    print('probe says hello on stderr', file=sys.stderr, flush=True)
    if what == 'exit':
        return int(argv[1])
    if what == 'crash':
        os.kill(os.getpid(), signal.SIGKILL)
    if what in ('sleep', 'spawn'):
        time.sleep(600)
    return 0
