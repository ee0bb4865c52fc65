"""`rest-service.auth: none`: no credentials needed anywhere, and one warning saying so at start."""

import logging

from .. import workflows as wf
from .conftest import WES

OFF = 'authentication is OFF'


def test_without_authentication_everything_answers_without_credentials(auth_service, caplog):
    with caplog.at_level(logging.INFO):
        service = auth_service(auth='none')
    warnings = [
        record
        for record in caplog.records
        if record.levelno == logging.WARNING and OFF in record.getMessage()
    ]
    assert len(warnings) == 1, [record.getMessage() for record in caplog.records]
    assert 'auth: none' in warnings[0].getMessage()
    assert not (service.root / 'token').exists()  # no token made

    anonymous = service.client(None)
    assert anonymous.call('GET', '/health')[:2] == (200, {'status': 'ok'})
    for path in ('/', '/jobs', '/steps', '/openapi.json', f'{WES}/service-info', f'{WES}/runs'):
        status, body, headers = anonymous.call('GET', path)
        assert status == 200, (path, body)
        assert 'WWW-Authenticate' not in headers
    assert anonymous.call('PROPFIND', '/files/', headers={'Depth': '1'})[0] == 207

    url = anonymous.put_input('open', 'hello.txt', 'one two\nthree\n')
    status, job, _ = anonymous.submit(wf.WC, {'file': {'class': 'File', 'location': url}}, 'open')
    assert status == 201, job
    done = anonymous.wait_final(job['id'])
    assert done['state'] == 'Success', anonymous.call('GET', f'/jobs/{job["id"]}/log')[1]
    location = done['output']['output']['location']
    assert 'cerise-sig' not in location  # nothing to sign for
    status, text, _ = anonymous.call('GET', location)
    assert status == 200 and text.split()[:3] == ['2', '3', '14']
    assert anonymous.call('GET', f'/jobs/{job["id"]}/log')[0] == 200
    assert anonymous.call('GET', f'{WES}/runs/{job["id"]}')[0] == 200
    # with credentials that mean nothing here, too
    wrong = service.client('not-a-token')
    assert wrong.call('GET', f'/jobs/{job["id"]}')[0] == 200
    assert anonymous.call('DELETE', f'/jobs/{job["id"]}')[0] == 204


def test_with_authentication_on_there_is_no_such_warning(auth_service, caplog):
    with caplog.at_level(logging.INFO):
        service = auth_service()
    assert not [record for record in caplog.records if OFF in record.getMessage()]
    assert service.client(None).call('GET', '/jobs')[0] == 401
    assert service.client(None).call('GET', '/health')[:2] == (200, {'status': 'ok'})
