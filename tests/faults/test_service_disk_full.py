"""A full disk on the service's side, or under staging, is told as a full disk.

Each test puts one of the service's folders on a small tmpfs (root only;
see conftest.py) and fills it: the resource folder while a job is staged
in, the file exchange area while outputs are published, the job database
while a job is submitted. The job ends with one log line naming the disk
(not "Cannot reach the compute resource", retried forever), no half file is
published, and the API answers 507 with a JSON reason.
"""

import dataclasses
import os

from cerise_actors.app import running_service
from cerise_actors.config import service_config_from_dict

from .. import workflows as wf
from ..helpers import TEST_API_DIR, Client, http, wait_for
from ..service_setup import api_config_for_tests, service_config_dict
from .conftest import fill


def _service(tmp_path, config_dict=None, resource=None):
    config = service_config_from_dict(config_dict or service_config_dict(tmp_path), env={})
    api = api_config_for_tests(tmp_path)
    if resource is not None:
        api = dataclasses.replace(api, files=dataclasses.replace(api.files, path=str(resource)))
    service = running_service(config, TEST_API_DIR, api_config=api)
    return service, config


def test_staging_in_to_a_full_resource_fails_once_with_disk_full(small_tmpfs, tmp_path):
    resource = small_tmpfs(1024)
    context, config = _service(tmp_path, resource=resource)
    with context as service:
        client = Client(service.base_url, config.exchange_service_dir)
        client.put_input('full', 'big.txt', 'x' * 200_000)
        fill(resource)
        job = client.submit(
            wf.WC,
            {
                'file': {
                    'class': 'File',
                    'location': (
                        config.exchange_service_dir / 'input' / 'full' / 'big.txt'
                    ).as_uri(),
                }
            },
            name='full',
        )
        done = client.wait_final(job['id'], timeout=120)
        log = client.log(job['id'])
    assert done['state'] == 'TemporaryFailure', log
    assert log.count("the compute resource's disk is full") == 1, log
    assert 'Cannot reach the compute resource' not in log, log


def test_publishing_to_a_full_exchange_area_leaves_no_partial_output(small_tmpfs, tmp_path):
    files = small_tmpfs(1024, 'files')
    config_dict = service_config_dict(tmp_path)
    config_dict['client-file-exchange']['store-location-service'] = str(files)
    context, config = _service(tmp_path, config_dict)
    with context as service:
        client = Client(service.base_url, config.exchange_service_dir)
        job = client.submit(wf.SLEEP_AND_ECHO, {'seconds': 3, 'text': 'hello'})
        client.wait_state(job['id'], 'Running', timeout=120)
        fill(files)
        done = client.wait_final(job['id'], timeout=120)
        log = client.log(job['id'])
        output_dir = files / 'output' / job['id']
        left = list(output_dir.rglob('*')) if output_dir.exists() else []
    assert done['state'] == 'TemporaryFailure', log
    assert "the service's disk is full" in log, log
    assert 'please report' not in log.lower(), log
    assert left == [], left


def test_a_full_job_database_answers_507_with_a_reason(small_tmpfs, tmp_path):
    db_dir = small_tmpfs(2048, 'db')
    config_dict = service_config_dict(tmp_path)
    config_dict['database']['file'] = str(db_dir / 'cerise.db')
    context, _config = _service(tmp_path, config_dict)
    with context as service:
        fill(db_dir)
        body = {'workflow': 'http://127.0.0.1:1/wf.cwl', 'input': {'text': 'x' * 200_000}}

        def refused():
            status, answer, headers = http('POST', f'{service.base_url}/jobs', body)
            return status != 201 and (status, answer, headers)

        status, answer, headers = wait_for(refused, timeout=60, message='a full database')
        assert status == 507, answer
        assert 'json' in headers['Content-Type']
        assert 'disk is full' in answer['description']
        os.remove(db_dir / '.filler')  # space again: the service goes on
        status, _, _ = http('POST', f'{service.base_url}/jobs', {'workflow': 'http://x/wf.cwl'})
        assert status == 201
