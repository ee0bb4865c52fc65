"""The resource factory picks the classes, and a local service never loads SSH."""

import subprocess
import sys

from cerise_actors.app.resources import build_resource
from cerise_actors.resource.local_scheduler import LocalScheduler

from .config_fixtures import api


def test_local_resource_uses_the_local_scheduler(tmp_path):
    res = build_resource(
        api(files={'protocol': 'local', 'path': str(tmp_path)}, jobs={'protocol': 'local'})
    )
    assert isinstance(res.scheduler, LocalScheduler)
    assert res.pool is None and res.is_local
    res.close()


def test_a_local_service_does_not_import_paramiko(tmp_path):
    """paramiko and its cryptography are half the memory of an idle service."""
    code = f"""
import sys
from cerise_actors.app.lifecycle import serve
from cerise_actors.config import api_config_from_dict
from cerise_actors.app.resources import build_resource
build_resource(api_config_from_dict({{'compute-resource': {{
    'files': {{'protocol': 'local', 'path': {str(tmp_path)!r}}},
    'jobs': {{'protocol': 'local'}}}}}}, env={{}}))
loaded = sorted(m for m in ('paramiko', 'cryptography', 'nacl') if m in sys.modules)
print(loaded)
"""
    result = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '[]'
