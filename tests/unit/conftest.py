"""Fixtures shared by the unit tests (os_user and in_tmp are used by the
test_config_* modules; every test ends with no actor left running)."""

import pykka
import pytest

# The fixtures of the actor tests (`store`, `stager_world`) are registered
# as plugins in tests/conftest.py: pytest only takes `pytest_plugins` from the
# top conftest.

#: seconds an actor may take to finish its current message when a test ends
STOP_TIMEOUT = 60


@pytest.fixture
def os_user(monkeypatch):
    monkeypatch.setattr('getpass.getuser', lambda: 'osuser')
    return 'osuser'


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(autouse=True)
def stop_all_actors():
    """Stop every actor a test started, last started first (workers before the store)."""
    yield
    pykka.ActorRegistry.stop_all(block=True, timeout=STOP_TIMEOUT)
