"""Red team, held: getting past the auth gate by the spelling of a path or of the Authorization header.

Raw HTTP requests (the path exactly as written, headers repeated) against a
service with a users file: paths that start public and lead elsewhere
(`/health/../jobs`, `%2e`, `;params`, `//`), WebDAV-ish methods on the
public paths, and Authorization headers that are odd (a tab, a comma list,
two headers, Basic that is not base64, very long) are all refused with
401, or answered as the public path itself without anything of a job.
"""

import base64
import socket
import urllib.parse

import pytest

from .. import workflows as wf


@pytest.fixture(scope='module')
def pair(module_auth_service):
    service = module_auth_service(users=['alice', 'bob'])
    alice = service.client(service.tokens['alice'])
    status, job, _ = alice.submit(wf.HOSTNAME, {}, 'alices-gate-job')
    assert status == 201, job
    service.job_id = alice.wait_final(job['id'])['id']
    return service


def raw(service, method, target, headers=()):
    """(status, text of the answer) of one request sent byte for byte."""
    parts = urllib.parse.urlsplit(service.base_url)
    lines = [f'{method} {target} HTTP/1.1', f'Host: {parts.netloc}', 'Connection: close']
    lines += [f'{name}: {value}' for name, value in headers]
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1'))
        data = b''
        while chunk := sock.recv(65536):
            data += chunk
    text = data.decode('latin-1')
    return int(text.split(' ', 2)[1]), text


def around_public(job_id):
    return [
        f'/health/../jobs/{job_id}',
        f'/health/%2e%2e/jobs/{job_id}',
        f'/openapi.json/../jobs/{job_id}',
        f'/ready/../jobs/{job_id}',
        f'/ga4gh/wes/v1/service-info/../runs/{job_id}',
        f'/ga4gh/wes/v1/service-info/..%2fruns/{job_id}',
        f'/ga4gh/wes/v1/service-info%2f..%2fruns%2f{job_id}',
        f'//jobs/{job_id}',
        f'/./jobs/{job_id}',
        f'/jobs;x/{job_id}',
        f'/jobs/{job_id};/health',
        f'/health;/../jobs/{job_id}',
        '/jobs?/health',
        '/files/..%2f..%2fjobs',
        f'http://127.0.0.1/jobs/{job_id}',
        '/ga4gh/wes/v1/service-info/',
        '/openapi.json/',
        '/metrics',
        '/ui',
    ]


@pytest.mark.parametrize('method', ['GET', 'HEAD', 'OPTIONS', 'PROPFIND', 'DELETE', 'POST'])
def test_paths_around_the_public_ones_need_a_token(pair, method):
    for target in around_public(pair.job_id):
        status, text = raw(pair, method, target)
        assert status in (401, 400, 404), (method, target, status, text[:300])
        assert 'alices-gate-job' not in text and 'Success' not in text, (method, target)


def basic(text):
    return 'Basic ' + base64.b64encode(text.encode('utf-8')).decode()


def odd_headers(token):
    secret = token.partition('.')[2]
    return [
        [('Authorization', f'Bearer\t{token}')],
        [('Authorization', f'Bearer {token[:-1]}')],
        [('Authorization', f'Bearer {token}, Bearer {token}')],
        [('Authorization', f'Bearer {token} x')],
        [('Authorization', 'Bearer x'), ('Authorization', f'Bearer {token}')],
        [('Authorization', f'Bearer {token}'), ('Authorization', 'Bearer x')],
        [('Authorization', 'Basic ' + token)],
        [('Authorization', basic(f'alice{token}'))],  # no colon
        [('Authorization', basic(f'alice:{secret}'))],  # the secret without the name
        [('Authorization', basic(f'{token}:'))],  # the token as user name
        [('Authorization', basic(f'x:{token}')[:-2] + '==')],
        [('Authorization', f'Bearer {"alice." + "A" * 60000}')],
        [('Authorization', 'Bearer alice.' + '\u00e9' * 10)],
        [('X-Authorization', f'Bearer {token}')],
        [('Authorization', f'Digest {token}')],
    ]


def test_odd_authorization_headers_are_refused(pair):
    """The one token alice has, presented in ways that are not its two ways
    (or spoiled); the real token, Bearer or Basic with any name, gets in."""
    token = pair.tokens['alice']
    for headers in odd_headers(token):
        status, text = raw(pair, 'GET', f'/jobs/{pair.job_id}', headers)
        assert status in (400, 401, 431), (headers[0][1][:80], status, text[:200])
        assert 'alices-gate-job' not in text
    for good in (
        f'Bearer {token}',
        f'bearer   {token}  ',
        basic(f'bob:{token}'),
        basic(f':{token}'),
    ):
        status, text = raw(pair, 'GET', f'/jobs/{pair.job_id}', [('Authorization', good)])
        assert status == 200 and 'alices-gate-job' in text, (good[:20], status)


def test_a_token_in_the_query_string_or_a_cookie_is_not_a_credential(pair):
    token = urllib.parse.quote(pair.tokens['alice'])
    for target, headers in (
        (f'/jobs/{pair.job_id}?token={token}', []),
        (f'/jobs/{pair.job_id}?access_token={token}', []),
        (f'/jobs/{pair.job_id}', [('Cookie', f'token={token}')]),
    ):
        assert raw(pair, 'GET', target, headers)[0] == 401, target
