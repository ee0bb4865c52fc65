"""The default: one token, and a job runs through /files and /jobs with it."""

from .. import workflows as wf


def test_a_job_runs_with_the_token_and_its_output_downloads_by_its_signed_url(auth_service):
    service = auth_service()
    client = service.client(service.token)
    url = client.put_input('smoke', 'hello.txt', 'Hello, world!\n')
    status, job, _ = client.submit(wf.WC, {'file': {'class': 'File', 'location': url}}, 'smoke')
    assert status == 201, job
    done = client.wait_final(job['id'])
    assert done['state'] == 'Success', client.call('GET', f'/jobs/{job["id"]}/log')[1]
    location = done['output']['output']['location']
    assert '?cerise-sig=' in location and service.token not in location
    anonymous = service.client(None)
    status, text, _ = anonymous.call('GET', location)
    assert status == 200 and text.split()[0] == '1'
    plain = location.split('?')[0]
    assert anonymous.call('GET', plain)[0] == 401
    assert anonymous.call('GET', f'/jobs/{job["id"]}')[0] == 401
