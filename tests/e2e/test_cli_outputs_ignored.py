"""The README's `cerise-actors submit ... --wait`: what it leaves is ignored by git, and
the docs show the output locations it prints."""

import dataclasses
import json
import re
import shutil
import subprocess

import pytest
import yaml

from cerise_actors.app import running_service
from cerise_actors.client.local import free_port
from cerise_actors.config import load_api_config, service_config_from_dict

from ..helpers import REPO_DIR
from .test_cli_client import cli
from .test_client import EXAMPLE_API, EXAMPLE_WORKFLOW, start_service  # noqa: F401


def test_the_downloaded_outputs_are_ignored_by_git(start_service, tmp_path):
    if shutil.which('git') is None or not (REPO_DIR / '.git').exists():
        pytest.skip('needs git and a git checkout of the repository')
    running = start_service()
    here = tmp_path / 'here'
    here.mkdir()
    code, _, err = cli('submit', EXAMPLE_WORKFLOW, '--wait', *running.cli_args(), cwd=here)
    assert code == 0, err
    saved = [p.relative_to(here).as_posix() for p in here.rglob('*') if p.is_file()]
    assert saved == ['test_workflow-outputs/output.txt']  # as in the repository's root
    for name in saved + ['heading-outputs/output.txt']:
        checked = subprocess.run(
            ['git', 'check-ignore', '--no-index', '-q', name], cwd=REPO_DIR, timeout=60
        )
        assert checked.returncode == 0, f'{name} is not ignored by .gitignore'


def test_the_docs_show_the_output_locations_the_shipped_config_gives(tmp_path):
    """docs/cli.md and rest-api.md show outputs as the shipped conf/config.yml publishes them."""
    config = yaml.safe_load((REPO_DIR / 'conf' / 'config.yml').read_text())
    assert 'store-location-client' not in (config.get('client-file-exchange') or {})
    port = free_port()
    config['database']['file'] = str(tmp_path / 'cerise.db')
    config['client-file-exchange']['store-location-service'] = str(tmp_path / 'files')
    config['rest-service']['port'] = port
    config.pop('logging', None)
    config.pop('pidfile', None)
    api = load_api_config(EXAMPLE_API, env={})
    api = dataclasses.replace(
        api, files=dataclasses.replace(api.files, path=str(tmp_path / 'resource')), refresh=0.1
    )
    with running_service(service_config_from_dict(config, env={}), EXAMPLE_API, api_config=api):
        url = f'http://127.0.0.1:{port}'
        token = ['--token-file', tmp_path / 'token']  # the shipped config's token, beside the db
        code, out, err = cli(
            'submit', EXAMPLE_WORKFLOW, '--wait', '--no-download', '--service', url, *token
        )
        assert code == 0, err
    location, _, signature = json.loads(out)['output']['location'].partition('?')
    job_id = location.split('/')[-2]
    assert location == f'{url}/files/output/{job_id}/output.txt'
    assert signature.startswith('cerise-sig=')  # a download capability, not the token
    for doc in ('cli.md', 'rest-api.md'):
        shown = re.findall(
            r'"location": "([^"]*/output/[^"]*)"', (REPO_DIR / 'docs' / doc).read_text()
        )
        assert shown, doc
        for documented in shown:
            assert documented.startswith('http://127.0.0.1:29593/files/output/'), (doc, documented)
