"""/files answers a user can read: folder listings, short JSON for uploads, JSON errors.

Through the real service (`service` fixture): what a browser, `curl -T` and
a script see, next to what WebDAV clients keep seeing (tests/e2e/test_webdav_*).
"""

import errno
import io
import os
import re
import urllib.request

from ..helpers import http


def _files(service):
    return f'{service.base_url}/files'


def test_a_folder_lists_as_json_with_urls_sizes_and_times(service):
    files = _files(service)
    assert http('PUT', f'{files}/input/demo/hello.txt', raw=b'Hello, world!\n')[0] == 201
    assert http('PUT', f'{files}/input/demo/sub/deeper.txt', raw=b'x')[0] == 201
    folder = service.root / 'files' / 'input' / 'demo'
    (folder / '.cerise-upload-0123456789abcdef').write_bytes(b'half an upload')
    os.symlink(folder / 'hello.txt', folder / 'link.txt')  # links are not served
    os.mkfifo(folder / 'fifo')

    status, listing, headers = http(
        'GET', f'{files}/input/demo', headers={'Accept': 'application/json'}
    )
    assert status == 200 and headers['Content-Type'] == 'application/json', listing
    assert listing['path'] == '/files/input/demo/'
    assert listing['url'] == f'{files}/input/demo/'
    entries = listing['entries']
    assert [e['name'] for e in entries] == ['sub', 'hello.txt']  # folders first
    sub, hello = entries
    assert sub['folder'] is True and sub['size'] is None
    assert sub['url'] == f'{files}/input/demo/sub/'
    assert hello['folder'] is False and hello['size'] == 14
    assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ', hello['modified'])
    with urllib.request.urlopen(hello['url'], timeout=30) as answer:  # the URL works as is
        assert answer.read() == b'Hello, world!\n'
    status, inner, _ = http('GET', sub['url'], headers={'Accept': 'application/json'})
    assert status == 200 and [e['name'] for e in inner['entries']] == ['deeper.txt']
    status, body, headers = http('PROPFIND', f'{files}/input/demo/', headers={'Depth': '1'})
    assert status == 207 and 'xml' in headers['Content-Type']  # WebDAV clients: as before
    assert '<D:href>/files/input/demo/hello.txt</D:href>' in body


def test_a_browser_gets_an_html_listing_with_links(service):
    files = _files(service)
    assert http('PUT', f'{files}/input/a%20b/x%26y.txt', raw=b'12345')[0] == 201
    (service.root / 'files' / 'input' / 'a b' / '.cerise-upload-feed').write_bytes(b'')
    accept = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'  # Firefox's
    status, page, headers = http('GET', f'{files}/input/a%20b/', headers={'Accept': accept})
    assert status == 200 and headers['Content-Type'].startswith('text/html'), page
    assert '<a href="/files/input/a%20b/x%26y.txt">x&amp;y.txt</a>' in page
    assert '<a href="/files/input/">../</a>' in page and '>5<' in page
    assert '.cerise-upload' not in page
    status, root_page, _ = http('GET', f'{files}/')  # curl's */*: HTML too
    assert status == 200 and '<a href="/files/input/">input/</a>' in root_page
    status, body, headers = http('HEAD', f'{files}/input/')
    assert status == 200 and body == '' and headers['Content-Type'].startswith('text/html')


def test_an_upload_is_answered_with_short_json(service):
    files = _files(service)
    status, answer, headers = http('PUT', f'{files}/input/up/data.csv', raw=b'1,2\n3,4\n')
    assert status == 201 and headers['Content-Type'] == 'application/json'
    assert answer == {'url': f'{files}/input/up/data.csv', 'size': 8}
    assert headers['Location'] == answer['url']
    status, answer, _ = http('PUT', f'{files}/input/up/data.csv', raw=b'5,6\n')  # replaced
    assert (status, answer) == (204, '')
    status, answer, _ = http('MKCOL', f'{files}/input/up/more')
    assert (status, answer) == (201, {'url': f'{files}/input/up/more/'})


def _error(method, url, **kwargs):
    status, body, headers = http(method, url, **kwargs)
    assert headers['Content-Type'] == 'application/json', (status, body)
    assert set(body) == {'title', 'description'}, body
    return status, body, headers


def test_errors_are_json_with_title_and_description(service, monkeypatch):
    files = _files(service)
    http('PUT', f'{files}/input/e/file.txt', raw=b'x')

    status, body, _ = _error('GET', f'{files}/input/e/absent.txt')
    assert status == 404 and body == {
        'title': 'Not found',
        'description': 'there is no file or folder at /files/input/e/absent.txt',
    }
    status, body, _ = _error('DELETE', f'{files}/input')
    assert status == 403 and 'stay in place' in body['description']
    status, body, _ = _error('GET', f'{files}/input/%2e%2e/%2e%2e/etc/passwd')
    assert status == 403 and 'leaves the file exchange area' in body['description']
    status, body, _ = _error('MKCOL', f'{files}/input/e')
    assert status == 405 and body['description'] == '/files/input/e already exists'
    status, body, _ = _error('LOCK', f'{files}/input/e/file.txt', raw=b'')
    assert status == 405 and 'locks are not offered' in body['description']
    status, body, _ = _error('PUT', f'{files}/input/e/file.txt/inner.txt', raw=b'y')
    assert status == 409 and 'is a file, not a folder' in body['description']
    status, body, _ = _error('MKCOL', f'{files}/input/none/deeper')
    assert status == 409 and 'does not exist' in body['description']

    class FullDisk(io.FileIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(
        'cerise_actors.web.files_uploads.open_for_upload',
        lambda name, dir_fd: FullDisk(os.open(name, os.O_WRONLY | os.O_CREAT, dir_fd=dir_fd), 'wb'),
    )
    status, body, _ = _error('PUT', f'{files}/input/e/big.bin', raw=b'z' * 1000)
    assert status == 507 and body == {
        'title': 'Insufficient storage',
        'description': 'the disk of the file exchange is full',
    }
    status, body, _ = http('PUT', f'{service.base_url}/jobs', raw=b'{}')  # the API's own
    assert status == 405 and set(body) >= {'title'}
