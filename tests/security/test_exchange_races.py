"""A folder of the exchange swapped for a link while jobs stage it in (issue 18, item 2).

An attacker with a shell on the exchange folder submits jobs whose inputs
lie in `input/race/box/`, while a process of theirs swaps `box` with a
symbolic link to a folder of secrets outside the exchange, as fast as it
can (renameat2 with RENAME_EXCHANGE, so that one of the two names is the
folder and the other the link at every instant; plain renames where the
kernel has no renameat2). Before issue 18 the service checked the path
with realpath and opened it later: 2 jobs of 30 published the secret, and
8 ended in SystemError. Now every file is opened through the exchange's
ConfinedRoot: a job either stages the real folder or ends in a clean
PermanentFailure naming the link, and the secret is never staged or
published.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..helpers import wait_for

#: distinctive bytes, and a distinctive size for `wc` to count
SECRET = b'SECRET-OF-THE-SERVICE-ACCOUNT ' * 97 + b'\n'
HARMLESS = b'harmless\n'
JOBS = 24

#: the attacker's swapper, run as its own process (as a user's shell would be)
SWAPPER = r"""
import ctypes, os, sys, time
box, link, deadline = sys.argv[1], sys.argv[2], time.monotonic() + float(sys.argv[3])
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
renameat2 = getattr(libc, 'renameat2', None)
def exchange():
    if renameat2 is not None:
        return renameat2(AT_FDCWD, box.encode(), AT_FDCWD, link.encode(), RENAME_EXCHANGE)
    return libc.syscall(316, AT_FDCWD, box.encode(), AT_FDCWD, link.encode(), RENAME_EXCHANGE)
works = exchange() == 0 and exchange() == 0
print('renameat2' if works else 'rename', flush=True)
spare = box + '.away'
swaps = 0
while time.monotonic() < deadline and not os.path.exists(box + '.stop'):
    if works:
        exchange()
    else:  # without renameat2: the folder moves away and a link takes its place
        os.rename(box, spare); os.symlink(os.readlink(link), box)
        os.unlink(box); os.rename(spare, box)
    swaps += 1
    if swaps % 64 in (0, 1):
        # leave the service some of the machine, dwelling as long in each state
        # (after an even count the folder is in place, after an odd one the link):
        # dwelling only with the folder in place let a loaded machine's jobs all
        # meet the folder, and the race go unseen
        time.sleep(0.001)
"""


def _workflow() -> str:
    """wc of a File input, and a Directory input published as it was staged."""
    return (
        'cwlVersion: v1.0\n'
        'class: Workflow\n'
        'inputs: {file: File, folder: Directory}\n'
        'outputs:\n'
        '  output: {type: File, outputSource: s/output}\n'
        '  folder_out: {type: Directory, outputSource: folder}\n'
        'steps:\n'
        '  s:\n'
        '    run: test/wc.cwl\n'
        '    in: {file: file}\n'
        '    out: [output]\n'
    )


def _files_holding(root: Path, needle: bytes):
    """Regular files below `root` (links not followed) whose bytes hold `needle`."""
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            if path.is_symlink() or not path.is_file():
                continue
            try:
                if needle in path.read_bytes():
                    found.append(path)
            except OSError:
                pass
    return found


@pytest.fixture
def arena(service, tmp_path):
    """input/race/box (a real folder) and input/race/decoy (a link to the secrets)."""
    secrets = tmp_path / 'secrets'
    (secrets / 'sub').mkdir(parents=True)
    (secrets / 'data.txt').write_bytes(SECRET)
    (secrets / 'sub' / 'data.txt').write_bytes(SECRET)
    race = Path(service.client.exchange) / 'input' / 'race'
    (race / 'box' / 'sub').mkdir(parents=True)
    (race / 'box' / 'data.txt').write_bytes(HARMLESS)
    (race / 'box' / 'sub' / 'data.txt').write_bytes(HARMLESS)
    os.symlink(secrets, race / 'decoy')
    return race, secrets


def test_swapping_an_input_folder_for_a_link_never_leaks_and_never_crashes(service, arena):
    client = service.client
    race, _ = arena
    box = race / 'box'
    swapper = subprocess.Popen(
        [sys.executable, '-c', SWAPPER, str(box), str(race / 'decoy'), '300'],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        how = swapper.stdout.readline().strip()
        assert how in ('renameat2', 'rename'), how
        inputs = {
            'file': {'class': 'File', 'location': (box / 'data.txt').as_uri()},
            'folder': {'class': 'Directory', 'location': box.as_uri()},
        }
        workflow = _workflow()
        jobs = []
        for _ in range(JOBS):
            jobs.append(client.submit(workflow, inputs, name='race')['id'])
            time.sleep(0.05)  # spread the jobs over the swapping
        done = {}

        def all_final():
            for job_id in jobs:
                if job_id not in done:
                    job = client.job(job_id)
                    if job['state'] in (
                        'Success',
                        'PermanentFailure',
                        'TemporaryFailure',
                        'SystemError',
                        'Cancelled',
                    ):
                        done[job_id] = job
            return len(done) == len(jobs)

        wait_for(all_final, timeout=400, interval=0.5, message='every raced job to end')
    finally:
        (race / 'box.stop').touch()
        try:
            swapper.wait(timeout=30)
        finally:
            if swapper.poll() is None:
                swapper.kill()
                swapper.wait()
    states = {job_id: job['state'] for job_id, job in done.items()}
    logs = {job_id: client.log(job_id) for job_id in jobs}
    crashed = {job_id: logs[job_id] for job_id, state in states.items() if state == 'SystemError'}
    assert not crashed, crashed
    # nothing the secret folder holds was staged on the resource or published
    leaked = _files_holding(service.root / 'resource', SECRET[:60])
    leaked += _files_holding(Path(client.exchange) / 'output', SECRET[:60])
    assert not leaked, leaked
    for job_id, job in done.items():
        if job['state'] == 'Success':
            counted = client.output_text(job, 'output')
            assert str(len(SECRET)) not in counted, counted
        elif job['state'] == 'PermanentFailure':
            log = logs[job_id]
            assert 'Traceback' not in log, log
            assert any(
                words in log
                for words in (
                    'symbolic link',
                    'does not exist',
                    'not an existing folder',
                    'changed',
                )
            ), log
    assert any(state == 'PermanentFailure' for state in states.values()) or how == 'rename', (
        'the swapping was never seen: the race was not run',
        states,
    )
