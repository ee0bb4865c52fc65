"""Fixtures: a real in-process service (SQLite file, HTTP on loopback, local resource).

Each test that asks for `service` gets its own folders under tmp_path and
a free port, with the test specialisation in tests/api installed fresh.
"""

import contextlib
import os
import signal

import pytest

from cerise_actors.app import running_service
from cerise_actors.config import service_config_from_dict

from .helpers import TEST_API_DIR, Client, processes_mentioning
from .service_setup import api_config_for_tests, service_config_dict

#: fixture modules, registered by name so that tests use their fixtures
#: without importing them (pytest reads this only in the top conftest)
pytest_plugins = ['tests.unit.actor_fixtures', 'tests.unit.stager_fixtures']


@pytest.fixture
def make_service(tmp_path):
    """Start a service with options; stopped at the end of the test."""
    count = 0

    with contextlib.ExitStack() as services:  # stopped last started first

        def make(max_running=None, refresh=None):
            nonlocal count
            root = tmp_path / f'svc{count}'
            count += 1
            root.mkdir()
            config = service_config_from_dict(service_config_dict(root), env={})
            api_config = api_config_for_tests(root, max_running, refresh)
            service = services.enter_context(
                running_service(config, TEST_API_DIR, api_config=api_config)
            )
            service.client = Client(service.base_url, config.exchange_service_dir)
            service.root = root
            return service

        yield make
    for pid in processes_mentioning(str(tmp_path)):  # jobs a failed test left behind
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def service(make_service):
    return make_service()


@pytest.fixture
def client(service):
    return service.client
