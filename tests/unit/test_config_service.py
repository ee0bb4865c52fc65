"""Unit tests for cerise_actors.config: the main service configuration file
(conf/config.yml) and its environment overrides."""

import logging
import textwrap
from pathlib import Path

import pytest

from cerise_actors.config import (
    ConfigError,
    ServiceConfig,
    load_service_config,
    service_config_from_dict,
)

from .config_fixtures import main_cfg, minimal_main, write

SPEC_MAIN_CONFIG = """\
database:
  file: run/cerise.db

logging:
  file: /var/log/cerise/cerise_backend.log
  level: INFO

pidfile: run/cerise_backend.pid

client-file-exchange:
  store-location-service: file:///tmp/cerise_files
  store-location-client: file:///tmp/cerise_files

rest-service:
  base-url: http://localhost:29593
  hostname: 127.0.0.1
  port: 29593
"""


# --------------------------------------------------------------------------- main config


def test_spec_main_config_loads(in_tmp):
    path = write(in_tmp / 'conf' / 'config.yml', SPEC_MAIN_CONFIG)
    cfg = load_service_config(path, env={})
    assert isinstance(cfg, ServiceConfig)
    assert cfg.source == str(path)
    assert cfg.database_file == in_tmp / 'run' / 'cerise.db'
    assert cfg.log_file == Path('/var/log/cerise/cerise_backend.log')
    assert cfg.log_level == logging.INFO
    assert cfg.pid_file == in_tmp / 'run' / 'cerise_backend.pid'
    assert cfg.exchange_service_dir == Path('/tmp/cerise_files')
    assert cfg.exchange_client_url == 'file:///tmp/cerise_files'
    assert cfg.hostname == '127.0.0.1'
    assert cfg.port == 29593
    assert cfg.base_url == 'http://localhost:29593'


def test_main_defaults():
    cfg = main_cfg()
    assert cfg.source == '<dict>'
    assert cfg.log_file is None and cfg.log_level == logging.INFO
    assert cfg.pid_file is None
    assert cfg.hostname == '127.0.0.1' and cfg.port == 29593
    assert cfg.base_url is None
    assert cfg.exchange_client_url is None  # the service's own /files, known once bound


def test_main_none_strings_mean_unset():
    cfg = main_cfg(
        logging={'file': 'None', 'level': 'None'},
        pidfile='None',
        **{'rest-service': {'base-url': 'None', 'hostname': None, 'port': 'None'}},
    )
    assert cfg.log_file is None and cfg.log_level == logging.INFO and cfg.pid_file is None
    assert cfg.base_url is None and cfg.hostname == '127.0.0.1' and cfg.port == 29593


def test_relative_paths_resolved_against_cwd_at_load_time(in_tmp, monkeypatch):
    data = minimal_main(logging={'file': 'log/cerise.log'}, pidfile='run/cerise.pid')
    data['database'] = {'file': 'run/cerise.db'}
    data['client-file-exchange'] = {'store-location-service': 'files/exchange'}
    cfg = service_config_from_dict(data, env={})
    monkeypatch.chdir('/')
    assert cfg.database_file == in_tmp / 'run' / 'cerise.db'
    assert cfg.log_file == in_tmp / 'log' / 'cerise.log'
    assert cfg.pid_file == in_tmp / 'run' / 'cerise.pid'
    assert cfg.exchange_service_dir == in_tmp / 'files' / 'exchange'
    assert cfg.exchange_client_url is None
    for path in (cfg.database_file, cfg.log_file, cfg.pid_file, cfg.exchange_service_dir):
        assert path.is_absolute()


@pytest.mark.parametrize(
    'level, expected',
    [
        ('INFO', logging.INFO),
        ('debug', logging.DEBUG),
        ('WARNING', logging.WARNING),
        ('warn', logging.WARNING),
        ('Error', logging.ERROR),
        ('CRITICAL', logging.CRITICAL),
        (10, 10),
    ],
)
def test_log_levels(level, expected):
    assert main_cfg(logging={'level': level}).log_level == expected


@pytest.mark.parametrize('level', ['LOUD', True, -1, 1.5])
def test_bad_log_level(level):
    with pytest.raises(ConfigError, match=r'^<dict>: logging\.level: expected a logging level'):
        main_cfg(logging={'level': level})


def test_logging_level_without_file():
    cfg = main_cfg(logging={'level': 'DEBUG'})
    assert cfg.log_file is None and cfg.log_level == logging.DEBUG


@pytest.mark.parametrize(
    'value, expected',
    [
        ('file:///tmp/cerise_files', '/tmp/cerise_files'),
        ('file:///tmp/cerise_files/', '/tmp/cerise_files'),
        ('file://localhost/srv/x', '/srv/x'),
        ('FILE:///srv/with%20space', '/srv/with space'),
        ('/srv/plain', '/srv/plain'),
    ],
)
def test_store_location_service_forms(value, expected):
    cfg = main_cfg(**{'client-file-exchange': {'store-location-service': value}})
    assert cfg.exchange_service_dir == Path(expected)


@pytest.mark.parametrize(
    'value, fragment',
    [
        ('http://localhost/files', 'expected a file:// URL or a local path'),
        ('file://otherhost/files', "names host 'otherhost'"),
    ],
)
def test_store_location_service_refused(value, fragment):
    with pytest.raises(ConfigError) as info:
        main_cfg(**{'client-file-exchange': {'store-location-service': value}})
    assert str(info.value).startswith('<dict>: client-file-exchange.store-location-service: ')
    assert fragment in str(info.value)


def test_client_store_location_default_explicit_and_env():
    exchange = {'store-location-service': 'file:///home/webdav/files'}
    # unset: the service's own /files, derived once the port is bound (app/listen.py)
    assert main_cfg(**{'client-file-exchange': exchange}).exchange_client_url is None
    exchange['store-location-client'] = 'http://localhost:29593/files/'
    assert (
        main_cfg(**{'client-file-exchange': exchange}).exchange_client_url
        == 'http://localhost:29593/files'
    )
    env = {'CERISE_STORE_LOCATION_CLIENT': 'http://localhost:40000/files/'}
    assert (
        main_cfg(env=env, **{'client-file-exchange': exchange}).exchange_client_url
        == 'http://localhost:40000/files'
    )
    # an empty variable does not override
    env = {'CERISE_STORE_LOCATION_CLIENT': ''}
    assert (
        main_cfg(env=env, **{'client-file-exchange': exchange}).exchange_client_url
        == 'http://localhost:29593/files'
    )


def test_client_store_location_env_overrides_default():
    env = {'CERISE_STORE_LOCATION_CLIENT': 'http://h:1/files'}
    assert main_cfg(env=env).exchange_client_url == 'http://h:1/files'


def test_bad_client_store_location_from_env_names_variable():
    env = {'CERISE_STORE_LOCATION_CLIENT': 'not a url'}
    with pytest.raises(ConfigError) as info:
        main_cfg(env=env)
    text = str(info.value)
    assert text.startswith('<dict>: client-file-exchange.store-location-client: ')
    assert 'CERISE_STORE_LOCATION_CLIENT' in text


def test_base_url_config_env_and_slash():
    rest = {'rest-service': {'base-url': 'http://example.org:8000/api/'}}
    assert main_cfg(**rest).base_url == 'http://example.org:8000/api'
    env = {'CERISE_BASE_URL': 'http://localhost:41234/'}
    assert main_cfg(env=env, **rest).base_url == 'http://localhost:41234'
    assert main_cfg(env=env).base_url == 'http://localhost:41234'
    assert main_cfg(env={'CERISE_BASE_URL': ''}, **rest).base_url == 'http://example.org:8000/api'


def test_env_defaults_to_os_environ(monkeypatch):
    monkeypatch.setenv('CERISE_BASE_URL', 'http://from-environ:1')
    monkeypatch.delenv('CERISE_STORE_LOCATION_CLIENT', raising=False)
    assert service_config_from_dict(minimal_main()).base_url == 'http://from-environ:1'


def test_bad_base_url():
    with pytest.raises(ConfigError, match=r'^<dict>: rest-service\.base-url: expected an absolute'):
        main_cfg(**{'rest-service': {'base-url': 'localhost:29593'}})
    with pytest.raises(ConfigError, match='CERISE_BASE_URL'):
        main_cfg(env={'CERISE_BASE_URL': '/relative'})


@pytest.mark.parametrize('port', [0, 1, 65535])
def test_port_range_ok(port):
    assert main_cfg(**{'rest-service': {'port': port}}).port == port


@pytest.mark.parametrize('port', [-1, 65536, 'http', True, 8080.5])
def test_port_invalid(port):
    with pytest.raises(
        ConfigError,
        match=r'^<dict>: rest-service\.port: expected an integer '
        r'from 0 to 65535',
    ):
        main_cfg(**{'rest-service': {'port': port}})


def test_hostname_must_be_string():
    with pytest.raises(ConfigError, match=r'rest-service\.hostname: expected a string'):
        main_cfg(**{'rest-service': {'hostname': 12}})
    assert main_cfg(**{'rest-service': {'hostname': '0.0.0.0'}}).hostname == '0.0.0.0'


def test_missing_database_file_message(in_tmp):
    write(
        in_tmp / 'conf' / 'config.yml',
        textwrap.dedent("""\
        database:
          file: None
        client-file-exchange:
          store-location-service: file:///tmp/x
        """),
    )
    with pytest.raises(ConfigError) as info:
        load_service_config('conf/config.yml', env={})
    assert (
        str(info.value)
        == 'conf/config.yml: database.file: missing (the SQLite file of the job store)'
    )


def test_missing_database_section():
    data = minimal_main()
    del data['database']
    with pytest.raises(ConfigError, match=r'^<dict>: database\.file: missing'):
        main_cfg(data)


def test_missing_store_location_service():
    data = minimal_main()
    del data['client-file-exchange']
    with pytest.raises(
        ConfigError, match=r'^<dict>: client-file-exchange\.store-location-service: missing'
    ):
        main_cfg(data)


@pytest.mark.parametrize(
    'data, key',
    [
        ({'databse': {'file': 'x'}}, 'databse'),
        ({'rest-service': {'prot': 1}}, 'rest-service.prot'),
        ({'logging': {'file': 'x', 'lvl': 'INFO'}}, 'logging.lvl'),
        ({'database': {'file': 'x', 'path': 'y'}}, 'database.path'),
        (
            {'client-file-exchange': {'store-location-service': '/x', 'store-location': '/y'}},
            'client-file-exchange.store-location',
        ),
    ],
)
def test_main_unknown_keys(data, key):
    full = minimal_main()
    full.update(data)
    with pytest.raises(ConfigError) as info:
        main_cfg(full)
    assert str(info.value).startswith(f'<dict>: {key}: unknown key (known: ')


def test_main_wrong_types_name_key():
    with pytest.raises(ConfigError, match=r'^<dict>: database: expected a mapping, got str'):
        main_cfg(minimal_main(database='run/cerise.db'))
    with pytest.raises(ConfigError, match=r'^<dict>: database\.file: expected a string, got int'):
        main_cfg(minimal_main(database={'file': 5}))
    with pytest.raises(ConfigError, match=r'^<dict>: pidfile: expected a string'):
        main_cfg(minimal_main(pidfile=['a']))


@pytest.mark.parametrize('text', ['- a\n- b\n', 'just a string\n'])
def test_main_top_level_must_be_mapping(tmp_path, text):
    path = write(tmp_path / 'config.yml', text)
    with pytest.raises(ConfigError) as info:
        load_service_config(path, env={})
    assert str(info.value).startswith(f'{path}: (top level): expected a mapping')


def test_an_empty_or_partial_file_is_merged_over_the_defaults(tmp_path, monkeypatch):
    """A file gives only what differs from the shipped conf/config.yml."""
    monkeypatch.chdir(tmp_path)
    empty = load_service_config(write(tmp_path / 'empty.yml', ''), env={})
    assert empty.database_file == tmp_path / 'run' / 'cerise.db'
    assert empty.log_file == tmp_path / 'run' / 'cerise.log'
    assert empty.pid_file == tmp_path / 'run' / 'cerise.pid'
    assert empty.exchange_service_dir == tmp_path / 'run' / 'files'
    assert (empty.hostname, empty.port, empty.exchange_client_url) == ('127.0.0.1', 29593, None)
    partial = load_service_config(
        write(tmp_path / 'port.yml', 'rest-service:\n  port: 29600\nlogging:\n  file: null\n'),
        env={},
    )
    assert (partial.hostname, partial.port) == ('127.0.0.1', 29600)
    assert partial.log_file is None  # null in the file: stderr
    assert partial.database_file == tmp_path / 'run' / 'cerise.db'


def test_host_port_and_exchange_folder_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / 'config.yml', 'rest-service:\n  port: 29600\n')
    env = {
        'CERISE_HOSTNAME': '0.0.0.0',
        'CERISE_PORT': '8080',
        'CERISE_STORE_LOCATION_SERVICE': str(tmp_path / 'exchange'),
    }
    cfg = load_service_config(path, env=env)
    assert (cfg.hostname, cfg.port) == ('0.0.0.0', 8080)
    assert cfg.exchange_service_dir == tmp_path / 'exchange'
    assert load_service_config(path, env={'CERISE_PORT': ''}).port == 29600  # empty: unset
    with pytest.raises(ConfigError, match=r'rest-service\.port: .*from CERISE_PORT'):
        load_service_config(path, env={'CERISE_PORT': 'eighty'})


def test_main_yaml_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path / 'config.yml', 'database:\n  file: run/cerise.db\n  bad: [1, 2\n')
    with pytest.raises(ConfigError) as info:
        load_service_config(path, env={})
    text = str(info.value)
    assert text.startswith(str(path) + ': line ')
    assert 'invalid YAML' in text


def test_yaml_syntax_error_line_number(tmp_path):
    path = write(tmp_path / 'config.yml', 'database:\n  file: a\n   wrong: indent\n')
    with pytest.raises(ConfigError, match=r': line 3, column \d+: invalid YAML'):
        load_service_config(path, env={})


def test_duplicate_keys_refused(tmp_path):
    path = write(tmp_path / 'config.yml', 'database:\n  file: a\ndatabase:\n  file: b\n')
    with pytest.raises(ConfigError, match=r"line 3, .*duplicate key 'database'"):
        load_service_config(path, env={})


def test_main_file_not_found(tmp_path):
    path = tmp_path / 'nope.yml'
    with pytest.raises(ConfigError, match='file not found'):
        load_service_config(path, env={})


@pytest.mark.parametrize('name', ['config.yml', 'docker-config.yml'])
def test_shipped_configurations_load(name):
    from pathlib import Path

    from cerise_actors.config import load_service_config

    path = Path(__file__).resolve().parents[2] / 'conf' / name
    config = load_service_config(path, env={})
    assert config.port == 29593
