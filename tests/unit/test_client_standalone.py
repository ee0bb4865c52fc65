"""The client works without the service: it imports nothing of it, nor its dependencies."""

import subprocess
import sys

from ..helpers import REPO_DIR

BLOCKED = [
    'falcon',
    'pykka',
    'waitress',
    'peewee',
    'paramiko',
    'yaml',
    'cwltool',
    'wsgidav',
    'cerise_actors.config',
    'cerise_actors.store',
    'cerise_actors.actors',
    'cerise_actors.app',
    'cerise_actors.staging',
    'cerise_actors.web',
    'cerise_actors.cwl',
    'cerise_actors.jobs',
    'cerise_actors.resource',
]

SCRIPT = f"""
import sys
for name in {BLOCKED!r}:
    sys.modules[name] = None            # importing it now raises ImportError
import cerise_actors.client as client
from cerise_actors.client import cli_commands
from cerise_actors.client.input_files import read_inputs
print(sorted(name for name, module in sys.modules.items()
             if name.startswith('cerise_actors') and module is not None))
"""


def test_the_client_imports_nothing_of_the_service(tmp_path):
    result = subprocess.run(
        [sys.executable, '-c', SCRIPT], capture_output=True, text=True, cwd=REPO_DIR, timeout=60
    )
    assert result.returncode == 0, result.stderr
    modules = eval(result.stdout)  # noqa: S307 (our own output)
    assert all(
        name == 'cerise_actors' or name.startswith('cerise_actors.client') for name in modules
    ), modules


def test_inputs_files_in_json_need_no_yaml_library(tmp_path):
    (tmp_path / 'in.yml').write_text('{"n": 1}')
    script = (
        "import sys; sys.modules['yaml'] = None\n"
        'from cerise_actors.client.input_files import read_inputs\n'
        f'print(read_inputs({str(tmp_path / "in.yml")!r})[0])'
    )
    result = subprocess.run(
        [sys.executable, '-c', script], capture_output=True, text=True, cwd=REPO_DIR, timeout=60
    )
    assert result.stdout.strip() == "{'n': 1}", result.stderr
