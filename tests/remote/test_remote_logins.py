"""Credentials and host keys against the real sshd of the test bed."""

import shlex
from pathlib import Path

import pytest

from cerise_actors.errors import PermanentResourceError

from .. import workflows as wf

pytestmark = pytest.mark.remote  # needs the test bed (testbed/testbed.sh)


def _runs_a_job(service):
    client = service.start().client
    done = client.wait_final(client.submit(wf.HOSTNAME)['id'], timeout=300)
    assert done['state'] == 'Success', client.log(done['id'])


def test_password_login(make_remote, testbed):
    _runs_a_job(
        make_remote(
            'none',
            credentials={
                'username': testbed.user_for('none'),
                'password': testbed.env['CERISE_TESTBED_PASSWORD'],
            },
        )
    )


def test_key_with_passphrase(make_remote, testbed):
    _runs_a_job(
        make_remote(
            'slurm',
            credentials={
                'username': testbed.user_for('slurm'),
                'certfile': testbed.env['CERISE_TESTBED_KEY_PASS'],
                'passphrase': testbed.env['CERISE_TESTBED_PASSPHRASE'],
            },
        )
    )


def test_wrong_password_is_refused_clearly(make_remote, testbed):
    service = make_remote(
        'none', credentials={'username': testbed.user_for('none'), 'password': 'wrong'}
    )
    with pytest.raises(PermanentResourceError, match='login refused'):
        service.start()


def test_key_without_its_passphrase_is_refused_clearly(make_remote, testbed):
    service = make_remote(
        'none',
        credentials={
            'username': testbed.user_for('none'),
            'certfile': testbed.env['CERISE_TESTBED_KEY_PASS'],
        },
    )
    with pytest.raises(PermanentResourceError, match='passphrase'):
        service.start()


def test_unknown_host_is_refused_unless_accepted(make_remote, testbed, tmp_path):
    known_hosts = tmp_path / 'known_hosts'
    known_hosts.write_text('')
    refused = make_remote('none', ssh={'known-hosts': str(known_hosts)})
    with pytest.raises(PermanentResourceError, match='unknown host') as info:
        refused.start()
    assert 'accept-unknown-hosts' in str(info.value)
    assert known_hosts.read_text() == ''
    _runs_a_job(
        make_remote('none', ssh={'known-hosts': str(known_hosts), 'accept-unknown-hosts': True})
    )
    assert f'[127.0.0.1]:{testbed.port} ssh-ed25519' in known_hosts.read_text()


def test_changed_host_key_is_always_refused(make_remote, testbed, tmp_path):
    real = Path(testbed.known_hosts).read_text().split()
    forged = tmp_path / 'known_hosts'
    other_key = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'
    forged.write_text(f'{real[0]} ssh-ed25519 {other_key}\n')
    service = make_remote('none', ssh={'known-hosts': str(forged), 'accept-unknown-hosts': True})
    with pytest.raises(PermanentResourceError, match='CHANGED'):
        service.start()


def test_job_files_are_private_to_the_remote_user(make_remote, testbed):
    service = make_remote('none')
    _runs_a_job(service)
    listing = testbed.ssh('none', f'stat -c %U {shlex.quote(service.base)}/jobs')
    assert listing.strip() == testbed.user_for('none')
