"""Unit tests for cerise_actors.config: the API configuration's remote locations,
the compute-resource jobs section and the structure of the API file."""

import pytest

from cerise_actors.config import ConfigError, api_config_from_dict, load_api_config

from .config_fixtures import api, write

# --------------------------------------------------------------------------- API config: location


@pytest.mark.parametrize(
    'location, host, port',
    [
        ('example.com', 'example.com', 22),
        ('example.com:2222', 'example.com', 2222),
        (' example.com:22 ', 'example.com', 22),
        ('10.0.0.1:2200', '10.0.0.1', 2200),
        ('[::1]:2200', '::1', 2200),
        ('[fe80::1]', 'fe80::1', 22),
        ('fe80::1', 'fe80::1', 22),
    ],
)
def test_location_parsing(location, host, port):
    cfg = api(
        files={'protocol': 'sftp', 'location': location, 'path': '/x'},
        jobs={'protocol': 'ssh', 'location': location},
    )
    assert (cfg.files.host, cfg.files.port) == (host, port)
    assert (cfg.jobs.host, cfg.jobs.port) == (host, port)


@pytest.mark.parametrize(
    'location, fragment',
    [
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
    ],
)
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
    with pytest.raises(
        ConfigError, match=rf'^<dict>: compute-resource\.{section}\.location: missing'
    ):
        api(**kwargs)


def test_local_ignores_location():
    cfg = api(
        files={'protocol': 'local', 'location': 'not a: valid:: location', 'path': '/x'},
        jobs={'protocol': 'local', 'location': 'example.com:99999'},
    )
    assert (cfg.files.host, cfg.files.port) == (None, 22)
    assert (cfg.jobs.host, cfg.jobs.port) == (None, 22)


def test_location_must_be_string():
    # YAML 1.1 reads 12:34 as a base-60 integer
    with pytest.raises(ConfigError, match=r'jobs\.location: expected a string, got int'):
        api_config_from_dict(
            {'compute-resource': {'jobs': {'protocol': 'ssh', 'location': 754}}}, env={}
        )


# --------------------------------------------------------------------------- API config: jobs


@pytest.mark.parametrize('scheduler', ['none', 'slurm', 'torque', 'gridengine', 'SLURM'])
def test_schedulers(scheduler):
    assert api(jobs={'scheduler': scheduler}).jobs.scheduler == scheduler.lower()


def test_unknown_scheduler():
    with pytest.raises(ConfigError, match=r"jobs\.scheduler: unknown value 'pbs'"):
        api(jobs={'scheduler': 'pbs'})


def test_jobs_protocol_values():
    assert api(jobs={'protocol': 'ssh', 'location': 'h'}).jobs.protocol == 'ssh'
    with pytest.raises(
        ConfigError,
        match=r"jobs\.protocol: unknown value 'sftp' \(expected one "
        r'of: local, ssh\)',
    ):
        api(jobs={'protocol': 'sftp', 'location': 'h'})


def test_jobs_all_fields():
    cfg = api(
        jobs={
            'protocol': 'ssh',
            'location': 'cluster:2022',
            'scheduler': 'torque',
            'queue-name': 'short',
            'slots-per-node': 16,
            'cores-per-node': 24,
            'scheduler-options': '-C TitanX --gres=gpu:1',
            'cwl-runner': '$CERISE_API_FILES/bin/runner',
            'max-running': 3,
        }
    )
    jobs = cfg.jobs
    assert (jobs.protocol, jobs.host, jobs.port) == ('ssh', 'cluster', 2022)
    assert jobs.scheduler == 'torque' and jobs.queue_name == 'short'
    assert jobs.slots_per_node == 16 and jobs.cores_per_node == 24
    assert jobs.scheduler_options == '-C TitanX --gres=gpu:1'
    assert jobs.cwl_runner == '$CERISE_API_FILES/bin/runner'
    assert jobs.max_running == 3


def test_cwl_runner_not_expanded_even_if_env_set(monkeypatch):
    monkeypatch.setenv('CERISE_API_FILES', '/somewhere')
    cfg = api_config_from_dict(
        {'compute-resource': {'jobs': {'cwl-runner': '$CERISE_API_FILES/cerise/cwltiny.py'}}}
    )
    assert cfg.jobs.cwl_runner == '$CERISE_API_FILES/cerise/cwltiny.py'


@pytest.mark.parametrize(
    'key, value, expected',
    [
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
    ],
)
def test_jobs_wrong_values(key, value, expected):
    with pytest.raises(ConfigError) as info:
        api(jobs={key: value})
    assert str(info.value).startswith(f'<dict>: compute-resource.jobs.{key}: {expected}')


def test_unknown_key_in_api_file_names_file_and_key(in_tmp):
    write(in_tmp / 'api' / 'config.yml', 'compute-resource:\n  jobs:\n    schedular: slurm\n')
    with pytest.raises(ConfigError) as info:
        load_api_config('api', env={})
    text = str(info.value)
    assert text.startswith('api/config.yml: compute-resource.jobs.schedular: unknown key (known: ')
    assert 'scheduler' in text and 'max-running' in text


@pytest.mark.parametrize(
    'data, key',
    [
        ({'compute-resource': {}, 'other': 1}, 'other'),
        ({'compute-resource': {'refesh': 1}}, 'compute-resource.refesh'),
        ({'compute-resource': {'files': {'host': 'x'}}}, 'compute-resource.files.host'),
        ({'compute-resource': {'credentials': {'user': 'x'}}}, 'compute-resource.credentials.user'),
        (
            {'compute-resource': {'jobs': {'credentials': {'pasword': 'x'}}}},
            'compute-resource.jobs.credentials.pasword',
        ),
    ],
)
def test_api_unknown_keys(data, key):
    with pytest.raises(ConfigError) as info:
        api_config_from_dict(data, env={})
    assert str(info.value).startswith(f'<dict>: {key}: unknown key (known: ')


def test_api_wrong_structure():
    with pytest.raises(ConfigError, match=r'^<dict>: \(top level\): expected a mapping'):
        api_config_from_dict(['compute-resource'], env={})
    with pytest.raises(ConfigError, match=r'^<dict>: compute-resource: expected a mapping'):
        api_config_from_dict({'compute-resource': 'local'}, env={})
    with pytest.raises(ConfigError, match=r'^<dict>: compute-resource\.jobs: expected a mapping'):
        api_config_from_dict({'compute-resource': {'jobs': ['ssh']}}, env={})


def test_api_empty_sections_mean_defaults(os_user):
    for data in (
        {},
        {'compute-resource': None},
        {'compute-resource': {'files': None, 'credentials': 'None'}},
    ):
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


def test_ssh_section_defaults_and_values(tmp_path):
    from cerise_actors.config import SshConfig, api_config_from_dict

    assert api_config_from_dict({}, env={}).ssh == SshConfig()
    cfg = api_config_from_dict(
        {
            'compute-resource': {
                'ssh': {
                    'known-hosts': str(tmp_path / 'kh'),
                    'accept-unknown-hosts': True,
                    'timeout': 5,
                    'command-timeout': 7.5,
                }
            }
        },
        env={},
    )
    assert cfg.ssh == SshConfig(str(tmp_path / 'kh'), True, 5.0, 7.5)


@pytest.mark.parametrize(
    'ssh,key',
    [
        ({'accept-unknown-hosts': 'yes'}, 'accept-unknown-hosts'),
        ({'timeout': 0}, 'timeout'),
        ({'knownhosts': 'x'}, 'knownhosts'),
    ],
)
def test_ssh_section_errors_name_the_key(ssh, key):
    from cerise_actors.config import ConfigError, api_config_from_dict

    with pytest.raises(ConfigError) as info:
        api_config_from_dict({'compute-resource': {'ssh': ssh}}, env={})
    assert key in str(info.value)


@pytest.mark.parametrize('key', ['scheduler-options', 'queue-name'])
@pytest.mark.parametrize('value', ['--mem=1G\ntouch /tmp/pwned', '--mem=1G\r', 'q\n'])
def test_a_directive_value_with_a_line_break_is_refused(key, value):
    """Written into a `#SBATCH`/`#PBS`/`#$` line, a line break would end the
    directive and run the rest of the value as bash in every job."""
    with pytest.raises(ConfigError, match=rf'jobs\.{key}: must be one line'):
        api(jobs={'protocol': 'local', 'scheduler': 'slurm', key: value})


def test_directive_values_of_one_line_are_kept():
    cfg = api(
        jobs={
            'scheduler': 'slurm',
            'scheduler-options': '--mem=1G -C haswell',
            'queue-name': 'short',
        }
    )
    assert (cfg.jobs.scheduler_options, cfg.jobs.queue_name) == ('--mem=1G -C haswell', 'short')
