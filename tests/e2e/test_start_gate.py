"""While the service starts (recovering, installing), requests get a quick 503."""

import shutil
import threading

from cerise_actors.app import CeriseService
from cerise_actors.config import service_config_from_dict

from ..helpers import TEST_API_DIR, http, wait_for
from ..service_setup import api_config_for_tests, service_config_dict


def test_requests_during_installation_get_503_then_the_api(tmp_path):
    api = tmp_path / 'api'
    shutil.copytree(TEST_API_DIR, api)
    release = tmp_path / 'release-install'
    installing = tmp_path / 'installing'
    (api / 'test' / 'install.sh').write_text(
        f'#!/bin/bash\ntouch {installing}\nwhile [ ! -e {release} ]; do sleep 0.05; done\n'
    )
    config = service_config_from_dict(service_config_dict(tmp_path), env={})
    service = CeriseService(config, api_config_for_tests(tmp_path), api)
    starter = threading.Thread(target=service.start)
    try:
        starter.start()
        wait_for(installing.exists, message='install.sh running')
        status, body, headers = http('GET', f'{service.http.url}/jobs', timeout=10)
        assert status == 503 and headers['Retry-After'] == '5'
        assert 'the service is starting' in body['description']
        release.touch()
        starter.join(timeout=120)
        assert not starter.is_alive()
        status, body, _ = http('GET', f'{service.http.url}/jobs')
        assert (status, body) == (200, [])
    finally:
        release.touch()
        starter.join(timeout=120)
        service.stop()
