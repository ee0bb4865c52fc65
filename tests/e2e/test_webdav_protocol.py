"""WebDAV at /files from a PyPI client: MKCOL, PUT, PROPFIND, GET, HEAD, OPTIONS, DELETE."""

from .webdav_fixtures import *  # noqa: F401,F403 (fixtures and helpers)


def test_webdav_client_mkcol_put_propfind_get_delete(served, dav):
    assert dav.options('') == {'1'}  # no locks: /files has no authentication
    dav.mkdir('data')
    assert (served.exchange / 'data').is_dir()
    dav.upload_fileobj(io.BytesIO(b'hello\n'), 'data/a.txt')
    dav.upload_fileobj(io.BytesIO(b'second\n'), 'data/b.txt')
    assert (served.exchange / 'data' / 'a.txt').read_bytes() == b'hello\n'

    listing = dav.ls('data', detail=True)  # PROPFIND, Depth: 1
    assert sorted((e['name'], e['type'], e['content_length']) for e in listing) == [
        ('data/a.txt', 'file', 6),
        ('data/b.txt', 'file', 7),
    ]
    assert sorted(e['name'] for e in dav.ls('', detail=True)) == ['data']
    assert dav.info('data/a.txt')['content_length'] == 6
    assert dav.isdir('data') and dav.isfile('data/a.txt')

    out = io.BytesIO()
    dav.download_fileobj('data/a.txt', out)  # GET
    assert out.getvalue() == b'hello\n'

    dav.remove('data/a.txt')  # DELETE
    assert not (served.exchange / 'data' / 'a.txt').exists()
    assert not dav.exists('data/a.txt')
    dav.remove('data')
    assert not (served.exchange / 'data').exists()


def test_propfind_depth_0_and_1(served):
    (served.exchange / 'd' / 'sub').mkdir(parents=True)
    (served.exchange / 'd' / 'f.txt').write_text('x')
    body = (
        b'<?xml version="1.0" encoding="utf-8"?>'
        b'<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
    )
    headers = {'Content-Type': 'application/xml'}
    status, _, zero = served.request('PROPFIND', '/files/d/', body, {**headers, 'Depth': '0'})
    assert status == 207
    assert zero.count(b'<D:response>') == 1 and b'<D:href>/files/d/</D:href>' in zero
    status, _, one = served.request('PROPFIND', '/files/d/', body, {**headers, 'Depth': '1'})
    assert status == 207
    assert one.count(b'<D:response>') == 3
    for href in (b'/files/d/', b'/files/d/sub/', b'/files/d/f.txt'):
        assert b'<D:href>' + href + b'</D:href>' in one


def test_put_creates_missing_parent_folders(served, dav):
    status, _, _ = served.request('PUT', '/files/input/job/a/b.txt', b'deep')
    assert status == 201
    assert (served.exchange / 'input' / 'job' / 'a' / 'b.txt').read_bytes() == b'deep'
    dav.upload_fileobj(io.BytesIO(b'again'), 'input/job2/x/y/z.txt')
    assert (served.exchange / 'input' / 'job2' / 'x' / 'y' / 'z.txt').read_bytes() == b'again'
    status, _, _ = served.request('PUT', '/files/input/job/a/b.txt', b'replaced')
    assert status == 204
    assert (served.exchange / 'input' / 'job' / 'a' / 'b.txt').read_bytes() == b'replaced'


def test_put_below_a_file_is_a_conflict(served):
    assert served.request('PUT', '/files/f.txt', b'file')[0] == 201
    assert served.request('PUT', '/files/f.txt/inner.txt', b'x')[0] == 409
    assert (served.exchange / 'f.txt').read_bytes() == b'file'


def test_head_and_get(served):
    (served.exchange / 'out.txt').write_bytes(b'0123456789')
    status, headers, body = served.request('HEAD', '/files/out.txt')
    assert status == 200 and headers['Content-Length'] == '10' and body == b''
    status, headers, body = served.request('GET', '/files/out.txt')
    assert status == 200 and body == b'0123456789'
    assert served.request('GET', '/files/absent.txt')[0] == 404
    assert served.request('HEAD', '/files/absent.txt')[0] == 404


def test_ranges_and_conditional_gets(served):
    """GET is answered from the file by the server's event loop: ranges and 304 still hold."""
    (served.exchange / 'out.txt').write_bytes(b'0123456789')
    status, headers, body = served.request('GET', '/files/out.txt', headers={'Range': 'bytes=3-5'})
    assert (status, body, headers['Content-Range']) == (206, b'345', 'bytes 3-5/10')
    status, _, body = served.request('GET', '/files/out.txt', headers={'Range': 'bytes=-2'})
    assert (status, body) == (206, b'89')
    etag = served.request('HEAD', '/files/out.txt')[1]['ETag']
    status, _, body = served.request('GET', '/files/out.txt', headers={'If-None-Match': etag})
    assert (status, body) == (304, b'')
    (served.exchange / 'd').mkdir()
    assert served.request('GET', '/files/d')[0] == 200  # a listing (test_files_listing.py)
    os.mkfifo(served.exchange / 'fifo')  # never opened for reading: that would block
    assert served.request('GET', '/files/fifo')[0] == 404


def test_options(served):
    (served.exchange / 'f.txt').write_text('x')
    status, headers, _ = served.request('OPTIONS', '/files/')
    assert status == 200 and '1' in headers['DAV']
    assert {'PROPFIND', 'DELETE'} <= set(headers['Allow'].replace(' ', '').split(','))
    status, headers, _ = served.request('OPTIONS', '/files/f.txt')
    assert status == 200
    assert {'GET', 'HEAD', 'PUT', 'DELETE'} <= set(headers['Allow'].replace(' ', '').split(','))
    status, headers, _ = served.request('OPTIONS', '/files/new.txt')
    assert status == 200 and 'PUT' in headers['Allow']


def test_mkcol_on_an_existing_folder_and_without_parent(served):
    assert served.request('MKCOL', '/files/a')[0] == 201
    assert served.request('MKCOL', '/files/a')[0] == 405
    assert served.request('MKCOL', '/files/x/y')[0] == 409  # MKCOL does not make parents


def test_names_are_utf8(served):
    assert served.request('PUT', '/files/caf%C3%A9/%E2%82%AC.txt', b'euro')[0] == 201
    assert (served.exchange / 'café' / '€.txt').read_bytes() == b'euro'
    status, _, body = served.request('PROPFIND', '/files/caf%C3%A9/', headers={'Depth': '1'})
    assert status == 207 and b'/files/caf%C3%A9/%E2%82%AC.txt' in body
    assert served.request('GET', '/files/caf%C3%A9/%E2%82%AC.txt')[2] == b'euro'
    assert served.request('GET', '/files/%FF')[0] == 400


def test_other_paths_go_to_the_jobs_app(served):
    assert served.request('GET', '/jobs')[2] == b'jobs app'
    assert served.request('GET', '/filesystem')[2] == b'jobs app'


def test_webdav_logs_nothing_per_request(served, dav, caplog):
    os.symlink(served.outside, served.exchange / 'link')  # WsgiDAV logs skips at INFO
    with caplog.at_level(logging.DEBUG):
        dav.upload_fileobj(io.BytesIO(b'x'), 'q/x.txt')
        dav.ls('')
        served.request('OPTIONS', '/files/')
        served.request('GET', '/files/q/x.txt')
        served.request('GET', '/files/absent')
    assert [r.getMessage() for r in caplog.records if r.name.startswith('wsgidav')] == []


def test_webdav_errors_reach_the_log(served, caplog, monkeypatch):
    def broken(self):
        raise RuntimeError('disk on fire')

    monkeypatch.setattr('cerise_actors.web.files_provider.ConfinedFile.get_etag', broken)
    (served.exchange / 'f.txt').write_text('x')
    with caplog.at_level(logging.DEBUG):
        assert served.request('GET', '/files/f.txt')[0] == 500
    assert any(
        r.name.startswith('wsgidav')
        and r.levelno >= logging.ERROR
        and 'disk on fire' in r.getMessage()
        for r in caplog.records
    )


# --- paths never leave the exchange folder --------------------------------------
