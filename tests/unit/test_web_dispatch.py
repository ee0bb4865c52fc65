"""Routing between the /jobs app and an app mounted under a prefix (/files)."""

import pytest

from cerise_actors.web.dispatch import mount


def _recorder(name):
    def app(environ, start_response):
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [
            name.encode(),
            b' ',
            environ['SCRIPT_NAME'].encode(),
            b'|',
            environ['PATH_INFO'].encode(),
        ]

    return app


def _call(app, path, script_name=''):
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen['status'] = status

    environ = {'REQUEST_METHOD': 'GET', 'SCRIPT_NAME': script_name, 'PATH_INFO': path}
    body = b''.join(app(environ, start_response)).decode()
    assert seen['status'] == '200 OK'
    return body


@pytest.fixture
def app():
    return mount(_recorder('main'), '/files', _recorder('files'))


@pytest.mark.parametrize(
    'path, expected',
    [
        ('/files', 'files /files|'),
        ('/files/', 'files /files|/'),
        ('/files/input/job/a.txt', 'files /files|/input/job/a.txt'),
        ('/files//etc/passwd', 'files /files|//etc/passwd'),
        ('/files/../jobs', 'files /files|/../jobs'),
        ('/jobs', 'main |/jobs'),
        ('/jobs/files/x', 'main |/jobs/files/x'),
        ('/filesystem', 'main |/filesystem'),
        ('/files.txt', 'main |/files.txt'),
        ('/FILES/x', 'main |/FILES/x'),
        ('/', 'main |/'),
        ('', 'main |'),
    ],
)
def test_routes_by_prefix_and_moves_it_into_script_name(app, path, expected):
    assert _call(app, path) == expected


def test_keeps_an_outer_script_name(app):
    assert _call(app, '/files/a', script_name='/cerise') == 'files /cerise/files|/a'
    assert _call(app, '/jobs', script_name='/cerise') == 'main /cerise|/jobs'


def test_missing_path_info_goes_to_the_main_app():
    seen = {}
    app = mount(
        lambda environ, sr: seen.setdefault('main', environ) and [],
        '/files',
        lambda environ, sr: seen.setdefault('files', environ) and [],
    )
    app({'REQUEST_METHOD': 'GET'}, None)
    assert list(seen) == ['main']


def test_passes_the_sub_app_answer_through_unchanged():
    body = object()

    def sub(environ, start_response):
        return body

    assert mount(_recorder('main'), '/files', sub)({'PATH_INFO': '/files/x'}, None) is body


@pytest.mark.parametrize('prefix', ['files', '/files/', '/', ''])
def test_refuses_a_malformed_prefix(prefix):
    with pytest.raises(ValueError):
        mount(_recorder('main'), prefix, _recorder('files'))
