"""http(s) inputs that can never work as given, as an attacker or a careless
user submits them through the REST API (issue 18): a URL with user info
(`http://user:password@host/...`) and a host name that is not a valid
(IDNA) name. A URL with user info is refused at POST (400, issue 19: no
credential is ever stored with a job), a bad host name ends the job in
PermanentFailure; each with a message saying why, sent nowhere, and a
password in the URL appears neither in the answer, the job log nor the
service log.
"""

import json
import logging
import re

import pytest

from .. import workflows as wf
from ..helpers import http
from .attacker import attacker_server

PASSWORD = 'hunter2-s3cret'


def _run(client, location):
    job = client.submit(wf.WC, {'file': {'class': 'File', 'location': location}})
    done = client.wait_final(job['id'])
    return done, client.log(job['id'])


@pytest.mark.parametrize(
    'userinfo', [f'alice:{PASSWORD}@', f'alice:{PASSWORD}@@', 'alice@', f':{PASSWORD}@']
)
def test_credentials_in_an_input_url_are_refused_and_not_echoed(client, tmp_path, caplog, userinfo):
    caplog.set_level(logging.DEBUG, logger='cerise_actors')
    workflow = client.put_input('creds', 'wc.cwl', wf.WC)
    with attacker_server(tmp_path) as attacker:
        url = f'http://{userinfo}127.0.0.1:{attacker.port}/data'
        body = {
            'name': 'creds',
            'workflow': workflow,
            'input': {'file': {'class': 'File', 'location': url}},
        }
        status, answer, _ = http('POST', f'{client.base}/jobs', body)
        attacker.assert_untouched()
    assert status == 400, answer
    assert re.search(
        rf'http://\*\*\*@127.0.0.1:{attacker.port}/data: URLs with a user name or password are '
        r'not supported',
        answer['description'],
    ), answer
    assert PASSWORD not in json.dumps(answer)
    assert PASSWORD not in caplog.text
    assert http('GET', f'{client.base}/jobs')[1] == []  # nothing was kept


@pytest.mark.parametrize(
    'host', ['xn--', 'xn--a', 'xn--.example', 'a..b', '-', 'a' * 64 + '.example', 'xn--zz-']
)
def test_an_input_url_with_an_invalid_host_name_is_refused(client, host):
    done, log = _run(client, f'http://{host}/data')
    assert done['state'] == 'PermanentFailure', log
    assert re.search(
        rf"Cannot run this job: input 'file': http://{re.escape(host)}/data names the host "
        rf"'{re.escape(host)}', which is not a valid host name",
        log,
    ), log


def test_an_input_url_without_a_host_is_refused(client):
    done, log = _run(client, 'http:///data')
    assert done['state'] == 'PermanentFailure', log
    assert 'http:///data names no host' in log, log
