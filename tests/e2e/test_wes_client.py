"""wes-client (from wes-service 5.0, the GA4GH reference client) against the service.

It runs as its users run it, in a subprocess, so these tests show that the
field's standard client submits a workflow with attachments and follows it
to COMPLETE, and that its list, get, log, info and cancel work.
"""

import json
import os
import subprocess
import sys
import urllib.parse

import pytest

from .. import workflows as wf
from ..helpers import wait_for
from ..wes_schema import assert_valid

pytest.importorskip('wes_client', reason='wes-service 5.0 is in the test extras')


def wes_client(service, *argv):
    """(exit code, stdout, stderr) of `wes-client --host ... ARGV`."""
    host = urllib.parse.urlsplit(service.base_url).netloc
    env = {**os.environ, 'NO_PROXY': '*', 'no_proxy': '*'}
    result = subprocess.run(
        [sys.executable, '-m', 'wes_client.wes_client_main', '--host', host, '--proto', 'http']
        + list(argv),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
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


def test_wes_client_runs_a_workflow_with_attachments_to_complete(service, wc_files):
    code, out, err = wes_client(
        service,
        f'--attachments={wc_files / "data" / "hello.txt"}',
        str(wc_files / 'wc.cwl'),
        str(wc_files / 'job.json'),
    )
    assert code == 0, err
    assert 'State is COMPLETE' in err
    outputs = json.loads(out)
    assert outputs['output']['class'] == 'File'
    run_id = err.split('Workflow run id is ')[1].split()[0]
    job = service.client.job(run_id)  # the same run through /jobs
    assert job['state'] == 'Success'
    assert service.client.output_text(job, 'output').split()[:3] == ['2', '4', '26']

    code, out, err = wes_client(service, '--list')
    assert code == 0, err
    listing = json.loads(out)
    assert_valid(listing, '/runs', 'GET', 200)
    assert [run['run_id'] for run in listing['runs']] == [run_id]

    code, out, err = wes_client(service, f'--get={run_id}')
    assert code == 0, err
    log = json.loads(out)
    assert_valid(log, '/runs/{run_id}', 'GET', 200)
    assert log['state'] == 'COMPLETE' and log['request']['workflow_url'] == 'wc.cwl'

    code, out, err = wes_client(service, f'--log={run_id}')
    assert code == 0 and 'Submitted through GA4GH WES' in out, err

    code, out, err = wes_client(service, '--info')
    assert code == 0, err
    assert_valid(json.loads(out), '/service-info', 'GET', 200)


def test_wes_client_cancels_a_run(service, tmp_path):
    from wes_client.util import WESClient

    (tmp_path / 'sleep.cwl').write_text(wf.SLEEP)
    (tmp_path / 'job.json').write_text(json.dumps({'seconds': 120}))
    code, out, err = wes_client(
        service, '--no-wait', str(tmp_path / 'sleep.cwl'), str(tmp_path / 'job.json')
    )
    assert code == 0, err
    run_id = out.strip()
    client = WESClient(
        {'auth': {}, 'proto': 'http', 'host': urllib.parse.urlsplit(service.base_url).netloc}
    )
    wait_for(lambda: client.get_run_status(run_id)['state'] == 'RUNNING', 120, message='RUNNING')
    assert client.cancel(run_id) == {'run_id': run_id}
    wait_for(lambda: client.get_run_status(run_id)['state'] == 'CANCELED', 120, message='CANCELED')
    assert service.client.job(run_id)['state'] == 'Cancelled'
