"""End to end through HTTP: jobs that should succeed, on the local resource.

Uses the test specialisation (tests/api, project `test`), not the built-in one.
"""

import socket

from .. import workflows as wf
from ..helpers import http

HELLO = 'Hello, World!\n\nHere is a test file.\n'


def test_job_without_inputs(client):
    job = client.submit(wf.HOSTNAME)
    assert job['state'] == 'Waiting'
    assert job['name'] == 'test'
    assert job['log'].endswith(f'/jobs/{job["id"]}/log')
    done = client.wait_final(job['id'])
    assert done['state'] == 'Success', client.log(job['id'])
    assert client.output_text(done, 'output').strip() == socket.gethostname()
    assert f'/output/{job["id"]}/' in done['output']['output']['location']
    assert 'path' not in done['output']['output']


def test_job_with_an_input_file(client):
    url = client.put_input('wc', 'hello.txt', HELLO)
    job = client.submit(wf.WC, {'file': {'class': 'File', 'location': url}}, name='wc')
    done = client.wait_final(job['id'])
    assert done['state'] == 'Success', client.log(job['id'])
    assert client.output_text(done, 'output').split()[:3] == ['3', '7', str(len(HELLO))]
    assert done['input']['file']['location'] == url, 'the job shows the input as given'


def test_secondary_files_sit_beside_their_primary(client):
    primary = client.put_input('sec', 'data.txt', 'abc')
    secondary = client.put_input('sec', 'data.txt.2nd', 'secondary!')
    inputs = {
        'file': {
            'class': 'File',
            'location': primary,
            'secondaryFiles': [{'class': 'File', 'location': secondary}],
        }
    }
    done = client.wait_final(client.submit(wf.SECONDARY, inputs, name='sec')['id'])
    assert done['state'] == 'Success', client.log(done['id'])
    assert client.output_text(done, 'output').split('\n')[:2] == ['3 data.txt', '10 data.txt.2nd']


def test_array_of_files_keeps_order_even_with_equal_names(client):
    urls = [client.put_input('arr', f'{n}/part.txt', f'part {n}\n') for n in (1, 2, 3)]
    inputs = {'files': [{'class': 'File', 'location': u} for u in urls]}
    done = client.wait_final(client.submit(wf.FILE_ARRAY, inputs, name='arr')['id'])
    assert done['state'] == 'Success', client.log(done['id'])
    assert client.output_text(done, 'output') == 'part 1\npart 2\npart 3\n'


def test_optional_input_takes_its_default(client):
    done = client.wait_final(client.submit(wf.GREET, {'name': 'World'})['id'])
    assert done['state'] == 'Success', client.log(done['id'])
    assert client.output_text(done, 'output') == 'Hello World\n'
    done = client.wait_final(client.submit(wf.GREET, {'name': 'you', 'greeting': 'Hi'})['id'])
    assert client.output_text(done, 'output') == 'Hi you\n'


def test_step_using_project_files_and_install_script(client):
    url = client.put_input('heading', 'text.txt', 'body text\n')
    done = client.wait_final(
        client.submit(wf.HEADING, {'in_text': {'class': 'File', 'location': url}}, name='heading')[
            'id'
        ]
    )
    assert done['state'] == 'Success', client.log(done['id'])
    assert client.output_text(done, 'out_text') == '=== Test heading ===\nbody text\n'


def test_string_inputs_reach_the_step_literally(client, tmp_path):
    marker = tmp_path / 'pwned'
    text = f'a $(touch {marker}) `touch {marker}`; touch {marker} | && "quoted" \'single\' *'
    done = client.wait_final(client.submit(wf.ECHO, {'text': text})['id'])
    assert done['state'] == 'Success', client.log(done['id'])
    assert client.output_text(done, 'output') == text + '\n'
    assert not marker.exists()


def test_builtin_cerise_project_is_installed_too(client):
    workflow = wf.HOSTNAME.replace('test/hostname.cwl', 'cerise/test/hostname.cwl')
    done = client.wait_final(client.submit(workflow)['id'])
    assert done['state'] == 'Success', client.log(done['id'])


def test_name_and_input_default_for_older_clients(service, client):
    url = client.put_input('defaults', 'workflow.cwl', wf.HOSTNAME)
    status, job, _ = http('POST', f'{client.base}/jobs', {'workflow': url})
    assert status == 201
    assert job['name'] == '' and job['input'] == {} and job['output'] == {}
    assert client.wait_final(job['id'])['state'] == 'Success'


def test_log_tells_what_happened(client):
    done = client.wait_final(client.submit(wf.HOSTNAME)['id'])
    log = client.log(done['id'])
    for words in (
        'submitted',
        'Staged in',
        'Started on the compute resource',
        'runner has stopped',
        'Success',
    ):
        assert words in log, log


def test_list_jobs(client):
    ids = {client.submit(wf.HOSTNAME)['id'] for _ in range(3)}
    status, jobs, _ = http('GET', f'{client.base}/jobs')
    assert status == 200
    assert ids <= {job['id'] for job in jobs}
    for job_id in ids:
        client.wait_final(job_id)


def test_local_jobs_do_not_wait_for_the_next_refresh(make_service):
    client = make_service(refresh=600).client
    job = client.submit(wf.HOSTNAME)
    assert client.wait_final(job['id'], timeout=60)['state'] == 'Success'
