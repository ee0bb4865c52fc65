"""Unit tests for cerise_actors.config: the specialisation's API configuration file,
its defaults, the documented examples and the compute-resource files section."""

import pytest

from cerise_actors.config import (
    ApiConfig,
    ConfigError,
    Credentials,
    FilesConfig,
    JobsConfig,
    load_api_config,
)

from .config_fixtures import api, write

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


# --------------------------------------------------------------------------- API config: files


def test_api_defaults_when_file_absent(tmp_path, os_user):
    cfg = load_api_config(tmp_path, env={})
    assert isinstance(cfg, ApiConfig)
    assert cfg.source == '<defaults>'
    assert cfg.refresh == 10.0
    assert cfg.files == FilesConfig(
        protocol='local', host=None, port=22, path='/home/osuser/.cerise', credentials=Credentials()
    )
    assert cfg.jobs == JobsConfig(
        protocol='local',
        host=None,
        port=22,
        scheduler='none',
        queue_name=None,
        slots_per_node=None,
        cores_per_node=32,
        scheduler_options=None,
        cwl_runner=None,
        max_running=None,
        credentials=Credentials(),
    )


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
        protocol='sftp',
        host='fs0.das5.cs.vu.nl',
        port=22,
        path='/home/alice/.cerise',
        credentials=Credentials(username='alice', password='secret'),
    )
    assert cfg.jobs.protocol == 'ssh' and cfg.jobs.host == 'fs0.das5.cs.vu.nl'
    assert cfg.jobs.port == 22 and cfg.jobs.scheduler == 'slurm'
    assert cfg.jobs.credentials == Credentials(username='alice', password='secret')
    assert cfg.refresh == 30.0


def test_spec_das5_example_without_username_fails(tmp_path):
    path = write(tmp_path / 'config.yml', SPEC_DAS5_EXAMPLE)
    with pytest.raises(ConfigError) as info:
        load_api_config(tmp_path, env={})
    assert str(info.value).startswith(f'{path}: compute-resource.files.path: ')
    assert '$CERISE_USERNAME' in str(info.value)


def test_files_path_uses_files_username_not_jobs():
    cfg = api(
        files={'credentials': {'username': 'filer'}}, jobs={'credentials': {'username': 'jobber'}}
    )
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
    with pytest.raises(
        ConfigError,
        match=r'^<dict>: compute-resource\.files\.path: expected an '
        r'absolute path',
    ):
        api(files={'protocol': 'sftp', 'location': 'h', 'path': path}, env={'CERISE_USERNAME': 'u'})


def test_sftp_path_normalised():
    cfg = api(
        files={'protocol': 'sftp', 'location': 'h', 'path': '/home/$CERISE_USERNAME/x/'},
        env={'CERISE_FILES_USERNAME': 'u'},
    )
    assert cfg.files.path == '/home/u/x'


def test_files_path_wrong_type():
    with pytest.raises(ConfigError, match=r'compute-resource\.files\.path: expected a string'):
        api(files={'path': 42})


@pytest.mark.parametrize(
    'value, expected',
    [
        ('local', 'local'),
        ('file', 'local'),
        ('sftp', 'sftp'),
        ('SFTP', 'sftp'),
        ('None', 'local'),
    ],
)
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
    with pytest.raises(
        ConfigError,
        match=r"files\.protocol: unknown value 'scp' \(expected one "
        r'of: local, sftp\)',
    ):
        api(files={'protocol': 'scp'})
