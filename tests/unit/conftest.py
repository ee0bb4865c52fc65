"""Fixtures shared by the unit tests (used by the test_config_* modules)."""

import pytest


@pytest.fixture
def os_user(monkeypatch):
    monkeypatch.setattr('getpass.getuser', lambda: 'osuser')
    return 'osuser'


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path
