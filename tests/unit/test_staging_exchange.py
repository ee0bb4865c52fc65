"""The file exchange: which URLs a user may name, and where they lead."""

import os

import pytest

from cerise_actors.errors import InvalidInput
from cerise_actors.staging.exchange import Exchange

CLIENT = 'http://files.example/cerise/'


@pytest.fixture
def exchange(tmp_path):
    made = Exchange(tmp_path / 'exchange', CLIENT)
    made.ensure_layout()
    (made.service_dir / 'input' / 'job' / 'a b.txt').parent.mkdir(parents=True)
    (made.service_dir / 'input' / 'job' / 'a b.txt').write_text('x')
    return made


def test_layout_and_output_locations(exchange, tmp_path):
    assert (tmp_path / 'exchange' / 'input').is_dir()
    assert (tmp_path / 'exchange' / 'output').is_dir()
    assert exchange.client_url == 'http://files.example/cerise'
    assert exchange.output_dir('j1') == exchange.service_dir / 'output' / 'j1'
    assert exchange.output_url('j1') == 'http://files.example/cerise/output/j1'


def test_urls_inside_the_exchange_resolve_to_files(exchange):
    inside = exchange.service_dir / 'input' / 'job' / 'a b.txt'
    for url in (
        f'{CLIENT}input/job/a%20b.txt',
        str(inside),
        inside.as_uri(),
        'file://localhost' + inside.as_uri()[len('file://') :],
    ):
        assert exchange.local_path(url) == inside, url


def test_http_urls_are_fetched_not_resolved(exchange):
    assert exchange.local_path('https://example.org/data.txt') is None
    assert exchange.local_path('http://example.org/data.txt') is None


@pytest.mark.parametrize(
    'url,problem',
    [
        ('/etc/passwd', 'outside the file exchange area'),
        ('file:///etc/passwd', 'outside the file exchange area'),
        (f'{CLIENT}input/../../../etc/passwd', 'outside the file exchange area'),
        (f'{CLIENT}%2Fetc/passwd', 'outside the file exchange area'),
        ('file://otherhost/etc/passwd', 'file URLs must not name a host'),
        ('ftp://example.org/data.txt', 'not a location this service can read'),
        ('input/job/a.txt', 'not a location this service can read'),
    ],
)
def test_anything_else_is_refused_with_a_reason(exchange, url, problem):
    with pytest.raises(InvalidInput, match=problem) as info:
        exchange.local_path(url)
    assert str(info.value).startswith(url)


def test_a_symlink_out_of_the_exchange_is_refused(exchange):
    link = exchange.service_dir / 'input' / 'job' / 'sneaky'
    os.symlink('/etc/passwd', link)
    with pytest.raises(InvalidInput, match='outside the file exchange area'):
        exchange.local_path(f'{CLIENT}input/job/sneaky')


def test_the_exchange_itself_may_be_named(exchange):
    assert exchange.local_path(str(exchange.service_dir)) == exchange.service_dir
