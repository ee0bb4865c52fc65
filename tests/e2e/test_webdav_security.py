"""Nothing outside the exchange folder can be read or written through /files."""

from .webdav_fixtures import *  # noqa: F401,F403 (fixtures and helpers)

TRAVERSALS = [
    '/files/../outside/secret.txt',
    '/files/%2e%2e/outside/secret.txt',
    '/files/%2E%2E/outside/secret.txt',
    '/files/a/../../outside/secret.txt',
    '/files/..%2foutside/secret.txt',
    '/files/%2e%2e%2foutside%2fsecret.txt',
    '/files/../../../../../../etc/passwd',
    '/files/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/files/..',
    '/files/%00/x',
]


@pytest.mark.parametrize(
    'method', ['GET', 'HEAD', 'PUT', 'DELETE', 'MKCOL', 'PROPFIND', 'OPTIONS', 'MOVE', 'COPY']
)
@pytest.mark.parametrize('target', TRAVERSALS)
def test_traversal_is_refused_and_touches_nothing(served, method, target):
    (served.exchange / 'a').mkdir()
    before = _tree(served.root)
    headers = {}
    if method in ('MOVE', 'COPY'):
        headers['Destination'] = f'{served.url}/moved.txt'
    body = b'overwritten\n' if method == 'PUT' else None
    status, _, text = served.request(method, target, body, headers)
    assert status in ((400,) if '%00' in target else (403, 404)), (status, text)
    assert b'keep out' not in text and b'root:' not in text
    assert _tree(served.root) == before


@pytest.mark.parametrize(
    'destination',
    [
        '{url}/../outside/moved.txt',
        '{url}/%2e%2e/outside/moved.txt',
        'http://127.0.0.1:{port}/outside/moved.txt',
    ],
)
@pytest.mark.parametrize('method', ['MOVE', 'COPY'])
def test_copy_and_move_cannot_leave_the_exchange(served, method, destination):
    (served.exchange / 'a.txt').write_text('mine\n')
    before = _tree(served.root)
    status, _, _ = served.request(
        method,
        '/files/a.txt',
        headers={'Destination': destination.format(url=served.url, port=served.port)},
    )
    assert status in (403, 404, 502)  # 502: WsgiDAV's answer for another "realm"
    assert _tree(served.root) == before


def test_puts_to_absolute_looking_paths_stay_inside(served):
    before = _tree(served.outside)
    target = f'/files/{served.outside}/new.txt'  # /files//tmp/.../outside/new.txt
    status, _, _ = served.request('PUT', target, b'inside\n')
    assert status == 201
    assert _tree(served.outside) == before
    assert (served.exchange / str(served.outside).lstrip('/') / 'new.txt').exists()
    assert served.request('GET', '/files//etc/passwd')[0] == 404
    assert served.request('GET', f'http://127.0.0.1:{served.port}/files/../etc/passwd')[0] in (
        403,
        404,
    )


def test_symlinks_out_of_the_exchange_are_not_followed(served, dav):
    os.symlink(served.outside, served.exchange / 'out')
    os.symlink('/etc', served.exchange / 'etc')
    os.symlink('/etc/passwd', served.exchange / 'passwd')
    (served.exchange / 'real').mkdir()
    before = _tree(served.root)
    for method, target in [
        ('GET', '/files/etc/passwd'),
        ('GET', '/files/passwd'),
        ('HEAD', '/files/passwd'),
        ('GET', '/files/out/secret.txt'),
        ('PROPFIND', '/files/out/'),
        ('PROPFIND', '/files/etc/'),
        ('DELETE', '/files/out/secret.txt'),
        ('DELETE', '/files/out'),
        ('MKCOL', '/files/out/sub'),
        ('PUT', '/files/out/new.txt'),
        ('PUT', '/files/out/deep/er/new.txt'),
        ('PUT', '/files/out/secret.txt'),
        ('PUT', '/files/passwd'),
    ]:
        body = b'x' if method == 'PUT' else None
        status, _, text = served.request(method, target, body)
        assert status in (403, 404), (method, target, status)
        assert b'keep out' not in text and b'root:' not in text
    assert sorted(e['name'] for e in dav.ls('', detail=True)) == ['real']
    assert _tree(served.root) == before
    assert (served.outside / 'secret.txt').read_text() == 'keep out\n'


# --- streaming ------------------------------------------------------------------
