"""/ready end to end: not ready while starting, ready once started, not ready
while the compute resource does not answer the poller, ready again after.

An outage is made as the fault tests make theirs: the resource's scheduler
(the one object the poller asks) fails its status queries for a while.
"""

import shutil
import threading

from cerise_actors.app import CeriseService
from cerise_actors.config import service_config_from_dict
from cerise_actors.errors import TemporaryResourceError

from .. import workflows as wf
from ..helpers import TEST_API_DIR, http, wait_for
from ..service_setup import api_config_for_tests, service_config_dict, serving_under


def ready(service):
    status, body, headers = http('GET', f'{service.http.url}/ready', timeout=10)
    assert body == {'status': 'ready' if status == 200 else 'not ready'}, body
    if status == 503:
        assert headers['Retry-After'] == '5'
    return status == 200


def test_not_ready_while_installing_then_ready(tmp_path):
    api = tmp_path / 'api'
    shutil.copytree(TEST_API_DIR, api)
    release, installing = tmp_path / 'release-install', tmp_path / 'installing'
    (api / 'test' / 'install.sh').write_text(
        f'#!/bin/bash\ntouch {installing}\nwhile [ ! -e {release} ]; do sleep 0.05; done\n'
    )
    config = service_config_from_dict(service_config_dict(tmp_path), env={})
    service = CeriseService(config, api_config_for_tests(tmp_path), api)
    starter = threading.Thread(target=service.start)
    try:
        starter.start()
        wait_for(installing.exists, message='install.sh running')
        assert not ready(service)
        assert http('GET', f'{service.http.url}/health')[:2] == (200, {'status': 'ok'})
        release.touch()
        starter.join(timeout=120)
        assert not starter.is_alive()
        assert ready(service)
    finally:
        release.touch()
        starter.join(timeout=120)
        service.stop()


def test_not_ready_while_the_resource_does_not_answer(tmp_path):
    with serving_under(tmp_path) as service:
        assert ready(service)
        job = service.client.submit(wf.SLEEP, {'seconds': 60}, 'sleeper')
        service.client.wait_state(job['id'], {'Running'})
        scheduler = service.resource.scheduler

        def unreachable(requests):
            raise TemporaryResourceError('connection refused (made by the test)')

        scheduler.poll = unreachable  # the poller's next query fails
        try:
            service.poller.poll_now()
            wait_for(lambda: not ready(service), 30, message='/ready to say not ready')
        finally:
            del scheduler.poll
        service.poller.poll_now()
        wait_for(lambda: ready(service), 30, message='/ready to say ready again')
        service.client.cancel(job['id'])
        service.client.wait_final(job['id'])
