"""wes-client 5.0, unchanged, against a service with authentication on.

wes-client sends `--auth "Bearer <token>"` (or WES_API_AUTH) as the
Authorization header of every call but one: its submission
(`WESClient.run` in wes_client/util.py has `headers=self.auth` commented
out), so with `--auth` alone a run is refused with 401. Its users give the
token in `--host` as well (`cerise:<token>@127.0.0.1:port`): requests sends
that as HTTP Basic, which the service takes too, and `--auth` still serves
`--log`, which fetches the run's stderr URL (without the token in it)
with the `--auth` header only.
"""

import json
import os
import subprocess
import sys
import urllib.parse

import pytest

from .. import workflows as wf
from ..helpers import wait_for

pytest.importorskip('wes_client', reason='wes-service 5.0 is in the test extras')


def wes_client(service, *argv, token=None, in_host=None, env_auth=False):
    """(exit code, stdout, stderr) of `wes-client --host ... ARGV`: `token`
    as `--auth "Bearer <token>"` (or WES_API_AUTH with `env_auth`), `in_host`
    a token put in --host as `cerise:<token>@`."""
    host = urllib.parse.urlsplit(service.base_url).netloc
    if in_host is not None:
        host = f'cerise:{in_host}@{host}'
    env = {**os.environ, 'NO_PROXY': '*', 'no_proxy': '*'}
    env.pop('WES_API_AUTH', None)
    auth = []
    if token is not None:
        if env_auth:
            env['WES_API_AUTH'] = f'Bearer {token}'
        else:
            auth = ['--auth', f'Bearer {token}']
    result = subprocess.run(
        [sys.executable, '-m', 'wes_client.wes_client_main', '--host', host, '--proto', 'http']
        + auth
        + list(argv),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    return result.returncode, result.stdout, result.stderr


@pytest.fixture
def wc_files(tmp_path):
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'hello.txt').write_text('Hello, world!\nsecond line\n')
    (tmp_path / 'wc.cwl').write_text(wf.WC)
    (tmp_path / 'job.json').write_text(
        json.dumps({'file': {'class': 'File', 'path': 'data/hello.txt'}})
    )
    return tmp_path


def submit(service, wc_files, *extra, **options):
    return wes_client(
        service,
        *extra,
        f'--attachments={wc_files / "data" / "hello.txt"}',
        str(wc_files / 'wc.cwl'),
        str(wc_files / 'job.json'),
        **options,
    )


def test_wes_client_with_a_bearer_token_runs_a_workflow_and_reads_it(auth_service, wc_files):
    service = auth_service()
    token = service.token

    code, out, err = submit(service, wc_files, token=token, in_host=token)
    assert code == 0, err
    assert 'State is COMPLETE' in err
    outputs = json.loads(out)
    assert outputs['output']['class'] == 'File'
    location = outputs['output']['location']
    assert '?cerise-sig=' in location and token not in location
    run_id = err.split('Workflow run id is ')[1].split()[0]
    anonymous = service.client(None)
    status, text, _ = anonymous.call('GET', location)  # the output downloads as it is
    assert status == 200 and text.split()[:3] == ['2', '4', '26']

    code, out, err = wes_client(service, '--list', token=token)
    assert code == 0, err
    assert [run['run_id'] for run in json.loads(out)['runs']] == [run_id]

    code, out, err = wes_client(service, f'--get={run_id}', token=token, env_auth=True)
    assert code == 0, err
    log = json.loads(out)
    assert log['state'] == 'COMPLETE' and log['request']['workflow_url'] == 'wc.cwl'
    assert token not in out

    code, out, err = wes_client(service, f'--log={run_id}', token=token)
    assert code == 0 and 'Submitted through GA4GH WES' in out, (out, err)
    assert token not in out

    code, out, err = wes_client(service, '--info', token=token)
    assert code == 0, err
    assert json.loads(out)['supported_wes_versions']

    # the same calls without the token: errors, not data
    for argv in (['--list'], [f'--get={run_id}'], [f'--log={run_id}']):
        code, out, err = wes_client(service, *argv)
        assert code != 0, (argv, out)
        assert run_id not in out, (argv, out)
        assert '401' in err, (argv, err)
    code, out, err = wes_client(service, '--list', token='not-the-token')
    assert code != 0 and run_id not in out and '401' in err, (out, err)


def test_wes_client_without_the_token_cannot_submit(auth_service, wc_files):
    service = auth_service()
    api = service.client(service.token)
    code, out, err = submit(service, wc_files, '--no-wait')
    assert code != 0, out
    assert '401' in err, err
    # wes-client 5.0 leaves --auth off its submission: the bearer token alone is refused too
    code, out, err = submit(service, wc_files, '--no-wait', token=service.token)
    assert code != 0, out
    assert '401' in err, err
    code, out, err = submit(service, wc_files, '--no-wait', in_host='not-the-token')
    assert code != 0 and '401' in err, (out, err)
    status, jobs, _ = api.call('GET', '/jobs')
    assert status == 200 and jobs == []


def test_with_a_users_file_bob_does_not_see_alices_run(auth_service, wc_files):
    service = auth_service(users=['alice', 'bob'])
    alice, bob = service.tokens['alice'], service.tokens['bob']
    code, out, err = submit(service, wc_files, '--no-wait', token=alice, in_host=alice)
    assert code == 0, err
    run_id = out.strip()
    alice_api = service.client(alice)
    done = alice_api.wait_final(run_id, timeout=60)
    assert done['state'] == 'Success', alice_api.call('GET', f'/jobs/{run_id}/log')[1]

    code, out, err = wes_client(service, '--list', token=alice)
    assert code == 0, err
    assert [run['run_id'] for run in json.loads(out)['runs']] == [run_id]

    code, out, err = wes_client(service, '--list', token=bob)
    assert code == 0, err
    assert json.loads(out)['runs'] == []
    for argv in ([f'--get={run_id}'], [f'--log={run_id}']):
        code, out, err = wes_client(service, *argv, token=bob)
        assert code != 0, (argv, out)
        assert run_id not in out and 'Hello' not in out, (argv, out)
        assert '404' in err, (argv, err)

    # bob runs his own, and each still sees only their own
    code, out, err = submit(service, wc_files, '--no-wait', token=bob, in_host=bob)
    assert code == 0, err
    bob_run = out.strip()
    wait_for(
        lambda: (service.client(bob).job(bob_run) or {}).get('state') == 'Success',
        60,
        message='bob run',
    )
    code, out, err = wes_client(service, '--list', token=bob)
    assert [run['run_id'] for run in json.loads(out)['runs']] == [bob_run]
    code, out, err = wes_client(service, '--list', token=alice)
    assert [run['run_id'] for run in json.loads(out)['runs']] == [run_id]
