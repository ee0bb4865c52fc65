"""cerise-client 0.3.1, unchanged, against a service with authentication on.

Its users know nothing of tokens: they put the token in the service URL
(`Service(host='http://cerise:<token>@127.0.0.1', port=...)`), and requests
sends it as HTTP Basic. The client then builds every /files URL it uploads
to, and so the job's `workflow` and input `location`s, with the token in
them; the service must take those as its own /files and keep them without
the token. Outputs are downloaded with a bare GET of the URL in the job's
`output`, which works through its signed `cerise-sig` capability.
"""

import json
import logging
import urllib.parse
import uuid

import pytest
import requests

from .. import workflows as wf
from ..helpers import wait_for

cerise_client = pytest.importorskip('cerise_client', reason='cerise-client 0.3.1 (test extras)')

HELLO = b'Hello, world!\nsecond line\n'


def cerise_service(service, token):
    """The cerise-client Service for `service`, with `token` in its URL (None: without)."""
    parts = urllib.parse.urlsplit(service.base_url)
    host = f'{parts.scheme}://{parts.hostname}'
    if token is not None:
        host = f'{parts.scheme}://cerise:{token}@{parts.hostname}'
    return cerise_client.Service(host=host, port=parts.port)


def unique(prefix):
    return f'{prefix}-{uuid.uuid4().hex[:8]}'


def wait_done(job, timeout=60.0):
    wait_for(lambda: not job.is_running(), timeout, interval=0.1, message=f'job {job.id}')
    return job.state


def service_log_text(caplog):
    """Everything the service logged (the test's own HTTP library left out)."""
    formatter = logging.Formatter('%(name)s %(levelname)s %(message)s')
    return '\n'.join(
        formatter.format(record)
        for record in caplog.records
        if not record.name.startswith(('urllib3', 'requests', 'docker'))
    )


def test_cerise_client_runs_its_usual_flow_with_the_token_in_the_url(
    auth_service, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    service = auth_service()
    token = service.token
    srv = cerise_service(service, token)
    api = service.client(token)  # to look at the jobs as the service answers them

    name = unique('wc')
    job = srv.create_job(name)
    job.set_workflow(wf.WC.encode())
    job.add_input_file('file', ('hello.txt', HELLO))
    job_id = job.run()
    assert job_id and job.id == job_id

    assert wait_done(job) == 'Success', job.log
    assert isinstance(job.log, str) and job.log.strip()

    outputs = job.outputs
    output = outputs['output']
    assert isinstance(output, cerise_client.OutputFile)
    assert '?cerise-sig=' in output._uri and token not in output._uri
    assert output.text.split()[:3] == ['2', '4', '26']
    saved = tmp_path / 'saved.txt'
    output.save_as(str(saved))
    assert saved.read_text().split()[:3] == ['2', '4', '26']

    # the job as the service stores and shows it: its own /files URLs, no token
    files = f'{service.base_url.rstrip("/")}/files/input/{name}'
    status, shown, _ = api.call('GET', f'/jobs/{job_id}')
    assert status == 200, shown
    assert shown['workflow'] == f'{files}/workflow.cwl', shown['workflow']
    assert shown['input']['file']['location'] == f'{files}/hello.txt', shown['input']
    assert token not in json.dumps(shown)
    status, listed, _ = api.call('GET', '/jobs')
    assert status == 200 and token not in json.dumps(listed)
    assert token not in job.log

    # list_jobs and get_job_by_id, as the client sees them
    assert [j.id for j in srv.list_jobs()] == [job_id]
    again = srv.get_job_by_id(job_id)
    assert again.name == name and again.state == 'Success'
    assert token not in again._workflow_url and token not in json.dumps(again._input_desc)
    assert srv.get_job_by_name(name).id == job_id

    # a second job, cancelled
    other = srv.create_job(unique('sleep'))
    other.set_workflow(wf.SLEEP.encode())
    other.set_input('seconds', 60)
    other.run()
    wait_for(lambda: other.state == 'Running', 30, interval=0.1, message='Running')
    other.cancel()
    assert wait_done(other) == 'Cancelled'

    # destroy_job: PROPFIND and DELETE of the input folder, then DELETE of the job
    srv.destroy_job(job)
    with pytest.raises(cerise_client.JobNotFound):
        srv.get_job_by_id(job_id)
    assert api.call('GET', f'/files/input/{name}/hello.txt')[0] == 404
    assert api.call('GET', f'/files/input/{name}/workflow.cwl')[0] == 404
    srv.destroy_job(other)
    assert srv.list_jobs() == []

    log = service_log_text(caplog)
    assert log, 'the service logged nothing: caplog does not see it'
    assert token not in log
    for path in service.root.rglob('*'):  # the database and every file the service keeps
        if path.is_file() and path.name != 'token':
            assert token.encode() not in path.read_bytes(), path


def test_a_userinfo_url_of_its_own_files_is_taken_and_kept_without_the_token(auth_service):
    """What cerise-client POSTs, sent directly: the service's own /files URLs
    with `cerise:<token>@`, as workflow and as an input location."""
    service = auth_service()
    token = service.token
    api = service.client(token)
    name = unique('userinfo')
    plain_workflow = api.put_input(name, 'workflow.cwl', wf.WC)
    plain_input = api.put_input(name, 'hello.txt', HELLO)

    def with_token(url):
        return url.replace('://', f'://cerise:{token}@', 1)

    body = {
        'name': name,
        'workflow': with_token(plain_workflow),
        'input': {'file': {'class': 'File', 'location': with_token(plain_input)}},
    }
    status, job, _ = api.call('POST', '/jobs', body)
    assert status == 201, f'POST /jobs with userinfo URLs of its own /files: {status} {job}'
    assert token not in json.dumps(job)
    assert job['workflow'] == plain_workflow
    assert job['input']['file']['location'] == plain_input
    done = api.wait_final(job['id'], timeout=60)
    assert done['state'] == 'Success', api.call('GET', f'/jobs/{job["id"]}/log')[1]
    assert token not in json.dumps(done)


def test_cerise_client_without_the_token_gets_errors_not_data(auth_service):
    service = auth_service()
    srv = cerise_service(service, service.token)
    job = srv.create_job(unique('wc'))
    job.set_workflow(wf.WC.encode())
    job.add_input_file('file', ('hello.txt', HELLO))
    job.run()
    assert wait_done(job) == 'Success', job.log
    location = job.outputs['output']._uri
    plain_output = location.split('?')[0]

    for anonymous in (cerise_service(service, None), cerise_service(service, 'not-the-token')):
        # the calls that check the answer raise; the ones that do not store nothing
        name = unique('anon')
        anon_job = anonymous.create_job(name)
        anon_job.set_workflow(wf.WC.encode())
        anon_job.add_input_file('file', ('hello.txt', HELLO))
        with pytest.raises(KeyError):  # 0.3.1 looks for the id in the 401 answer
            anon_job.run()
        assert anon_job.id is None
        api = service.client(service.token)
        assert api.call('GET', f'/files/input/{name}/workflow.cwl')[0] == 404
        assert api.call('GET', f'/files/input/{name}/hello.txt')[0] == 404

        with pytest.raises(cerise_client.CommunicationError):
            anonymous.list_jobs()
        with pytest.raises(Exception):  # noqa: B017 - 0.3.1 raises a NameError on a 401
            anonymous.get_job_by_id(job.id)
        with pytest.raises(Exception):  # noqa: B017
            anonymous.destroy_job(job)
        seen = cerise_client.Job(anonymous, job.name, job.id)
        with pytest.raises(Exception):  # noqa: B017
            seen.state  # noqa: B018
        with pytest.raises(cerise_client.CommunicationError):
            seen.log  # noqa: B018
        unsigned = cerise_client.OutputFile(plain_output)
        assert '2 4 26' not in unsigned.text
        assert requests.get(plain_output).status_code == 401

    # nothing of the job was changed by the refused calls
    assert srv.get_job_by_id(job.id).state == 'Success'
    assert job.outputs['output'].text.split()[:3] == ['2', '4', '26']
