"""docs/configuration.md names every configuration key and environment variable the code reads.

The keys are not listed by hand here: they are recorded from the loaders
themselves (every `known` key set they check while loading), so a key added
to the code without documentation fails this test.
"""

import re

import pytest

from cerise_actors.config import api_config_from_dict, service_config_from_dict
from cerise_actors.config import credentials as credentials_module
from cerise_actors.config.reader import Section

from ..helpers import REPO_DIR

DOC = (REPO_DIR / 'docs' / 'configuration.md').read_text()


def _keys_read_by_the_loaders(monkeypatch):
    seen = set()
    original = Section.check_keys

    def recording(self, known):
        known = tuple(known)
        for key in known:
            seen.add(f'{self.key_path(key)}')
        return original(self, known)

    monkeypatch.setattr(Section, 'check_keys', recording)
    service_config_from_dict(
        {
            'database': {'file': 'x.db'},
            'client-file-exchange': {'store-location-service': '/tmp/x'},
        },
        env={},
    )
    api_config_from_dict(
        {'compute-resource': {'files': {}, 'jobs': {}, 'ssh': {}, 'credentials': {}}}, env={}
    )
    return seen


def test_every_config_key_is_documented(monkeypatch):
    keys = _keys_read_by_the_loaders(monkeypatch)
    assert 'compute-resource.jobs.queue-name' in keys, 'the recorder works'
    assert 'rest-service.base-url' in keys
    missing = sorted(
        key for key in keys if f'`{key}`' not in DOC and f'`{key.rsplit(".", 1)[-1]}`' not in DOC
    )
    assert not missing, f'keys missing from docs/configuration.md: {missing}'


def _environment_variables():
    names = set()
    for path in (REPO_DIR / 'cerise_actors').rglob('*.py'):
        names |= set(re.findall(r"'(CERISE_[A-Z_]+)'", path.read_text()))
    for kind in ('', 'FILES_', 'JOBS_'):
        for component in credentials_module.COMPONENTS:
            names.add(f'CERISE_{kind}{component.upper()}')
    return names


@pytest.mark.parametrize('name', sorted(_environment_variables()))
def test_every_environment_variable_is_documented(name):
    assert name in DOC, f'{name} is read by the code but not in docs/configuration.md'
