"""What the tests of two users kept apart share: alice and bob on one service, and their files.

Used by test_users_isolation.py (/jobs and /files) and
test_users_isolation_wes.py (WES); each module makes its own pair.
"""

import urllib.parse

from .. import workflows as wf

ALICE_TEXT = 'alice-secret-text one\n'  # 1 line
BOB_TEXT = 'bob\nbob bob\nbob\n'  # 3 lines
WES_TEXT = b'alice-wes-secret\none two\nthree\n'  # 3 lines
WES_FINAL = {'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'}
HELLO = '/files/input/same/hello.txt'


def wc_job(client, location, name='same'):
    status, job, _ = client.submit(wf.WC, {'file': {'class': 'File', 'location': location}}, name)
    assert status == 201, job
    return client.wait_final(job['id'])


def downloaded(pair, url):
    """An anonymous GET of `url`: (status, text)."""
    status, text, _ = pair.anonymous.call('GET', url)
    return status, text


def make_pair(module_auth_service):
    """alice and bob, each with hello.txt uploaded and a finished WC job on it:
    the service the isolation tests share, one per module."""
    service = module_auth_service(users=['alice', 'bob'])
    service.alice = service.client(service.tokens['alice'])
    service.bob = service.client(service.tokens['bob'])
    service.anonymous = service.client(None)
    service.alice_url = service.alice.put_input('same', 'hello.txt', ALICE_TEXT)
    service.alice.put_input('onlyalice', 'hello.txt', ALICE_TEXT)  # bob has no file there
    service.bob_url = service.bob.put_input('same', 'hello.txt', BOB_TEXT)
    assert service.alice_url == service.bob_url  # the same URL, each their own file
    service.alice_job = wc_job(service.alice, service.alice_url)
    service.bob_job = wc_job(service.bob, service.bob_url)
    service.alice_area = service.exchange / 'users' / 'alice'
    service.bob_area = service.exchange / 'users' / 'bob'
    service.alice_files = snapshot(service.alice_area)
    return service


def snapshot(folder):
    """{relative path: bytes} of every file below `folder`."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob('*'))
        if path.is_file()
    }


def count_of(pair, job):
    """The line count in a WC job's output, downloaded by its signed URL without credentials."""
    assert job['state'] == 'Success', job
    location = job['output']['output']['location']
    assert '?cerise-sig=' in location, location
    status, text = downloaded(pair, location)
    assert status == 200, text
    return int(text.split()[0])


def alices_area_as_urls(pair, folder='same'):
    """URLs of alice's `input/<folder>/hello.txt` a job of bob's might name."""
    path = pair.alice_area / 'input' / folder / 'hello.txt'
    bob_side = pair.bob_area / 'input' / '..' / '..' / 'alice' / 'input' / folder / 'hello.txt'
    hello = f'/files/input/{folder}/hello.txt'
    base = urllib.parse.urlsplit(pair.base_url)
    token = pair.tokens['alice']
    return {
        'file-url': path.as_uri(),
        'file-url-through-bobs-folder': 'file://' + urllib.parse.quote(str(bob_side)),
        'file-url-from-the-top': (pair.exchange / 'users' / 'alice').as_uri()
        + f'/input/{folder}/hello.txt',
        'http-with-alices-token': f'http://cerise:{token}@{base.netloc}{hello}',
        'http-with-alices-name': f'http://alice:{token}@{base.netloc}{hello}',
        'http-dot-dot': f'{pair.base_url}/files/../users/alice/input/{folder}/hello.txt',
        'http-encoded-dot-dot': f'{pair.base_url}/files/%2e%2e/users/alice/input/{folder}/hello.txt',
        'http-users-folder': f'{pair.base_url}/files/users/alice/input/{folder}/hello.txt',
    }


URL_KINDS = [
    'file-url',
    'file-url-through-bobs-folder',
    'file-url-from-the-top',
    'http-with-alices-token',
    'http-with-alices-name',
    'http-dot-dot',
    'http-encoded-dot-dot',
    'http-users-folder',
]
