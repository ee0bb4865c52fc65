"""Unit tests for the cerise_actors.config package surface: exported names, frozen
config objects, ConfigError and the Credentials value type."""

import dataclasses
import pickle

import pytest

import cerise_actors.config as config_pkg
from cerise_actors.config import ConfigError, Credentials

from .config_fixtures import main_cfg

# --------------------------------------------------------------------------- package surface


def test_public_names_are_exported():
    assert set(config_pkg.__all__) == {
        'ApiConfig',
        'ConfigError',
        'Credentials',
        'FilesConfig',
        'JobsConfig',
        'Limits',
        'ServiceConfig',
        'SshConfig',
        'api_config_from_dict',
        'load_api_config',
        'load_service_config',
        'resolve_credentials',
        'service_config_from_dict',
    }
    for name in config_pkg.__all__:
        assert hasattr(config_pkg, name)


def test_config_objects_are_frozen():
    cfg = main_cfg()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.port = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        Credentials(username='a').username = 'b'


def test_config_error_parts_and_pickling():
    err = ConfigError('conf/config.yml', 'database.file', 'missing')
    assert str(err) == 'conf/config.yml: database.file: missing'
    assert (err.source, err.key, err.problem) == ('conf/config.yml', 'database.file', 'missing')
    copy = pickle.loads(pickle.dumps(err))
    assert str(copy) == str(err)
    assert str(ConfigError('x.yml', None, 'file not found')) == 'x.yml: file not found'


def test_credentials_repr_hides_secrets():
    text = repr(Credentials(username='bob', password='hunter2', certfile='/k', passphrase='pp'))
    assert 'hunter2' not in text and 'pp' not in text.replace('passphrase', '')
    assert "'bob'" in text and "'/k'" in text
    assert Credentials().is_empty and not Credentials(username='x').is_empty
