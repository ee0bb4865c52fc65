"""boundary/network.py: the deny list, its parsing, connections made only to
allowed addresses, and the redirect rule."""

import ipaddress
import socket
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cerise_actors.boundary.network import (
    DenyList,
    FetchDenied,
    connect_allowed,
    forms,
    is_local,
    redirect_refusal,
    url_refusal,
    without_credentials,
)
from cerise_actors.defaults import FETCH_DENY

DEFAULT = DenyList.parse(FETCH_DENY)


def _spellings(address: ipaddress.IPv4Address):
    """Every way an IPv6 address can carry `address`."""
    number = int(address)
    yield ipaddress.IPv6Address((0xFFFF << 32) | number)  # ::ffff:a.b.c.d
    yield ipaddress.IPv6Address(number)  # ::a.b.c.d (not for 0.0.0.0/8)
    yield ipaddress.IPv6Address(int(ipaddress.IPv6Address('64:ff9b::')) | number)
    yield ipaddress.IPv6Address((0x2002 << 112) | (number << 80) | 1)


@st.composite
def in_network(draw, network):
    offset = draw(st.integers(min_value=0, max_value=network.num_addresses - 1))
    return network.network_address + offset


@given(st.data())
def test_every_address_of_a_denied_network_is_refused_in_every_form(data):
    network = data.draw(st.sampled_from(DEFAULT.networks))
    address = data.draw(in_network(network))
    assert DEFAULT.is_denied(address)
    assert DEFAULT.is_denied(str(address))
    assert DEFAULT.is_denied(address.exploded)
    if address.version == 4:
        for form in _spellings(address):
            if int(form) < 1 << 24:  # ::0.0.0.x is :: or ::1 or unassigned, not IPv4
                continue
            assert DEFAULT.is_denied(form), form
            assert DEFAULT.is_denied(str(form)), form
    else:
        assert DEFAULT.is_denied(f'{address}%eth0')  # a zone is ignored


@given(st.integers(min_value=0, max_value=(1 << 32) - 1))
def test_an_ipv4_address_is_denied_exactly_when_its_network_is_listed(number):
    address = ipaddress.IPv4Address(number)
    listed = any(address in network for network in DEFAULT.networks if network.version == 4)
    assert DEFAULT.is_denied(address) == listed
    mapped = ipaddress.IPv6Address((0xFFFF << 32) | number)
    assert DEFAULT.is_denied(mapped) == listed


@given(st.integers(min_value=0, max_value=(1 << 128) - 1))
def test_an_ipv6_address_is_denied_if_it_or_the_ipv4_it_carries_is_listed(number):
    address = ipaddress.IPv6Address(number)
    expected = any(
        form in network
        for form in forms(address)
        for network in DEFAULT.networks
        if network.version == form.version
    )
    assert DEFAULT.is_denied(address) == expected
    if address in ipaddress.ip_network('::ffff:0:0/96'):
        assert expected == DEFAULT.is_denied(address.ipv4_mapped)


def test_public_addresses_are_allowed_by_default():
    for address in ('93.184.216.34', '10.1.2.3', '2606:2800:220:1::', '::ffff:8.8.8.8'):
        assert not DEFAULT.is_denied(address), address


def test_an_empty_list_denies_nothing_but_the_own_port():
    open_ = DenyList()
    assert not open_.is_denied('127.0.0.1', 80)
    own = open_.with_own_port(8080)
    assert own.is_denied('127.0.0.1', 8080) and own.is_denied('127.0.0.2', 8080)
    assert own.is_denied('::ffff:127.0.0.1', 8080)
    assert not own.is_denied('127.0.0.1', 8081)
    assert not own.is_denied('192.0.2.1', 8080)  # TEST-NET-1: not this machine's
    assert "this service's own address (port 8080)" in own.refusal('127.0.0.1', 8080)


def test_an_address_that_cannot_be_parsed_is_refused():
    assert DenyList().refusal('not-an-address') == 'which is not an address this service can check'
    assert DenyList().is_denied(None)


def test_a_denial_names_the_network_and_the_setting():
    assert DEFAULT.refusal('169.254.169.254') == (
        'which this service does not fetch from (limits.fetch-deny: 169.254.0.0/16)'
    )


def test_parsing_takes_networks_and_single_addresses():
    parsed = DenyList.parse(['10.0.0.0/8', ' fd00::/8 ', '192.168.1.7/24', '::1'])
    assert [str(n) for n in parsed.networks] == [
        '10.0.0.0/8',
        'fd00::/8',
        '192.168.1.0/24',
        '::1/128',
    ]


def test_an_ipv4_mapped_network_in_the_list_denies_both_spellings():
    deny = DenyList.parse(['::ffff:10.0.0.0/104'])
    assert deny.is_denied('::ffff:10.1.2.3')


@pytest.mark.parametrize(
    'entries,problem',
    [
        ('10.0.0.0/8', 'expected a list of networks'),
        (['10.0.0.0/33'], "'10.0.0.0/33' is not a network"),
        (['example.org'], "'example.org' is not a network"),
        ([None], 'None is not a network'),
    ],
)
def test_parsing_refuses_what_is_not_a_network(entries, problem):
    with pytest.raises(ValueError) as info:
        DenyList.parse(entries)
    assert problem in str(info.value)


def test_only_local_addresses_are_local():
    assert is_local(ipaddress.ip_address('127.0.0.1'))
    assert is_local(ipaddress.ip_address('127.3.4.5'))
    assert is_local(ipaddress.ip_address('::ffff:127.0.0.1'))
    assert not is_local(ipaddress.ip_address('192.0.2.1'))
    if _has_ipv6():
        assert is_local(ipaddress.ip_address('fe80::1'))  # cannot tell without a zone: refuse


def _has_ipv6() -> bool:
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).close()
    except OSError:
        return False
    return True


@pytest.fixture
def listener():
    server = socket.create_server(('127.0.0.1', 0))
    accepted = []

    def accept():
        try:
            accepted.append(server.accept()[0])
        except OSError:
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    server.close()
    thread.join(5)
    for sock in accepted:
        sock.close()


def test_a_connection_is_made_only_to_an_allowed_address(listener):
    port, accepted = listener
    with pytest.raises(FetchDenied, match='localhost resolves to 127.0.0.1, which this service'):
        connect_allowed('localhost', port, DEFAULT, timeout=5)
    with pytest.raises(FetchDenied, match='2130706433 resolves to 127.0.0.1'):
        connect_allowed('2130706433', port, DEFAULT, timeout=5)
    with pytest.raises(FetchDenied, match='own address'):
        connect_allowed('127.0.0.1', port, DenyList().with_own_port(port), timeout=5)
    assert accepted == []
    with connect_allowed('127.0.0.1', port, DenyList(), timeout=5) as sock:
        assert sock.getpeername() == ('127.0.0.1', port)
        assert sock.gettimeout() == 5


@pytest.mark.parametrize(
    'target,followed,problem',
    [
        ('ftp://127.0.0.1:21/x', 0, 'only redirects to http or https URLs are followed'),
        ('file:///etc/passwd', 0, 'only redirects to http or https'),
        ('FTP://host/x', 0, 'only redirects to http or https'),
        ('http://host/6', 5, 'redirects more than 5 times (the last time to http://host/6)'),
        ('http://[::1', 0, 'not a valid URL'),
    ],
)
def test_redirects_leave_neither_http_nor_the_count(target, followed, problem):
    assert problem in redirect_refusal(target, followed, 5)


@pytest.mark.parametrize('target', ['http://host/x', 'HTTPS://host/x'])
def test_up_to_the_count_http_redirects_are_followed(target):
    for followed in range(5):
        assert redirect_refusal(target, followed, 5) is None


# --- URLs that can never be fetched as given --------------------------------


@pytest.mark.parametrize(
    'url,shown',
    [
        ('http://alice:pw@host/x', 'http://***@host/x'),
        ('http://alice:pw@@host:1/x?a@b', 'http://***@host:1/x?a@b'),
        ('HTTPS://:pw@host/', 'HTTPS://***@host/'),
        ('//alice:pw@host/', '//***@host/'),
        ('http://host/a@b', 'http://host/a@b'),  # an @ in the path is no user info
        ('http://host/', 'http://host/'),
    ],
)
def test_credentials_are_never_shown(url, shown):
    assert without_credentials(url) == shown


@given(st.text(min_size=1, max_size=12).filter(lambda s: not set(s) & set('/?#@')))
def test_no_password_survives_without_credentials(password):
    shown = without_credentials(f'http://user:{password}@example.org/data')
    assert shown == 'http://***@example.org/data'


@pytest.mark.parametrize(
    'url,problem',
    [
        ('http://u:p@example.org/x', 'credentials in URLs are not supported'),
        ('http://u@example.org/x', 'credentials in URLs are not supported'),
        ('http:///x', 'names no host'),
        ('http://example.org:99999/', 'is not a valid URL'),
        ('http://[::1/', 'is not a valid URL'),
        ('http://xn--/x', "the IDNA label 'xn--' does not decode"),
        ('http://xn--a.example/x', "the IDNA label 'xn--a' does not decode"),
        ('http://a..b/x', 'it has an empty label'),
        ('http://' + 'a' * 64 + '.org/', 'is longer than 63 characters'),
        ('http://' + 'a.' * 127 + 'org/', 'is longer than 253 characters'),
        ('http://a%20b/x', "the label 'a b' is not letters, digits and '-'"),
        ('http://-a.org/', "the label '-a' is not letters"),
    ],
)
def test_urls_that_can_never_be_fetched_are_refused(url, problem):
    refusal = url_refusal(url)
    assert refusal is not None and problem in refusal, refusal


@pytest.mark.parametrize(
    'url',
    [
        'http://example.org/x',
        'https://example.org./x',  # a fully qualified name
        'http://b\u00fccher.example/x',  # an internationalised name
        'http://xn--bcher-kva.example/x',  # the same, as IDNA
        'http://127.0.0.1:8080/x',
        'http://2130706433/x',  # numeric spellings are for the deny list to judge
        'http://0x7f.1/x',
        'http://[::1]/x',
        'http://under_score.example/x',
        'http://%31%32%37.0.0.1/x',
    ],
)
def test_urls_that_may_work_are_left_to_the_fetch(url):
    assert url_refusal(url) is None


def test_a_redirect_to_credentials_is_refused_without_them():
    refusal = redirect_refusal('http://u:secret@example.org/x', 0, 5)
    assert refusal is not None and 'credentials in URLs are not supported' in refusal
    assert 'secret' not in refusal
    assert refusal.startswith('redirects to http://***@example.org/x, which holds credentials')


def test_a_redirect_to_an_invalid_host_is_refused():
    refusal = redirect_refusal('http://xn--/x', 0, 5)
    assert refusal == (
        "redirects to http://xn--/x, which names the host 'xn--', which is not a valid host "
        "name (the IDNA label 'xn--' does not decode)"
    )
