"""Fixtures: a real in-process service (SQLite file, HTTP on loopback, local resource).

Each test that asks for `service` gets its own folders under tmp_path and
a free port, with the test specialisation in tests/api installed fresh.
"""

import dataclasses
import os
import signal

import pytest

from cerise_actors.app import running_service
from cerise_actors.config import load_api_config, service_config_from_dict

from .helpers import TEST_API_DIR, Client, processes_mentioning


def service_config_dict(root):
    return {
        'database': {'file': str(root / 'cerise.db')},
        'client-file-exchange': {'store-location-service': str(root / 'files')},
        'rest-service': {'hostname': '127.0.0.1', 'port': 0},
        'pidfile': str(root / 'cerise.pid'),
    }


def test_api_config(root, max_running=None, refresh=None):
    api = load_api_config(TEST_API_DIR, env={})
    files = dataclasses.replace(api.files, path=str(root / 'resource'))
    jobs = dataclasses.replace(api.jobs, max_running=max_running or api.jobs.max_running)
    return dataclasses.replace(api, files=files, jobs=jobs, refresh=refresh or api.refresh)


test_api_config.__test__ = False


@pytest.fixture
def make_service(tmp_path):
    """Start a service with options; stopped at the end of the test."""
    started = []

    def make(max_running=None, refresh=None):
        root = tmp_path / f'svc{len(started)}'
        root.mkdir()
        config = service_config_from_dict(service_config_dict(root), env={})
        context = running_service(
            config, TEST_API_DIR, api_config=test_api_config(root, max_running, refresh)
        )
        service = context.__enter__()
        started.append(context)
        service.client = Client(service.base_url, config.exchange_service_dir)
        service.root = root
        return service

    yield make
    for context in reversed(started):
        context.__exit__(None, None, None)
    for pid in processes_mentioning(str(tmp_path)):  # jobs a failed test left behind
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def service(make_service):
    return make_service()


@pytest.fixture
def client(service):
    return service.client
