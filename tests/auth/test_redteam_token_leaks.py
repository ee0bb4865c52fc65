"""Red team: where a user's token ends up when a client puts it in a URL, and who may read the disk.

- WES `POST /runs` keeps the credentials of the service's own /files URLs:
  `http://cerise:<token>@host:port/files/input/...` in workflow_params (or
  as workflow_url) is stored as sent and echoed by GET /runs/{id}
  (`request`) and GET /jobs/{id} (`input`), and written to the job
  store. POST /jobs removes them (web/own_urls.py); WES Runs.on_post
  (web/wes/resources.py) never calls it.
- POST /jobs removes them only from URLs that start with one of the
  prefixes as text (boundary/exchange_names.py `without_own_credentials`):
  the same host in upper case (`LOCALHOST`), which every HTTP client
  treats as the same, keeps the token in the job, its GET and GET /jobs.
  Stage-in refuses such a URL anyway, so keeping the token serves nothing.
- The job store and each user's folder are made with the process umask:
  with the usual 022 every local account reads cerise.db (every user's
  jobs, and the tokens above) and users/alice/ (her inputs and outputs)
  straight from the disk, around the token.
"""

import json
import os
import stat
import urllib.parse

import pytest

from .. import workflows as wf
from ..helpers import wait_for
from .conftest import WES

WES_FINAL = {'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'}


@pytest.fixture(scope='module')
def pair(module_auth_service):
    old = os.umask(0o022)  # the usual umask of a login shell
    try:
        service = module_auth_service(users=['alice', 'bob'])
    finally:
        os.umask(old)
    service.alice = service.client(service.tokens['alice'])
    service.bob = service.client(service.tokens['bob'])
    service.secret = service.tokens['bob'].partition('.')[2]
    return service


def with_credentials(service, path, host=None):
    parts = urllib.parse.urlsplit(service.base_url)
    netloc = f'{host}:{parts.port}' if host else parts.netloc
    return f'http://cerise:{service.tokens["bob"]}@{netloc}{path}'


def store_text(service):
    found = b''
    for path in service.root.glob('cerise.db*'):
        found += path.read_bytes()
    return found


def wes_final(client, run_id):
    def reached():
        status, answer, _ = client.call('GET', f'{WES}/runs/{run_id}/status')
        return status == 200 and answer['state'] in WES_FINAL

    wait_for(reached, 120, message=f'run {run_id} to finish')


@pytest.mark.parametrize('where', ['workflow_params', 'workflow_url'])
def test_wes_never_keeps_the_token_of_an_own_files_url(pair, where):
    pair.bob.put_input('wes-creds', 'hello.txt', 'bob\n')
    pair.bob.put_input('wes-creds', 'wc.cwl', wf.WC)
    hello = with_credentials(pair, '/files/input/wes-creds/hello.txt')
    if where == 'workflow_params':
        files = [('wf/wc.cwl', wf.WC.encode())]
        fields = {'workflow_url': 'wf/wc.cwl'}
        params = {'file': {'class': 'File', 'location': hello}}
    else:
        files = []
        fields = {'workflow_url': with_credentials(pair, '/files/input/wes-creds/wc.cwl')}
        params = {
            'file': {
                'class': 'File',
                'location': f'{pair.base_url}/files/input/wes-creds/hello.txt',
            }
        }
    status, answer, _ = pair.bob.post_run(files, workflow_params=params, **fields)
    assert pair.secret not in json.dumps(answer)
    if status != 200:
        assert 400 <= status < 500 and status != 401, (status, answer)
        return
    run_id = answer['run_id']
    wes_final(pair.bob, run_id)
    shown = {
        path: pair.bob.call('GET', path)[1]
        for path in (
            f'{WES}/runs/{run_id}',
            f'/jobs/{run_id}',
            '/jobs',
            f'{WES}/runs',
            f'/ui/jobs/{run_id}',
        )
    }
    for path, body in shown.items():
        assert pair.secret not in json.dumps(body), f"bob's token is shown by GET {path}"
    assert pair.secret.encode() not in store_text(pair), "bob's token is kept in the job store"


def test_post_jobs_keeps_no_token_of_its_own_files_in_another_case(pair):
    workflow = pair.bob.put_input('case', 'wc.cwl', wf.WC)
    pair.bob.put_input('case', 'hello.txt', 'bob\n')
    hello = with_credentials(pair, '/files/input/case/hello.txt', host='LOCALHOST')
    status, job, _ = pair.bob.call(
        'POST',
        '/jobs',
        {
            'name': 'case',
            'workflow': workflow,
            'input': {'file': {'class': 'File', 'location': hello}},
        },
    )
    assert pair.secret not in json.dumps(job)
    if status != 201:
        assert 400 <= status < 500 and status != 401, (status, job)
        return
    pair.bob.wait_final(job['id'])
    for path in (f'/jobs/{job["id"]}', '/jobs', f'/jobs/{job["id"]}/log', f'/ui/jobs/{job["id"]}'):
        assert pair.secret not in json.dumps(pair.bob.call('GET', path)[1]), path
    assert pair.secret.encode() not in store_text(pair), "bob's token is kept in the job store"


def others_may_read(root, path):
    """Whether an account that is neither the owner nor in the group reads
    `path`, given the modes from `root` (the service's folder) down."""
    folder = path.parent
    while True:
        if not stat.S_IMODE(folder.stat().st_mode) & stat.S_IXOTH:
            return False
        if folder == root:
            break
        folder = folder.parent
    return bool(stat.S_IMODE(path.stat().st_mode) & stat.S_IROTH)


def test_other_local_accounts_cannot_read_alices_files_or_the_job_store(pair):
    pair.alice.put_input('disk', 'secret.txt', 'alice-disk-secret\n')
    status, job, _ = pair.alice.submit(wf.HOSTNAME, {}, 'disk')
    assert status == 201, job
    pair.alice.wait_final(job['id'])
    upload = pair.exchange / 'users' / 'alice' / 'input' / 'disk' / 'secret.txt'
    assert upload.is_file()
    readable = [
        str(path.relative_to(pair.root))
        for path in (upload, *sorted(pair.root.glob('cerise.db*')))
        if others_may_read(pair.root, path)
    ]
    assert not readable, f'every local account may read {readable}'
