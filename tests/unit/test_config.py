"""Unit tests for cerise_actors.config: both configuration files, env overrides
and the credential precedence rules of the Cerise documentation."""
import dataclasses
import logging
import pickle
import textwrap
from pathlib import Path

import pytest

import cerise_actors.config as config_pkg
from cerise_actors.config import (
    ApiConfig, ConfigError, Credentials, FilesConfig, JobsConfig, ServiceConfig,
    api_config_from_dict, load_api_config, load_service_config, resolve_credentials,
    service_config_from_dict)

# --------------------------------------------------------------------------- helpers

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

SPEC_API_TEMPLATE = """\

compute-resource:
  credentials:
    username: None
    password: None
    certfile: None
    passphrase: None

  files:
    credentials:
      username: None
      password: None
      certfile: None
      passphrase: None

    protocol: local
    location: None
    path: /home/$CERISE_USERNAME/.cerise

  jobs:
    credentials:
      username: None
      password: None
      certfile: None
      passphrase: None

    protocol: local
    location: None
    scheduler: none

    queue-name: None      # cluster default
    slots-per-node: None  # cluster default
    cores-per-node: 32
    scheduler-options: None
    cwl-runner: $CERISE_API_FILES/cerise/cwltiny.py

  refresh: 10

"""

SPEC_SPECIALISATION_EXAMPLE = """\
compute-resource:
  files:
    protocol: local
    path: /home/cerise/.cerise

  jobs:
    protocol: local

  refresh: 0.1
"""

SPEC_DAS5_EXAMPLE = """\
compute-resource:
  refresh: 30
  files:
    protocol: sftp
    location: fs0.das5.cs.vu.nl
    path: /home/$CERISE_USERNAME/.cerise

  jobs:
    protocol: ssh
    location: fs0.das5.cs.vu.nl
    scheduler: slurm
"""


def minimal_main(**sections):
    data = {
        'database': {'file': '/srv/cerise/cerise.db'},
        'client-file-exchange': {'store-location-service': 'file:///tmp/cerise_files'},
    }
    data.update(sections)
    return data


def main_cfg(data=None, env=None, **sections):
    return service_config_from_dict(minimal_main(**sections) if data is None else data,
                                    env={} if env is None else env)


def api(files=None, jobs=None, credentials=None, env=None, **extra):
    resource = dict(extra)
    if files is not None:
        resource['files'] = files
    if jobs is not None:
        resource['jobs'] = jobs
    if credentials is not None:
        resource['credentials'] = credentials
    return api_config_from_dict({'compute-resource': resource}, env={} if env is None else env)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding='utf-8')
    return path


@pytest.fixture
def os_user(monkeypatch):
    monkeypatch.setattr('getpass.getuser', lambda: 'osuser')
    return 'osuser'


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --------------------------------------------------------------------------- package surface

def test_public_names_are_exported():
    assert set(config_pkg.__all__) == {
        'ApiConfig', 'ConfigError', 'Credentials', 'FilesConfig', 'JobsConfig',
        'ServiceConfig', 'api_config_from_dict', 'load_api_config', 'load_service_config',
        'resolve_credentials', 'service_config_from_dict'}
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
    assert cfg.exchange_client_url == 'file:///tmp/cerise_files'


def test_main_none_strings_mean_unset():
    cfg = main_cfg(logging={'file': 'None', 'level': 'None'}, pidfile='None',
                   **{'rest-service': {'base-url': 'None', 'hostname': None, 'port': 'None'}})
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
    assert cfg.exchange_client_url == (in_tmp / 'files' / 'exchange').as_uri()
    for path in (cfg.database_file, cfg.log_file, cfg.pid_file, cfg.exchange_service_dir):
        assert path.is_absolute()


@pytest.mark.parametrize('level, expected', [
    ('INFO', logging.INFO), ('debug', logging.DEBUG), ('WARNING', logging.WARNING),
    ('warn', logging.WARNING), ('Error', logging.ERROR), ('CRITICAL', logging.CRITICAL),
    (10, 10),
])
def test_log_levels(level, expected):
    assert main_cfg(logging={'level': level}).log_level == expected


@pytest.mark.parametrize('level', ['LOUD', True, -1, 1.5])
def test_bad_log_level(level):
    with pytest.raises(ConfigError, match=r'^<dict>: logging\.level: expected a logging level'):
        main_cfg(logging={'level': level})


def test_logging_level_without_file():
    cfg = main_cfg(logging={'level': 'DEBUG'})
    assert cfg.log_file is None and cfg.log_level == logging.DEBUG


@pytest.mark.parametrize('value, expected', [
    ('file:///tmp/cerise_files', '/tmp/cerise_files'),
    ('file:///tmp/cerise_files/', '/tmp/cerise_files'),
    ('file://localhost/srv/x', '/srv/x'),
    ('FILE:///srv/with%20space', '/srv/with space'),
    ('/srv/plain', '/srv/plain'),
])
def test_store_location_service_forms(value, expected):
    cfg = main_cfg(**{'client-file-exchange': {'store-location-service': value}})
    assert cfg.exchange_service_dir == Path(expected)


@pytest.mark.parametrize('value, fragment', [
    ('http://localhost/files', 'expected a file:// URL or a local path'),
    ('file://otherhost/files', "names host 'otherhost'"),
])
def test_store_location_service_refused(value, fragment):
    with pytest.raises(ConfigError) as info:
        main_cfg(**{'client-file-exchange': {'store-location-service': value}})
    assert str(info.value).startswith('<dict>: client-file-exchange.store-location-service: ')
    assert fragment in str(info.value)


def test_client_store_location_default_explicit_and_env():
    exchange = {'store-location-service': 'file:///home/webdav/files'}
    assert main_cfg(**{'client-file-exchange': exchange}).exchange_client_url == \
        'file:///home/webdav/files'
    exchange['store-location-client'] = 'http://localhost:29593/files/'
    assert main_cfg(**{'client-file-exchange': exchange}).exchange_client_url == \
        'http://localhost:29593/files'
    env = {'CERISE_STORE_LOCATION_CLIENT': 'http://localhost:40000/files/'}
    assert main_cfg(env=env, **{'client-file-exchange': exchange}).exchange_client_url == \
        'http://localhost:40000/files'
    # an empty variable does not override
    env = {'CERISE_STORE_LOCATION_CLIENT': ''}
    assert main_cfg(env=env, **{'client-file-exchange': exchange}).exchange_client_url == \
        'http://localhost:29593/files'


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
    with pytest.raises(ConfigError, match=r'^<dict>: rest-service\.port: expected an integer '
                                          r'from 0 to 65535'):
        main_cfg(**{'rest-service': {'port': port}})


def test_hostname_must_be_string():
    with pytest.raises(ConfigError, match=r'rest-service\.hostname: expected a string'):
        main_cfg(**{'rest-service': {'hostname': 12}})
    assert main_cfg(**{'rest-service': {'hostname': '0.0.0.0'}}).hostname == '0.0.0.0'


def test_missing_database_file_message(in_tmp):
    write(in_tmp / 'conf' / 'config.yml', textwrap.dedent("""\
        database:
          file: None
        client-file-exchange:
          store-location-service: file:///tmp/x
        """))
    with pytest.raises(ConfigError) as info:
        load_service_config('conf/config.yml', env={})
    assert str(info.value) == \
        'conf/config.yml: database.file: missing (the SQLite file of the job store)'


def test_missing_database_section():
    data = minimal_main()
    del data['database']
    with pytest.raises(ConfigError, match=r'^<dict>: database\.file: missing'):
        main_cfg(data)


def test_missing_store_location_service():
    data = minimal_main()
    del data['client-file-exchange']
    with pytest.raises(ConfigError,
                       match=r'^<dict>: client-file-exchange\.store-location-service: missing'):
        main_cfg(data)


@pytest.mark.parametrize('data, key', [
    ({'databse': {'file': 'x'}}, 'databse'),
    ({'rest-service': {'prot': 1}}, 'rest-service.prot'),
    ({'logging': {'file': 'x', 'lvl': 'INFO'}}, 'logging.lvl'),
    ({'database': {'file': 'x', 'path': 'y'}}, 'database.path'),
    ({'client-file-exchange': {'store-location-service': '/x', 'store-location': '/y'}},
     'client-file-exchange.store-location'),
])
def test_main_unknown_keys(data, key):
    full = minimal_main()
    full.update(data)
    with pytest.raises(ConfigError) as info:
        main_cfg(full)
    assert str(info.value).startswith('<dict>: {}: unknown key (known: '.format(key))


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
    assert str(info.value).startswith('{}: (top level): expected a mapping'.format(path))


def test_main_empty_file_reports_missing_key(tmp_path):
    path = write(tmp_path / 'config.yml', '')
    with pytest.raises(ConfigError, match=r'database\.file: missing'):
        load_service_config(path, env={})


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


# --------------------------------------------------------------------------- API config: files

def test_api_defaults_when_file_absent(tmp_path, os_user):
    cfg = load_api_config(tmp_path, env={})
    assert isinstance(cfg, ApiConfig)
    assert cfg.source == '<defaults>'
    assert cfg.refresh == 10.0
    assert cfg.files == FilesConfig(protocol='local', host=None, port=22,
                                    path='/home/osuser/.cerise', credentials=Credentials())
    assert cfg.jobs == JobsConfig(
        protocol='local', host=None, port=22, scheduler='none', queue_name=None,
        slots_per_node=None, cores_per_node=32, scheduler_options=None, cwl_runner=None,
        max_running=None, credentials=Credentials())


def test_api_defaults_still_use_env_credentials(tmp_path):
    cfg = load_api_config(tmp_path, env={'CERISE_USERNAME': 'carol'})
    assert cfg.files.path == '/home/carol/.cerise'
    assert cfg.jobs.credentials == Credentials(username='carol')


def test_spec_api_template_loads(tmp_path, os_user):
    path = write(tmp_path / 'api' / 'config.yml', SPEC_API_TEMPLATE)
    cfg = load_api_config(tmp_path / 'api', env={})
    assert cfg.source == str(path)
    assert cfg.files.protocol == 'local' and cfg.files.host is None
    assert cfg.files.path == '/home/osuser/.cerise'
    assert cfg.files.credentials == Credentials()
    assert cfg.jobs.protocol == 'local' and cfg.jobs.scheduler == 'none'
    assert cfg.jobs.queue_name is None and cfg.jobs.slots_per_node is None
    assert cfg.jobs.scheduler_options is None
    assert cfg.jobs.cores_per_node == 32
    assert cfg.jobs.cwl_runner == '$CERISE_API_FILES/cerise/cwltiny.py'
    assert cfg.jobs.credentials == Credentials()
    assert cfg.refresh == 10.0


def test_spec_specialisation_example_loads(tmp_path):
    write(tmp_path / 'config.yml', SPEC_SPECIALISATION_EXAMPLE)
    cfg = load_api_config(str(tmp_path), env={})
    assert cfg.files.path == '/home/cerise/.cerise'
    assert cfg.refresh == pytest.approx(0.1)


def test_spec_das5_example_with_env_username(tmp_path):
    write(tmp_path / 'config.yml', SPEC_DAS5_EXAMPLE)
    env = {'CERISE_USERNAME': 'alice', 'CERISE_PASSWORD': 'secret'}
    cfg = load_api_config(tmp_path, env=env)
    assert cfg.files == FilesConfig(
        protocol='sftp', host='fs0.das5.cs.vu.nl', port=22, path='/home/alice/.cerise',
        credentials=Credentials(username='alice', password='secret'))
    assert cfg.jobs.protocol == 'ssh' and cfg.jobs.host == 'fs0.das5.cs.vu.nl'
    assert cfg.jobs.port == 22 and cfg.jobs.scheduler == 'slurm'
    assert cfg.jobs.credentials == Credentials(username='alice', password='secret')
    assert cfg.refresh == 30.0


def test_spec_das5_example_without_username_fails(tmp_path):
    path = write(tmp_path / 'config.yml', SPEC_DAS5_EXAMPLE)
    with pytest.raises(ConfigError) as info:
        load_api_config(tmp_path, env={})
    assert str(info.value).startswith('{}: compute-resource.files.path: '.format(path))
    assert '$CERISE_USERNAME' in str(info.value)


def test_files_path_uses_files_username_not_jobs():
    cfg = api(files={'credentials': {'username': 'filer'}},
              jobs={'credentials': {'username': 'jobber'}})
    assert cfg.files.path == '/home/filer/.cerise'
    env = {'CERISE_JOBS_USERNAME': 'jobber', 'CERISE_FILES_USERNAME': 'filer2'}
    assert api(env=env).files.path == '/home/filer2/.cerise'


def test_files_path_braced_placeholder():
    cfg = api(files={'path': '/scratch/${CERISE_USERNAME}/c'}, env={'CERISE_USERNAME': 'u'})
    assert cfg.files.path == '/scratch/u/c'


def test_local_path_falls_back_to_os_user(os_user):
    assert api(files={'path': '/data/$CERISE_USERNAME/x'}).files.path == '/data/osuser/x'


def test_local_path_tilde_and_relative(in_tmp, monkeypatch):
    monkeypatch.setenv('HOME', '/home/tester')
    assert api(files={'path': '~/.cerise'}).files.path == '/home/tester/.cerise'
    assert api(files={'path': 'work/cerise'}).files.path == str(in_tmp / 'work' / 'cerise')
    assert api(files={'path': '/a/b/../c/'}).files.path == '/a/c'


@pytest.mark.parametrize('path', ['relative/dir', '~/.cerise'])
def test_sftp_relative_path_refused(path):
    with pytest.raises(ConfigError, match=r'^<dict>: compute-resource\.files\.path: expected an '
                                          r'absolute path'):
        api(files={'protocol': 'sftp', 'location': 'h', 'path': path},
            env={'CERISE_USERNAME': 'u'})


def test_sftp_path_normalised():
    cfg = api(files={'protocol': 'sftp', 'location': 'h', 'path': '/home/$CERISE_USERNAME/x/'},
              env={'CERISE_FILES_USERNAME': 'u'})
    assert cfg.files.path == '/home/u/x'


def test_files_path_wrong_type():
    with pytest.raises(ConfigError, match=r'compute-resource\.files\.path: expected a string'):
        api(files={'path': 42})


@pytest.mark.parametrize('value, expected', [
    ('local', 'local'), ('file', 'local'), ('sftp', 'sftp'), ('SFTP', 'sftp'), ('None', 'local'),
])
def test_files_protocols(value, expected):
    cfg = api(files={'protocol': value, 'location': 'example.com', 'path': '/x'})
    assert cfg.files.protocol == expected


@pytest.mark.parametrize('protocol', ['ftp', 'webdav', 'WebDAV'])
def test_ftp_and_webdav_refused(protocol):
    with pytest.raises(ConfigError) as info:
        api(files={'protocol': protocol, 'location': 'h', 'path': '/x'})
    text = str(info.value)
    assert text.startswith('<dict>: compute-resource.files.protocol: ')
    assert 'not supported by cerise-actors' in text and 'use local or sftp' in text


def test_unknown_files_protocol():
    with pytest.raises(ConfigError, match=r"files\.protocol: unknown value 'scp' \(expected one "
                                          r"of: local, sftp\)"):
        api(files={'protocol': 'scp'})


# --------------------------------------------------------------------------- API config: location

@pytest.mark.parametrize('location, host, port', [
    ('example.com', 'example.com', 22),
    ('example.com:2222', 'example.com', 2222),
    (' example.com:22 ', 'example.com', 22),
    ('10.0.0.1:2200', '10.0.0.1', 2200),
    ('[::1]:2200', '::1', 2200),
    ('[fe80::1]', 'fe80::1', 22),
    ('fe80::1', 'fe80::1', 22),
])
def test_location_parsing(location, host, port):
    cfg = api(files={'protocol': 'sftp', 'location': location, 'path': '/x'},
              jobs={'protocol': 'ssh', 'location': location})
    assert (cfg.files.host, cfg.files.port) == (host, port)
    assert (cfg.jobs.host, cfg.jobs.port) == (host, port)


@pytest.mark.parametrize('location, fragment', [
    ('example.com:ssh', "bad port 'ssh'"),
    ('example.com:0', "bad port '0'"),
    ('example.com:70000', "bad port '70000'"),
    ('example.com:', "bad port ''"),
    ('example.com:²', 'bad port'),
    ('user@example.com', 'malformed location'),
    (':22', 'malformed location'),
    ('[::1', 'malformed location'),
    ('[::1]x', 'malformed location'),
    ('ssh://example.com', 'malformed location'),
])
def test_bad_location(location, fragment):
    with pytest.raises(ConfigError) as info:
        api(jobs={'protocol': 'ssh', 'location': location})
    assert str(info.value).startswith('<dict>: compute-resource.jobs.location: ')
    assert fragment in str(info.value)


@pytest.mark.parametrize('section, protocol', [('files', 'sftp'), ('jobs', 'ssh')])
@pytest.mark.parametrize('location', [None, 'None', ''])
def test_location_required_for_remote(section, protocol, location):
    kwargs = {section: {'protocol': protocol, 'location': location, 'path': '/x'}}
    if section == 'jobs':
        del kwargs[section]['path']
    with pytest.raises(ConfigError, match=r'^<dict>: compute-resource\.{}\.location: missing'
                                          .format(section)):
        api(**kwargs)


def test_local_ignores_location():
    cfg = api(files={'protocol': 'local', 'location': 'not a: valid:: location', 'path': '/x'},
              jobs={'protocol': 'local', 'location': 'example.com:99999'})
    assert (cfg.files.host, cfg.files.port) == (None, 22)
    assert (cfg.jobs.host, cfg.jobs.port) == (None, 22)


def test_location_must_be_string():
    # YAML 1.1 reads 12:34 as a base-60 integer
    with pytest.raises(ConfigError, match=r'jobs\.location: expected a string, got int'):
        api_config_from_dict({'compute-resource': {'jobs': {'protocol': 'ssh', 'location': 754}}},
                             env={})


# --------------------------------------------------------------------------- API config: jobs

@pytest.mark.parametrize('scheduler', ['none', 'slurm', 'torque', 'gridengine', 'SLURM'])
def test_schedulers(scheduler):
    assert api(jobs={'scheduler': scheduler}).jobs.scheduler == scheduler.lower()


def test_unknown_scheduler():
    with pytest.raises(ConfigError, match=r"jobs\.scheduler: unknown value 'pbs'"):
        api(jobs={'scheduler': 'pbs'})


def test_jobs_protocol_values():
    assert api(jobs={'protocol': 'ssh', 'location': 'h'}).jobs.protocol == 'ssh'
    with pytest.raises(ConfigError, match=r"jobs\.protocol: unknown value 'sftp' \(expected one "
                                          r"of: local, ssh\)"):
        api(jobs={'protocol': 'sftp', 'location': 'h'})


def test_jobs_all_fields():
    cfg = api(jobs={
        'protocol': 'ssh', 'location': 'cluster:2022', 'scheduler': 'torque',
        'queue-name': 'short', 'slots-per-node': 16, 'cores-per-node': 24,
        'scheduler-options': '-C TitanX --gres=gpu:1',
        'cwl-runner': '$CERISE_API_FILES/bin/runner', 'max-running': 3})
    jobs = cfg.jobs
    assert (jobs.protocol, jobs.host, jobs.port) == ('ssh', 'cluster', 2022)
    assert jobs.scheduler == 'torque' and jobs.queue_name == 'short'
    assert jobs.slots_per_node == 16 and jobs.cores_per_node == 24
    assert jobs.scheduler_options == '-C TitanX --gres=gpu:1'
    assert jobs.cwl_runner == '$CERISE_API_FILES/bin/runner'
    assert jobs.max_running == 3


def test_cwl_runner_not_expanded_even_if_env_set(monkeypatch):
    monkeypatch.setenv('CERISE_API_FILES', '/somewhere')
    cfg = api_config_from_dict({'compute-resource': {'jobs': {
        'cwl-runner': '$CERISE_API_FILES/cerise/cwltiny.py'}}})
    assert cfg.jobs.cwl_runner == '$CERISE_API_FILES/cerise/cwltiny.py'


@pytest.mark.parametrize('key, value, expected', [
    ('cores-per-node', 0, 'expected an integer >= 1, got 0'),
    ('cores-per-node', 'many', "expected an integer >= 1, got str 'many'"),
    ('cores-per-node', 2.5, 'expected an integer >= 1, got float'),
    ('slots-per-node', 0, 'expected an integer >= 1'),
    ('slots-per-node', True, 'expected an integer >= 1, got bool'),
    ('max-running', 0, 'expected an integer >= 1'),
    ('max-running', '4', 'expected an integer >= 1'),
    ('queue-name', 5, 'expected a string'),
    ('scheduler-options', ['-C', 'x'], 'expected a string'),
    ('cwl-runner', 1, 'expected a string'),
])
def test_jobs_wrong_values(key, value, expected):
    with pytest.raises(ConfigError) as info:
        api(jobs={key: value})
    assert str(info.value).startswith('<dict>: compute-resource.jobs.{}: {}'.format(key, expected))


def test_unknown_key_in_api_file_names_file_and_key(in_tmp):
    write(in_tmp / 'api' / 'config.yml',
          'compute-resource:\n  jobs:\n    schedular: slurm\n')
    with pytest.raises(ConfigError) as info:
        load_api_config('api', env={})
    text = str(info.value)
    assert text.startswith('api/config.yml: compute-resource.jobs.schedular: unknown key (known: ')
    assert 'scheduler' in text and 'max-running' in text


@pytest.mark.parametrize('data, key', [
    ({'compute-resource': {}, 'other': 1}, 'other'),
    ({'compute-resource': {'refesh': 1}}, 'compute-resource.refesh'),
    ({'compute-resource': {'files': {'host': 'x'}}}, 'compute-resource.files.host'),
    ({'compute-resource': {'credentials': {'user': 'x'}}}, 'compute-resource.credentials.user'),
    ({'compute-resource': {'jobs': {'credentials': {'pasword': 'x'}}}},
     'compute-resource.jobs.credentials.pasword'),
])
def test_api_unknown_keys(data, key):
    with pytest.raises(ConfigError) as info:
        api_config_from_dict(data, env={})
    assert str(info.value).startswith('<dict>: {}: unknown key (known: '.format(key))


def test_api_wrong_structure():
    with pytest.raises(ConfigError, match=r'^<dict>: \(top level\): expected a mapping'):
        api_config_from_dict(['compute-resource'], env={})
    with pytest.raises(ConfigError, match=r'^<dict>: compute-resource: expected a mapping'):
        api_config_from_dict({'compute-resource': 'local'}, env={})
    with pytest.raises(ConfigError, match=r'^<dict>: compute-resource\.jobs: expected a mapping'):
        api_config_from_dict({'compute-resource': {'jobs': ['ssh']}}, env={})


def test_api_empty_sections_mean_defaults(os_user):
    for data in ({}, {'compute-resource': None}, {'compute-resource': {'files': None,
                                                                       'credentials': 'None'}}):
        cfg = api_config_from_dict(data, env={})
        assert cfg.files.protocol == 'local' and cfg.jobs.protocol == 'local'
        assert cfg.files.path == '/home/osuser/.cerise'


def test_api_empty_file_means_defaults(tmp_path):
    path = write(tmp_path / 'config.yml', '')
    cfg = load_api_config(tmp_path, env={})
    assert cfg.source == str(path) and cfg.jobs.scheduler == 'none'


def test_api_yaml_syntax_error(tmp_path):
    path = write(tmp_path / 'config.yml', 'compute-resource:\n  jobs: {protocol: ssh\n')
    with pytest.raises(ConfigError) as info:
        load_api_config(tmp_path, env={})
    assert str(info.value).startswith(str(path) + ': line ')
    assert 'invalid YAML' in str(info.value)


@pytest.mark.parametrize('value, expected', [(10, 10.0), (0.5, 0.5), ('None', 10.0), (None, 10.0)])
def test_refresh_values(value, expected):
    assert api(refresh=value).refresh == expected


@pytest.mark.parametrize('value', [0, -1, 'fast', True, float('nan'), float('inf')])
def test_refresh_invalid(value):
    with pytest.raises(ConfigError, match=r'^<dict>: compute-resource\.refresh: expected a'):
        api(refresh=value)


# --------------------------------------------------------------------------- credentials

COMPONENTS = ('username', 'password', 'certfile', 'passphrase')


def _all_sources(kind, component):
    """Config and env with all four sources for one component set to distinct values."""
    data = {'compute-resource': {
        'credentials': {component: 'generic-config'},
        kind: {'credentials': {component: 'specific-config'}},
    }}
    env = {'CERISE_{}'.format(component.upper()): 'generic-env',
           'CERISE_{}_{}'.format(kind.upper(), component.upper()): 'specific-env'}
    return data, env


def _component(kind, component, data, env):
    """Resolve one component alone, by adding a username when needed to keep it."""
    extra_env = dict(env)
    if component != 'username':
        extra_env.setdefault('CERISE_{}_USERNAME'.format(kind.upper()), 'u')
    if component == 'passphrase':
        extra_env.setdefault('CERISE_{}_CERTFILE'.format(kind.upper()), '/key')
    creds = resolve_credentials(kind, data, extra_env)
    return getattr(creds, component)


@pytest.mark.parametrize('kind', ['files', 'jobs'])
@pytest.mark.parametrize('component', COMPONENTS)
def test_precedence_order_per_component(kind, component):
    data, env = _all_sources(kind, component)
    specific_env = 'CERISE_{}_{}'.format(kind.upper(), component.upper())
    generic_env = 'CERISE_{}'.format(component.upper())
    specific_block = data['compute-resource'][kind]['credentials']

    assert _component(kind, component, data, env) == 'specific-env'
    del env[specific_env]
    assert _component(kind, component, data, env) == 'specific-config'
    specific_block[component] = 'None'
    assert _component(kind, component, data, env) == 'generic-env'
    del env[generic_env]
    assert _component(kind, component, data, env) == 'generic-config'
    data['compute-resource']['credentials'][component] = None
    if component == 'username':
        assert _component(kind, component, data, env) is None
    elif component == 'passphrase':
        assert _component(kind, component, data, env) is None


@pytest.mark.parametrize('kind, other', [('files', 'jobs'), ('jobs', 'files')])
def test_specific_sources_do_not_leak_to_the_other_kind(kind, other):
    data = {'compute-resource': {kind: {'credentials': {'username': 'specific'}}}}
    env = {'CERISE_{}_PASSWORD'.format(kind.upper()): 'pw', 'CERISE_USERNAME': 'generic'}
    assert resolve_credentials(kind, data, env) == Credentials(username='specific', password='pw')
    assert resolve_credentials(other, data, env) == Credentials(username='generic')


def test_components_resolved_independently_across_sources():
    data = {'compute-resource': {
        'credentials': {'passphrase': 'generic-pass'},
        'jobs': {'credentials': {'certfile': '/keys/id_rsa'}}}}
    env = {'CERISE_USERNAME': 'alice'}
    assert resolve_credentials('jobs', data, env) == Credentials(
        username='alice', certfile='/keys/id_rsa', passphrase='generic-pass')
    # files has no certfile anywhere, so the passphrase alone does not count
    assert resolve_credentials('files', data, env) == Credentials(username='alice')


@pytest.mark.parametrize('given, expected', [
    (dict(username='u', password='p', certfile='c', passphrase='pp'),
     Credentials(username='u', certfile='c', passphrase='pp')),
    (dict(username='u', password='p', certfile='c'), Credentials(username='u', certfile='c')),
    (dict(username='u', certfile='c'), Credentials(username='u', certfile='c')),
    (dict(username='u', password='p', passphrase='pp'), Credentials(username='u', password='p')),
    (dict(username='u', password='p'), Credentials(username='u', password='p')),
    (dict(username='u', passphrase='pp'), Credentials(username='u')),
    (dict(username='u'), Credentials(username='u')),
    (dict(password='p', certfile='c', passphrase='pp'), Credentials()),
    (dict(), Credentials()),
])
@pytest.mark.parametrize('via', ['config', 'env'])
def test_combinations(given, expected, via):
    if via == 'config':
        data = {'compute-resource': {'credentials': dict(given)}}
        env = {}
    else:
        data = {}
        env = {'CERISE_{}'.format(k.upper()): v for k, v in given.items()}
    assert resolve_credentials('files', data, env) == expected
    assert resolve_credentials('jobs', data, env) == expected
    cfg = api_config_from_dict(data, env=env)
    assert cfg.jobs.credentials == expected
    assert cfg.files.credentials == expected


def test_empty_env_values_do_not_override():
    data = {'compute-resource': {'credentials': {'username': 'cfg', 'password': 'pw'}}}
    env = {'CERISE_USERNAME': '', 'CERISE_JOBS_USERNAME': '', 'CERISE_PASSWORD': ''}
    assert resolve_credentials('jobs', data, env) == Credentials(username='cfg', password='pw')


def test_none_strings_in_credentials_are_unset():
    data = {'compute-resource': {
        'credentials': {'username': 'generic', 'password': 'None'},
        'files': {'credentials': {'username': 'None', 'password': 'None',
                                  'certfile': None, 'passphrase': 'None'}}}}
    assert resolve_credentials('files', data, {}) == Credentials(username='generic')


def test_resolve_credentials_accepts_compute_resource_mapping_and_os_environ(monkeypatch):
    for name in ('CERISE_USERNAME', 'CERISE_FILES_USERNAME', 'CERISE_FILES_PASSWORD',
                 'CERISE_PASSWORD', 'CERISE_FILES_CERTFILE', 'CERISE_CERTFILE'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('CERISE_FILES_USERNAME', 'envuser')
    inner = {'credentials': {'password': 'pw'}}
    assert resolve_credentials('files', inner) == Credentials(username='envuser', password='pw')
    assert resolve_credentials('files', {'compute-resource': inner}) == \
        Credentials(username='envuser', password='pw')


def test_resolve_credentials_bad_kind():
    with pytest.raises(ValueError):
        resolve_credentials('compute', {}, {})


def test_credentials_wrong_type_names_key():
    data = {'compute-resource': {'files': {'credentials': {'username': 'u', 'password': 1234}}}}
    with pytest.raises(ConfigError) as info:
        api_config_from_dict(data, env={})
    assert str(info.value).startswith(
        '<dict>: compute-resource.files.credentials.password: expected a string, got int')
    # also reported when an environment variable would have taken precedence
    with pytest.raises(ConfigError, match=r'files\.credentials\.password'):
        resolve_credentials('files', data, {'CERISE_FILES_PASSWORD': 'x'})


def test_credentials_block_wrong_type():
    with pytest.raises(ConfigError, match=r'^<dict>: compute-resource\.credentials: expected a '
                                          r'mapping'):
        api_config_from_dict({'compute-resource': {'credentials': 'alice'}}, env={})


def test_api_env_defaults_to_os_environ(monkeypatch, tmp_path):
    for name in ('CERISE_USERNAME', 'CERISE_JOBS_USERNAME', 'CERISE_JOBS_PASSWORD',
                 'CERISE_PASSWORD', 'CERISE_JOBS_CERTFILE', 'CERISE_CERTFILE',
                 'CERISE_FILES_USERNAME'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('CERISE_JOBS_USERNAME', 'osenv')
    cfg = load_api_config(tmp_path)
    assert cfg.jobs.credentials == Credentials(username='osenv')
