"""Unit tests for cerise_actors.config: the credential precedence rules of the Cerise
documentation (config file and environment, generic and specific)."""

import pytest

from cerise_actors.config import (
    ConfigError,
    Credentials,
    api_config_from_dict,
    load_api_config,
    resolve_credentials,
)

# --------------------------------------------------------------------------- credentials

COMPONENTS = ('username', 'password', 'certfile', 'passphrase')


def _all_sources(kind, component):
    """Config and env with all four sources for one component set to distinct values."""
    data = {
        'compute-resource': {
            'credentials': {component: 'generic-config'},
            kind: {'credentials': {component: 'specific-config'}},
        }
    }
    env = {
        f'CERISE_{component.upper()}': 'generic-env',
        f'CERISE_{kind.upper()}_{component.upper()}': 'specific-env',
    }
    return data, env


def _component(kind, component, data, env):
    """Resolve one component alone, by adding a username when needed to keep it."""
    extra_env = dict(env)
    if component != 'username':
        extra_env.setdefault(f'CERISE_{kind.upper()}_USERNAME', 'u')
    if component == 'passphrase':
        extra_env.setdefault(f'CERISE_{kind.upper()}_CERTFILE', '/key')
    creds = resolve_credentials(kind, data, extra_env)
    return getattr(creds, component)


@pytest.mark.parametrize('kind', ['files', 'jobs'])
@pytest.mark.parametrize('component', COMPONENTS)
def test_precedence_order_per_component(kind, component):
    data, env = _all_sources(kind, component)
    specific_env = f'CERISE_{kind.upper()}_{component.upper()}'
    generic_env = f'CERISE_{component.upper()}'
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
    env = {f'CERISE_{kind.upper()}_PASSWORD': 'pw', 'CERISE_USERNAME': 'generic'}
    assert resolve_credentials(kind, data, env) == Credentials(username='specific', password='pw')
    assert resolve_credentials(other, data, env) == Credentials(username='generic')


def test_components_resolved_independently_across_sources():
    data = {
        'compute-resource': {
            'credentials': {'passphrase': 'generic-pass'},
            'jobs': {'credentials': {'certfile': '/keys/id_rsa'}},
        }
    }
    env = {'CERISE_USERNAME': 'alice'}
    assert resolve_credentials('jobs', data, env) == Credentials(
        username='alice', certfile='/keys/id_rsa', passphrase='generic-pass'
    )
    # files has no certfile anywhere, so the passphrase alone does not count
    assert resolve_credentials('files', data, env) == Credentials(username='alice')


@pytest.mark.parametrize(
    'given, expected',
    [
        (
            dict(username='u', password='p', certfile='c', passphrase='pp'),
            Credentials(username='u', certfile='c', passphrase='pp'),
        ),
        (dict(username='u', password='p', certfile='c'), Credentials(username='u', certfile='c')),
        (dict(username='u', certfile='c'), Credentials(username='u', certfile='c')),
        (
            dict(username='u', password='p', passphrase='pp'),
            Credentials(username='u', password='p'),
        ),
        (dict(username='u', password='p'), Credentials(username='u', password='p')),
        (dict(username='u', passphrase='pp'), Credentials(username='u')),
        (dict(username='u'), Credentials(username='u')),
        (dict(password='p', certfile='c', passphrase='pp'), Credentials()),
        (dict(), Credentials()),
    ],
)
@pytest.mark.parametrize('via', ['config', 'env'])
def test_combinations(given, expected, via):
    if via == 'config':
        data = {'compute-resource': {'credentials': dict(given)}}
        env = {}
    else:
        data = {}
        env = {f'CERISE_{k.upper()}': v for k, v in given.items()}
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
    data = {
        'compute-resource': {
            'credentials': {'username': 'generic', 'password': 'None'},
            'files': {
                'credentials': {
                    'username': 'None',
                    'password': 'None',
                    'certfile': None,
                    'passphrase': 'None',
                }
            },
        }
    }
    assert resolve_credentials('files', data, {}) == Credentials(username='generic')


def test_resolve_credentials_accepts_compute_resource_mapping_and_os_environ(monkeypatch):
    for name in (
        'CERISE_USERNAME',
        'CERISE_FILES_USERNAME',
        'CERISE_FILES_PASSWORD',
        'CERISE_PASSWORD',
        'CERISE_FILES_CERTFILE',
        'CERISE_CERTFILE',
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('CERISE_FILES_USERNAME', 'envuser')
    inner = {'credentials': {'password': 'pw'}}
    assert resolve_credentials('files', inner) == Credentials(username='envuser', password='pw')
    assert resolve_credentials('files', {'compute-resource': inner}) == Credentials(
        username='envuser', password='pw'
    )


def test_resolve_credentials_bad_kind():
    with pytest.raises(ValueError):
        resolve_credentials('compute', {}, {})


def test_credentials_wrong_type_names_key():
    data = {'compute-resource': {'files': {'credentials': {'username': 'u', 'password': 1234}}}}
    with pytest.raises(ConfigError) as info:
        api_config_from_dict(data, env={})
    assert str(info.value).startswith(
        '<dict>: compute-resource.files.credentials.password: expected a string, got int'
    )
    # also reported when an environment variable would have taken precedence
    with pytest.raises(ConfigError, match=r'files\.credentials\.password'):
        resolve_credentials('files', data, {'CERISE_FILES_PASSWORD': 'x'})


def test_credentials_block_wrong_type():
    with pytest.raises(
        ConfigError,
        match=r'^<dict>: compute-resource\.credentials: expected a '
        r'mapping',
    ):
        api_config_from_dict({'compute-resource': {'credentials': 'alice'}}, env={})


def test_api_env_defaults_to_os_environ(monkeypatch, tmp_path):
    for name in (
        'CERISE_USERNAME',
        'CERISE_JOBS_USERNAME',
        'CERISE_JOBS_PASSWORD',
        'CERISE_PASSWORD',
        'CERISE_JOBS_CERTFILE',
        'CERISE_CERTFILE',
        'CERISE_FILES_USERNAME',
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('CERISE_JOBS_USERNAME', 'osenv')
    cfg = load_api_config(tmp_path)
    assert cfg.jobs.credentials == Credentials(username='osenv')
