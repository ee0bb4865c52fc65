"""boundary/exchange_names.py: the one rule for which name below the exchange area a
location names, asked by stage-in (`Exchange.name_of`) and WES POST alike."""

import pytest

from cerise_actors.boundary.exchange_names import (
    BadName,
    ExchangeNames,
    LocationRefused,
    NotLocalFile,
    OutsideArea,
    Unreadable,
)

AREA = ExchangeNames(
    ['http://files.example/cerise/', 'http://127.0.0.1:9/files', ''],
    ['/srv/real/ex', '/home/alias/ex/'],
)


def test_prefixes_and_folders_are_normalised():
    assert AREA.prefixes == ('http://files.example/cerise/', 'http://127.0.0.1:9/files/')
    assert AREA.folders == ('/srv/real/ex', '/home/alias/ex')
    with pytest.raises(ValueError):
        ExchangeNames([], ['relative/ex'])


@pytest.mark.parametrize(
    'location, name',
    [
        ('http://files.example/cerise/input/j/a%20b.txt', 'input/j/a b.txt'),
        ('http://files.example/cerise/input/x/%2e%2e/j/a', 'input/j/a'),
        ('http://files.example/cerise/%2Fetc/passwd', 'etc/passwd'),
        ('http://127.0.0.1:9/files/input/j/wf.cwl', 'input/j/wf.cwl'),
        ('http://127.0.0.1:9/files/', ''),
        ('http://127.0.0.1:9/files', ''),
        ('/srv/real/ex/input/j/a', 'input/j/a'),
        ('/home/alias/ex/input/./j/../j/a', 'input/j/a'),
        ('file:///home/alias/ex/input/a%20b', 'input/a b'),
        ('file://localhost/srv/real/ex/output/', 'output'),
        ('/srv/real/ex', ''),
        ('//srv/real/ex/input/a', 'input/a'),
        ('/srv/other/../real/ex/input/a', 'input/a'),
        ('/srv/real/ex/input/100%.txt', 'input/100%.txt'),
    ],
)
def test_names_of_the_area_in_every_spelling(location, name):
    assert AREA.name_of(location) == name


@pytest.mark.parametrize(
    'location', ['https://example.org/a', 'http://127.0.0.1:10/files/input/a', 'HTTP://x/a']
)
def test_other_http_urls_are_not_the_areas(location):
    assert AREA.name_of(location) is None


@pytest.mark.parametrize(
    'location, climbs',
    [
        ('http://127.0.0.1:9/files/input/%2e%2e/%2e%2e/cerise.db', True),
        ('http://files.example/cerise/input/../../x', True),
        ('http://files.example/cerise/a%2f..%2f..', True),
        ('/srv/real/ex/../cerise.db', True),
        ('/home/alias/ex/input/../../cerise.db', True),
        ('file:///srv/real/ex/input/%2e%2e/%2e%2e/cerise.db', True),
        ('/etc/passwd', False),
        ('file:///srv/real/exchange/a', False),
        ('/srv/real', False),
    ],
)
def test_locations_leading_outside(location, climbs):
    with pytest.raises(OutsideArea) as info:
        AREA.name_of(location)
    assert info.value.climbs is climbs
    assert 'outside the file exchange area' in str(info.value)


@pytest.mark.parametrize(
    'location, words',
    [
        ('http://files.example/cerise/input/%252e%252e/x', 'encode names once'),
        ('http://files.example/cerise/input/a%5Cb', 'backslash'),
        ('http://files.example/cerise/input/a%00b', 'NUL'),
        ('http://files.example/cerise/input/a%0ab', 'control character'),
        ('/srv/real/ex/input/a\x1bb', 'control character'),
        ('/srv/real/ex/input/a\nb', 'control character'),
        ('file:///srv/real/ex/input/a\nb', 'control character'),
        ('file:///srv/real/ex/input/a\tb', 'control character'),
        ('file:///srv/real/ex/input/a%01b', 'control character'),
        ('/srv/real/ex/input/%252e%252e/x', 'encode names once'),
        ('file:///srv/real/ex/input/%25252e%25252e/x', 'encode names once'),
        ('/srv/real/ex/input/a\\b', 'backslash'),
    ],
)
def test_names_paths_and_urls_alike_are_held_to_the_rules_of_names(location, words):
    with pytest.raises(BadName, match=words):
        AREA.name_of(location)


@pytest.mark.parametrize(
    'location, kind, words',
    [
        ('file://otherhost/srv/real/ex/a', NotLocalFile, 'another host'),
        ('file:///srv/real/ex/a?x=1', NotLocalFile, 'query'),
        ('/srv/real/ex/a\x00', NotLocalFile, 'NUL'),
        ('file:///srv/real/ex/a%00', NotLocalFile, 'NUL'),
        ('s3://bucket/a', Unreadable, 's3: URL'),
        ('data:text/plain,x', Unreadable, 'data: URL'),
        ('input/a.txt', Unreadable, 'relative name'),
    ],
)
def test_everything_else_is_refused_with_a_reason(location, kind, words):
    with pytest.raises(kind, match=words) as info:
        AREA.name_of(location)
    assert isinstance(info.value, LocationRefused) and isinstance(info.value, ValueError)
    assert str(info.value).startswith(repr(location))


def test_refusals_say_which_kind():
    with pytest.raises(NotLocalFile) as info:
        AREA.name_of('file:///srv/real/ex/a%00')
    assert info.value.nul
    with pytest.raises(Unreadable) as unread:
        AREA.name_of('ftp://x/a')
    assert unread.value.scheme == 'ftp'
