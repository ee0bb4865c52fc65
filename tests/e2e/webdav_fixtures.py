"""Shared imports, helpers and fixtures of the WebDAV tests (files app served alone)."""

import contextlib
import hashlib
import http.client as http_client
import io
import logging
import os
import socket
import subprocess
import sys
import urllib.request

import pytest
from webdav4.client import Client as DavClient

from cerise_actors.app import running_service
from cerise_actors.config import service_config_from_dict
from cerise_actors.web.dispatch import mount
from cerise_actors.web.files import make_files_app
from cerise_actors.web.server import HttpServer

from .. import workflows as wf
from ..helpers import FINAL, REPO_DIR, TEST_API_DIR, http, wait_for
from ..service_setup import api_config_for_tests, service_config_dict


def _jobs_stand_in(environ, start_response):
    body = b'jobs app'
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]


class _Served:
    def __init__(self, root):
        self.root = root
        self.exchange = root / 'exchange'
        self.outside = root / 'outside'
        self.outside.mkdir()
        (self.outside / 'secret.txt').write_text('keep out\n')
        app = mount(_jobs_stand_in, '/files', make_files_app(self.exchange))
        self._server = HttpServer(app, '127.0.0.1', 0, threads=4)
        self._server.start()
        self.port = self._server.port
        self.url = f'http://127.0.0.1:{self.port}/files'

    def request(self, method, target, body=None, headers=None):
        """(status, headers, body) of one raw request: the target is sent as is."""
        conn = http_client.HTTPConnection('127.0.0.1', self.port, timeout=30)
        try:
            conn.putrequest(method, target, skip_accept_encoding=True)
            headers = dict(headers or {})
            if body is not None:
                headers.setdefault('Content-Length', str(len(body)))
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders(body)
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            conn.close()

    def stop(self):
        self._server.stop()


@pytest.fixture
def served(tmp_path):
    server = _Served(tmp_path)
    yield server
    server.stop()


@contextlib.contextmanager
def _dav(url, timeout=30):
    client = DavClient(url, retry=False, timeout=timeout)
    try:
        yield client
    finally:
        client.http.close()


@pytest.fixture
def dav(served):
    with _dav(served.url) as client:
        yield client


def _tree(path):
    """Every file and folder below `path` with size, mtime and (for files) content."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            content = None
            if os.path.isfile(full) and not os.path.islink(full):
                with open(full, 'rb') as f:
                    content = f.read()
            found[os.path.relpath(full, path)] = (st.st_mode, st.st_size, st.st_mtime_ns, content)
    return found


# --- a WebDAV client from PyPI --------------------------------------------------


__all__ = [
    'DavClient',
    'FINAL',
    'HttpServer',
    'REPO_DIR',
    'TEST_API_DIR',
    '_Served',
    '_dav',
    '_jobs_stand_in',
    '_tree',
    'contextlib',
    'dav',
    'hashlib',
    'http',
    'http_client',
    'io',
    'logging',
    'make_files_app',
    'mount',
    'os',
    'pytest',
    'running_service',
    'served',
    'service_config_dict',
    'service_config_from_dict',
    'socket',
    'subprocess',
    'sys',
    'api_config_for_tests',
    'urllib',
    'wait_for',
    'wf',
]
