"""jobs.retention: a finished job older than it disappears with its files, as by DELETE."""

import logging

from cerise_actors.app import running_service
from cerise_actors.config import service_config_from_dict

from .. import workflows as wf
from ..helpers import TEST_API_DIR, Client, wait_for
from ..service_setup import api_config_for_tests, service_config_dict


def test_a_finished_job_older_than_the_retention_is_deleted_with_its_files(tmp_path, caplog):
    data = service_config_dict(tmp_path)
    data['jobs'] = {'retention': 2}
    config = service_config_from_dict(data, env={})
    caplog.set_level(logging.INFO, logger='cerise_actors.store')
    with running_service(config, TEST_API_DIR, api_config=api_config_for_tests(tmp_path)) as s:
        client = Client(s.base_url, config.exchange_service_dir)
        slow = client.submit(wf.SLEEP, {'seconds': 60}, 'slow')
        url = client.put_input('kept', 'hello.txt', 'one\ntwo\n')
        job = client.submit(wf.WC, {'file': {'class': 'File', 'location': url}}, 'kept')
        done = client.wait_final(job['id'])
        assert done['state'] == 'Success'
        outputs = config.exchange_service_dir / 'output' / job['id']
        job_dir = tmp_path / 'resource' / 'jobs' / job['id']
        assert outputs.is_dir()
        wait_for(lambda: client.job(job['id']) is None, 60, message='the job to expire')
        wait_for(lambda: not outputs.exists(), 60, message='its outputs to go')
        wait_for(lambda: not job_dir.exists(), 60, message='its folder on the resource to go')
        assert (config.exchange_service_dir / 'input' / 'kept' / 'hello.txt').exists()
        # a job that has not finished is never expired, however old
        assert client.job(slow['id'])['state'] in ('Waiting', 'Running')
        client.cancel(slow['id'])
    lines = [r.getMessage() for r in caplog.records if job['id'] in r.getMessage()]
    assert sum('deleted with its files' in line for line in lines) == 1, lines
    assert 'more than 2 seconds ago (jobs.retention)' in next(
        line for line in lines if 'deleted with its files' in line
    )
