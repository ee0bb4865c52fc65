"""How the tests configure a service: its folders, and the test specialisation.

Shared by the fixtures in tests/conftest.py and by tests that start a
service themselves (reinstalls, WebDAV streaming, the remote test bed).
"""

import contextlib
import dataclasses

from cerise_actors.config import ApiConfig, load_api_config

from .helpers import TEST_API_DIR, Client


def service_config_dict(root, auth: str = 'none', users=None) -> dict:
    """conf/config.yml for a service whose files all live under `root`, on a free
    port; with `auth='token'` its token is made in `root/token`, with `users`
    (a users file) each user has their own jobs and files."""
    rest = {'hostname': '127.0.0.1', 'port': 0, 'auth': auth}
    if users is not None:
        rest['users'] = str(users)
    return {
        'database': {'file': str(root / 'cerise.db')},
        # clients on this machine, sharing the folder: inputs and outputs as file:// URLs
        'client-file-exchange': {
            'store-location-service': str(root / 'files'),
            'store-location-client': (root / 'files').as_uri(),
        },
        # authentication is tested in tests/auth; elsewhere requests carry no token
        'rest-service': rest,
        'pidfile': str(root / 'cerise.pid'),
        # tests serve http inputs from loopback; the rest of the default stays denied
        'limits': {'fetch-deny': ['169.254.0.0/16', 'fe80::/10', '0.0.0.0/8', '::/128']},
    }


def api_config_for_tests(root, max_running=None, refresh=None) -> ApiConfig:
    """The test specialisation's config (tests/api), with its resource folder under `root`."""
    api = load_api_config(TEST_API_DIR, env={})
    files = dataclasses.replace(api.files, path=str(root / 'resource'))
    jobs = dataclasses.replace(api.jobs, max_running=max_running or api.jobs.max_running)
    return dataclasses.replace(api, files=files, jobs=jobs, refresh=refresh or api.refresh)


@contextlib.contextmanager
def serving_under(root):
    """A running service with its files under `root`, and `root`, `exchange`
    (the folder) and `client` set on it: for module-scoped fixtures."""
    from cerise_actors.app import running_service
    from cerise_actors.config import service_config_from_dict

    config = service_config_from_dict(service_config_dict(root), env={})
    with running_service(config, TEST_API_DIR, api_config=api_config_for_tests(root)) as service:
        service.root = root
        service.exchange = config.exchange_service_dir
        service.client = Client(service.base_url, config.exchange_service_dir)
        yield service
