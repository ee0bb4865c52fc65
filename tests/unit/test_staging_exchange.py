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


def test_urls_inside_the_exchange_name_files_below_it(exchange):
    inside = exchange.service_dir / 'input' / 'job' / 'a b.txt'
    for url in (
        f'{CLIENT}input/job/a%20b.txt',
        str(inside),
        inside.as_uri(),
        'file://localhost' + inside.as_uri()[len('file://') :],
    ):
        assert exchange.name_of(url) == 'input/job/a b.txt', url
        assert exchange.checked_name(url) == 'input/job/a b.txt', url
    with exchange.root.open_read('input/job/a b.txt') as stream:
        assert stream.read() == b'x'


def test_names_in_urls_are_read_as_files_and_wes_read_them(exchange):
    """One lexical rule (boundary/names.py): %2F is a separator below the area,
    never a way to an absolute path."""
    assert exchange.name_of(f'{CLIENT}%2Fetc/passwd') == 'etc/passwd'
    assert exchange.name_of(f'{CLIENT}input/x/%2e%2e/job/a') == 'input/job/a'
    for refused in (f'{CLIENT}input/%252e%252e/x', f'{CLIENT}input/a%5Cb'):
        with pytest.raises(InvalidInput):
            exchange.name_of(refused)


def test_http_urls_are_fetched_not_resolved(exchange):
    assert exchange.name_of('https://example.org/data.txt') is None
    assert exchange.name_of('http://example.org/data.txt') is None


@pytest.mark.parametrize(
    'url,problem',
    [
        ('/etc/passwd', 'outside the file exchange area'),
        ('file:///etc/passwd', 'outside the file exchange area'),
        (f'{CLIENT}input/../../../etc/passwd', 'outside the file exchange area'),
        (f'{CLIENT}input/%2e%2e/%2E%2E/etc/passwd', 'outside the file exchange area'),
        ('file://otherhost/etc/passwd', 'file URLs must not name a host'),
        ('file:///etc/passwd?x=1', 'file URLs must not name a host nor hold a query'),
        ('s3://bucket/data.txt', 'not a location this service can read'),
        ('data:text/plain,hello', 'not a location this service can read'),
        ('ftp://example.org/data.txt', 'not a location this service can read'),
        ('input/job/a.txt', 'not a location this service can read'),
    ],
)
def test_anything_else_is_refused_with_a_reason(exchange, url, problem):
    with pytest.raises(InvalidInput, match=problem) as info:
        exchange.name_of(url)
    assert str(info.value).startswith(url)


@pytest.mark.parametrize('where', ['input/job/sneaky', 'input/job/sneaky/passwd'])
def test_a_symlink_out_of_the_exchange_is_refused_before_anything_is_read(exchange, where):
    link = exchange.service_dir / 'input' / 'job' / 'sneaky'
    os.symlink('/etc/passwd' if where.endswith('sneaky') else '/etc', link)
    url = f'{CLIENT}{where}'
    assert exchange.name_of(url) == where  # the text is inside ...
    with pytest.raises(InvalidInput, match='outside the file exchange area .*symbolic link'):
        exchange.checked_name(url)  # ... the way to it is not


def test_names_are_found_as_text_with_dot_segments_resolved(exchange):
    assert exchange.name_of(f'{CLIENT}input/x/../job/./a%20b.txt') == 'input/job/a b.txt'
    assert exchange.name_of(f'{CLIENT}input/%2e%2e/output') == 'output'
    assert exchange.name_of(f'{exchange.service_dir}/input/../output/') == 'output'
    for url in (f'{CLIENT}%2e%2e/x', f'{CLIENT}input/%2E%2E/%2e%2e/x', f'{CLIENT}a%2f..%2f..'):
        with pytest.raises(InvalidInput, match='outside the file exchange area'):
            exchange.name_of(url)


def test_the_exchange_itself_may_be_named(exchange):
    assert exchange.name_of(str(exchange.service_dir)) == ''
    assert exchange.name_of(exchange.service_dir.as_uri() + '/') == ''


def test_a_deleted_jobs_outputs_go_without_following_a_link(exchange, tmp_path):
    keep = tmp_path / 'keep'
    keep.mkdir()
    (keep / 'k.txt').write_text('k')
    out = exchange.output_dir('j1')
    (out / 'sub').mkdir(parents=True)
    os.symlink(keep, out / 'sub' / 'link')
    exchange.remove_outputs('j1')
    assert not out.exists() and (keep / 'k.txt').read_text() == 'k'
    exchange.remove_outputs('j1')  # gone already: quiet


def test_the_exchange_may_be_named_as_configured_through_a_link(tmp_path):
    (tmp_path / 'real').mkdir()
    os.symlink(tmp_path / 'real', tmp_path / 'alias')
    made = Exchange(tmp_path / 'alias', CLIENT)
    for spelling in ('real', 'alias'):
        assert made.name_of(f'{tmp_path}/{spelling}/input/a') == 'input/a'


def test_urls_of_the_services_own_files_are_names_never_fetches(tmp_path):
    """The CLI uploads to the service's /files and names that URL, while
    store-location-client may say file://: the service reads its own folder
    rather than fetching from itself (which limits.fetch-deny refuses)."""
    from cerise_actors.app.listen import own_files_urls

    class Config:
        base_url = None

    served = own_files_urls(Config(), 'http://127.0.0.1:29593')
    assert served == ('http://127.0.0.1:29593/files', 'http://localhost:29593/files')
    exchange = Exchange(tmp_path / 'x', (tmp_path / 'x').as_uri(), served_at=served)
    for url in (
        'http://127.0.0.1:29593/files/input/j/wf.cwl',
        'http://localhost:29593/files/input/j/wf.cwl',
        (tmp_path / 'x' / 'input' / 'j' / 'wf.cwl').as_uri(),
    ):
        assert exchange.name_of(url) == 'input/j/wf.cwl', url
    assert exchange.name_of('http://127.0.0.1:29594/files/input/j/wf.cwl') is None  # another
    # a service listening on every address is named by its clients here as loopback
    everywhere = own_files_urls(Config(), 'http://0.0.0.0:29593')
    assert 'http://127.0.0.1:29593/files' in everywhere
    assert 'http://localhost:29593/files' in everywhere
    with pytest.raises(InvalidInput, match='outside the file exchange area'):
        exchange.name_of('http://127.0.0.1:29593/files/input/../../x')


def test_a_file_url_may_name_the_exchange_as_configured_through_a_link(tmp_path):
    """The folder as configured (a link) and as resolved, in file URLs too: WES POST
    asks the same `Exchange.names`, so it accepts what stage-in reads."""
    (tmp_path / 'real').mkdir()
    os.symlink(tmp_path / 'real', tmp_path / 'alias')
    made = Exchange(tmp_path / 'alias', CLIENT)
    for spelling in ('real', 'alias'):
        assert made.name_of((tmp_path / spelling / 'input' / 'a').as_uri()) == 'input/a'
        with pytest.raises(InvalidInput, match='outside the file exchange area'):
            made.name_of(f'{tmp_path}/{spelling}/input/../../cerise.db')


@pytest.mark.parametrize('name', ['a\x01b', 'a\nb', '%252e%252e', 'a\\b'])
def test_paths_are_held_to_the_rules_of_names_in_urls(exchange, name):
    """Control characters and names that would decode twice are refused in paths
    and file URLs as they are in the area's URLs (`boundary/names.py`)."""
    path = f'{exchange.service_dir}/input/{name}/x'
    for url in (path, 'file://' + path.replace('%', '%25')):
        with pytest.raises(InvalidInput, match='the path holds') as info:
            exchange.name_of(url)
        assert str(info.value).startswith(repr(url))


def test_names_of_the_exchange_are_one_rule_shared_with_wes(exchange):
    from cerise_actors.boundary.exchange_names import ExchangeNames

    assert isinstance(exchange.names, ExchangeNames)
    assert exchange.names.prefixes == (CLIENT,)
    assert str(exchange.service_dir) in exchange.names.folders
