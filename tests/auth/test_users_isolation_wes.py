"""Two users on one service, through WES: bob never runs alice's workflow, reads her files,
sees her runs or writes into her folder (the /jobs and /files side: test_users_isolation.py)."""

import json

import pytest

from .. import workflows as wf
from ..helpers import wait_for
from .conftest import WES
from .isolation_setup import (
    WES_FINAL,
    WES_TEXT,
    alices_area_as_urls,
    count_of,
    downloaded,
    make_pair,
    snapshot,
)


@pytest.fixture(scope='module')
def pair(module_auth_service):
    return make_pair(module_auth_service)


def test_a_wes_run_of_bobs_cannot_run_alices_workflow(pair):
    workflow = pair.alice_area / 'input' / 'same' / 'alices-wes-workflow.cwl'
    workflow.write_text(wf.HOSTNAME)
    try:
        status, answer, _ = pair.bob.post_run(workflow_url=workflow.as_uri(), workflow_params={})
        if status == 200:
            assert wait_wes(pair.bob, answer['run_id']) != 'COMPLETE'
        else:
            assert 400 <= status < 500 and status != 401, (status, answer)
    finally:
        workflow.unlink()


@pytest.mark.parametrize('folder', ['onlyalice', 'same'])
def test_a_wes_run_of_bobs_never_reads_alices_file(pair, folder):
    """As for /jobs: where bob has a file of the same name, the service's own
    /files URL names his, whoever's credentials it carries (they are dropped
    at POST), and the run may complete on his file."""
    for kind in ('file-url', 'http-with-alices-token'):
        url = alices_area_as_urls(pair, folder)[kind]
        status, answer, _ = pair.bob.post_run(
            [('wf/wc.cwl', wf.WC.encode())],
            workflow_url='wf/wc.cwl',
            workflow_params={'file': {'class': 'File', 'location': url}},
        )
        if status == 200:
            run_id = answer['run_id']
            state = wait_wes(pair.bob, run_id)
            status, log, _ = pair.bob.call('GET', f'{WES}/runs/{run_id}')
            assert 'alice-secret' not in json.dumps(log), kind
            assert pair.tokens['alice'] not in json.dumps(log), kind
            if state == 'COMPLETE' and folder == 'same' and kind.startswith('http'):
                assert count_of(pair, pair.bob.job(run_id)) == 3, (kind, "not bob's file")
            else:
                assert state == 'EXECUTOR_ERROR' and log['outputs'] == {}, (kind, state)
        else:
            assert 400 <= status < 500 and status != 401, (kind, status, answer)


def wait_wes(client, run_id):
    def reached():
        status, answer, _ = client.call('GET', f'{WES}/runs/{run_id}/status')
        return status == 200 and answer['state'] in WES_FINAL and answer['state']

    return wait_for(reached, 120, message=f'run {run_id} to finish')


def test_alices_wes_run_is_invisible_to_bob_and_its_outputs_download_signed(pair):
    status, answer, _ = pair.alice.post_run(
        [('wf/wc.cwl', wf.WC.encode()), ('data/hello.txt', WES_TEXT)],
        workflow_url='wf/wc.cwl',
        workflow_params={'file': {'class': 'File', 'location': 'data/hello.txt'}},
        tags={'name': 'alices-run'},
    )
    assert status == 200, answer
    run_id = answer['run_id']
    assert wait_wes(pair.alice, run_id) == 'COMPLETE'
    folder = pair.alice_area / 'input' / 'wes' / run_id
    assert (folder / 'data' / 'hello.txt').read_bytes() == WES_TEXT
    assert not (pair.bob_area / 'input' / 'wes' / run_id).exists()

    status, runs, _ = pair.bob.call('GET', f'{WES}/runs')
    assert status == 200 and run_id not in json.dumps(runs)
    for method, path in (
        ('GET', f'{WES}/runs/{run_id}'),
        ('GET', f'{WES}/runs/{run_id}/status'),
        ('POST', f'{WES}/runs/{run_id}/cancel'),
        ('GET', f'{WES}/runs/{run_id}/tasks'),
        ('GET', f'{WES}/runs/{run_id}/tasks/s'),
        ('GET', f'/jobs/{run_id}'),
        ('GET', f'/jobs/{run_id}/log'),
        ('GET', f'/files/input/wes/{run_id}/data/hello.txt'),
        ('GET', f'/files/output/{run_id}/output.txt'),
    ):
        status, body, _ = pair.bob.call(method, path)
        assert status == 404, (method, path, status, body)
        assert 'alice-wes-secret' not in json.dumps(body)

    status, runs, _ = pair.alice.call('GET', f'{WES}/runs')
    assert run_id in [run['run_id'] for run in runs['runs']]
    status, log, _ = pair.alice.call('GET', f'{WES}/runs/{run_id}')
    assert status == 200 and log['state'] == 'COMPLETE'
    location = log['outputs']['output']['location']
    assert '?cerise-sig=' in location and pair.tokens['alice'] not in location
    status, text = downloaded(pair, location)
    assert status == 200 and text.split()[:2] == ['3', '4'], text
    assert downloaded(pair, location.partition('?')[0])[0] == 401


@pytest.mark.parametrize(
    'filename',
    [
        '../../../alice/input/same/hello.txt',
        '../../../../users/alice/input/same/hello.txt',
        '..%2f..%2f..%2falice%2finput%2fsame%2fhello.txt',
        'ATTACHMENT_ABSOLUTE',
    ],
)
def test_bobs_wes_attachments_cannot_land_in_alices_folder(pair, filename):
    if filename == 'ATTACHMENT_ABSOLUTE':
        filename = str(pair.alice_area / 'input' / 'same' / 'hello.txt')
    status, answer, _ = pair.bob.post_run(
        [('wf/wc.cwl', wf.WC.encode()), (filename, b'overwritten by bob\n')],
        workflow_url='wf/wc.cwl',
        workflow_params={'file': {'class': 'File', 'location': filename}},
    )
    if status == 200:
        wait_wes(pair.bob, answer['run_id'])
    else:
        assert 400 <= status < 500 and status != 401, (status, answer)
    now = snapshot(pair.alice_area)  # alice's own run has added files since
    assert {name: now.get(name) for name in pair.alice_files} == pair.alice_files
    assert not [name for name, content in now.items() if b'by bob' in content]
