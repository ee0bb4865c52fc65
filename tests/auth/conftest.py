"""Services with authentication on, and a client that speaks only HTTP with a token.

Unlike the other tests, these services publish through their own /files
(no `store-location-client`), as a default install does, so output URLs are
the service's own and come signed, and every upload and download goes over
HTTP with the token.
"""

import contextlib
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


@pytest.fixture
def auth_service(tmp_path):
    """Start a service with authentication: `auth_service()` has one token
    (`service.token`); `auth_service(users=['alice', 'bob'])` a users file
    (`service.tokens[name]`). `service.client(token)` is a TokenClient."""
    count = 0
    with contextlib.ExitStack() as services:

        def make(users=None):
            nonlocal count
            root = tmp_path / f'auth{count}'
            count += 1
            root.mkdir()
            users_file, tokens = None, {}
            if users is not None:
                users_file = root / 'users'
                tokens = {name: add_user(users_file, name) for name in users}
            data = service_config_dict(root, auth='token', users=users_file)
            del data['client-file-exchange']['store-location-client']  # its own /files
            config = service_config_from_dict(data, env={})
            service = services.enter_context(
                running_service(config, TEST_API_DIR, api_config=api_config_for_tests(root))
            )
            service.root = root
            service.tokens = tokens
            service.token = None if users is not None else (root / 'token').read_text().strip()
            service.client = lambda token: TokenClient(service.base_url, token)
            return service

        yield make


def host_of(url):
    return urllib.parse.urlsplit(url).netloc


def settle(seconds=0.0):
    """Only for tests that must show nothing happens: a bounded look, not a wait."""
    time.sleep(seconds)
