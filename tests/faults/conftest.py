"""Fixtures of the fault tests: small file systems that fill up.

The fault tests (this folder) provoke what goes wrong in real use: slow or
stuck sources, huge or hostile requests, many slow clients, a full disk, a
kill at the worst moment. Each is bounded in time and count and stays on
loopback. A full disk needs a small tmpfs, which only root can mount:
without root those tests skip with a message, and in CI (CI=true) they
fail instead, so a CI machine can never silently leave them out.
"""

import os
import subprocess

import pytest


def _cannot_mount(reason: str):
    if os.environ.get('CI') == 'true':
        pytest.fail(f'disk-full tests need a tmpfs: {reason}')
    pytest.skip(f'disk-full tests need a tmpfs: {reason}')


@pytest.fixture
def small_tmpfs(tmp_path):
    """Make a small tmpfs; returns a function (size in KiB) -> mounted path."""
    if os.geteuid() != 0:
        _cannot_mount('not running as root')
    mounted = []

    def mount(kib: int = 2048, name: str = 'full'):
        path = tmp_path / name
        path.mkdir()
        result = subprocess.run(
            ['mount', '-t', 'tmpfs', '-o', f'size={kib}k', 'tmpfs', str(path)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            _cannot_mount(result.stderr.strip() or f'mount exited {result.returncode}')
        mounted.append(path)
        return path

    yield mount
    for path in reversed(mounted):
        subprocess.run(['umount', '-l', str(path)], capture_output=True)


def fill(path) -> None:
    """Fill the file system holding `path` to the last byte (into `.filler`)."""
    with open(path / '.filler', 'ab', buffering=0) as f:
        for size in (1 << 20, 4096, 1):  # big blocks, then the last small gaps
            try:
                while True:
                    f.write(b'\0' * size)
            except OSError:
                pass
