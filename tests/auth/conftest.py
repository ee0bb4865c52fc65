"""Services with authentication on, and a client that speaks only HTTP with a token.

Unlike the other tests, these services publish through their own /files
(no `store-location-client`), as a default install does, so output URLs are
the service's own and come signed, and every upload and download goes over
HTTP with the token.
"""

import contextlib
import json
import time
import urllib.parse
import uuid

import pytest

from cerise_actors.app import running_service
from cerise_actors.auth.users import add_user
from cerise_actors.config import service_config_from_dict

from ..helpers import FINAL, TEST_API_DIR, http, wait_for
from ..service_setup import api_config_for_tests, service_config_dict


class TokenClient:
    """The REST API and /files over HTTP, sending `token` (None: no credentials)."""

    def __init__(self, base_url, token):
        self.base = base_url.rstrip('/')
        self.token = token

    def headers(self, extra=None):
        found = {} if self.token is None else {'Authorization': f'Bearer {self.token}'}
        return {**found, **(extra or {})}

    def call(self, method, path, body=None, raw=None, headers=None):
        url = path if '://' in path else f'{self.base}{path}'
        return http(method, url, body, raw, self.headers(headers))

    def put_input(self, job_name, relpath, content):
        data = content if isinstance(content, bytes) else content.encode()
        path = f'/files/input/{job_name}/{relpath}'
        status, answer, _ = self.call('PUT', path, raw=data, headers={'Content-Type': 'text/plain'})
        assert status in (201, 204), answer
        return f'{self.base}{path}'

    def submit(self, workflow_text, inputs=None, name='test'):
        url = self.put_input(name, f'workflow-{uuid.uuid4().hex[:8]}.cwl', workflow_text)
        return self.call('POST', '/jobs', {'name': name, 'workflow': url, 'input': inputs or {}})

    def job(self, job_id):
        status, job, _ = self.call('GET', f'/jobs/{job_id}')
        return job if status == 200 else None

    def wait_final(self, job_id, timeout=120.0):
        return wait_for(
            lambda: (self.job(job_id) or {}).get('state') in FINAL and self.job(job_id),
            timeout,
            message=f'job {job_id} to finish',
        )

    def post_run(self, files=(), **fields):
        """WES POST /runs as multipart/form-data; `files` are (name, bytes)
        attachments, `fields` JSON-encoded unless strings."""
        fields.setdefault('workflow_type', 'CWL')
        fields.setdefault('workflow_type_version', 'v1.0')
        texts = [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in fields.items()]
        body, headers = multipart(texts, files)
        return self.call('POST', f'{WES}/runs', raw=body, headers=headers)


WES = '/ga4gh/wes/v1'


def multipart(fields=(), files=()):
    """(body, headers) of a multipart/form-data request; `files` are
    (name, bytes) workflow attachments."""
    boundary = uuid.uuid4().hex
    chunks = []
    for name, value in fields:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b'\r\n'
        )
    for filename, content in files:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="workflow_attachment"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + content
            + b'\r\n'
        )
    body = b''.join(chunks) + f'--{boundary}--\r\n'.encode()
    return body, {'Content-Type': f'multipart/form-data; boundary={boundary}'}


def start_auth_service(services, root, users=None, limits=None, auth='token', max_running=None):
    """Start a service under `root` (a new folder) in `services` (an ExitStack):
    with `users` a users file of those users, with `limits` a dict merged into
    the config's `limits` (e.g. {'active-jobs-per-user': 2}), `auth` 'token'
    or 'none', `max_running` jobs at once at most (else one per core). The
    service has `root`, `exchange` (its folder of files), `tokens` (user ->
    token), `token` (the one token without users) and `client(token)`."""
    root.mkdir(parents=True)
    users_file, tokens = None, {}
    if users is not None:
        users_file = root / 'users'
        tokens = {name: add_user(users_file, name) for name in users}
    data = service_config_dict(root, auth=auth, users=users_file)
    del data['client-file-exchange']['store-location-client']  # its own /files
    data['limits'].update(limits or {})
    config = service_config_from_dict(data, env={})
    service = services.enter_context(
        running_service(config, TEST_API_DIR, api_config=api_config_for_tests(root, max_running))
    )
    service.root = root
    service.exchange = config.exchange_service_dir
    service.tokens = tokens
    token_file = root / 'token'
    with_one_token = users is None and auth != 'none'
    service.token = token_file.read_text().strip() if with_one_token else None
    service.client = lambda token: TokenClient(service.base_url, token)
    return service


@pytest.fixture
def auth_service(tmp_path):
    """Start a service with authentication: `auth_service()` has one token
    (`service.token`); `auth_service(users=['alice', 'bob'])` a users file
    (`service.tokens[name]`). `service.client(token)` is a TokenClient.
    `limits={'active-jobs-per-user': 2}` goes into the config's limits;
    `auth='none'` turns authentication off."""
    count = 0
    with contextlib.ExitStack() as services:

        def make(users=None, limits=None, auth='token', max_running=None):
            nonlocal count
            root = tmp_path / f'auth{count}'
            count += 1
            return start_auth_service(services, root, users, limits, auth, max_running)

        yield make


@pytest.fixture(scope='module')
def module_auth_service(tmp_path_factory):
    """Like `auth_service`, for services shared by the tests of one module."""
    with contextlib.ExitStack() as services:

        def make(users=None, limits=None, auth='token', max_running=None):
            root = tmp_path_factory.mktemp('auth-module') / 'service'
            return start_auth_service(services, root, users, limits, auth, max_running)

        yield make


def host_of(url):
    return urllib.parse.urlsplit(url).netloc


def settle(seconds=0.0):
    """Only for tests that must show nothing happens: a bounded look, not a wait."""
    time.sleep(seconds)
