"""Unit tests for the `limits` section of the main configuration file,
`fetch-deny` included (the networks the service does not fetch from)."""

import pytest

from cerise_actors.config import ConfigError, Limits, load_service_config, service_config_from_dict

from .config_fixtures import write


def test_limits_default_and_override():
    """`limits` keys are optional; given ones are checked and used."""
    base = {'database': {'file': 'x.db'}, 'client-file-exchange': {'store-location-service': '/x'}}
    assert service_config_from_dict(base, env={}).limits == Limits()
    config = service_config_from_dict(
        {**base, 'limits': {'request-bytes': 4096, 'source-seconds': 2.5, 'http-threads': 4}},
        env={},
    )
    assert config.limits.request_bytes == 4096
    assert config.limits.fetch_seconds == 2.5
    assert config.limits.http_threads == 4
    with pytest.raises(ConfigError, match='request-bytes'):
        service_config_from_dict({**base, 'limits': {'request-bytes': 10}}, env={})
    with pytest.raises(ConfigError, match='unknown'):
        service_config_from_dict({**base, 'limits': {'body': 10}}, env={})


def test_fetch_deny_defaults_to_loopback_link_local_and_unspecified():
    base = {'database': {'file': 'x.db'}, 'client-file-exchange': {'store-location-service': '/x'}}
    deny = service_config_from_dict(base, env={}).limits.fetch_deny
    for address in ('127.0.0.1', '::1', '169.254.169.254', 'fe80::1', '0.0.0.0', '::'):
        assert deny.is_denied(address), address
    assert not deny.is_denied('93.184.216.34')


def test_fetch_deny_is_read_as_a_list_of_networks(tmp_path):
    path = write(
        tmp_path / 'config.yml',
        "limits:\n  fetch-deny: [10.0.0.0/8, 'fd00::/8', 192.168.1.7]\n",
    )
    deny = load_service_config(path, env={}).limits.fetch_deny
    assert [str(network) for network in deny.networks] == [
        '10.0.0.0/8',
        'fd00::/8',
        '192.168.1.7/32',
    ]
    assert not deny.is_denied('127.0.0.1')  # a list replaces the default
    path = write(tmp_path / 'none.yml', 'limits:\n  fetch-deny: []\n')
    assert load_service_config(path, env={}).limits.fetch_deny.networks == ()


@pytest.mark.parametrize(
    'value,problem',
    [
        ('10.0.0.0/8', 'expected a list of networks'),
        ({'a': 1}, 'expected a list of networks'),
        (['10.0.0.0/33'], "'10.0.0.0/33' is not a network"),
        (['localhost'], "'localhost' is not a network"),
        ([8], '8 is not a network; write networks as text'),
    ],
)
def test_a_bad_fetch_deny_is_refused_at_start_up(value, problem):
    base = {'database': {'file': 'x.db'}, 'client-file-exchange': {'store-location-service': '/x'}}
    with pytest.raises(ConfigError, match='limits.fetch-deny') as info:
        service_config_from_dict({**base, 'limits': {'fetch-deny': value}}, env={})
    assert problem in str(info.value)
