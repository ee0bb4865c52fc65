"""The example specialisation in specialisation_examples/ works as its files say."""

import subprocess
import sys

from ..helpers import REPO_DIR

EXAMPLE = REPO_DIR / 'specialisation_examples' / 'example'


def test_example_client_script_runs_both_workflows():
    result = subprocess.run(
        [sys.executable, str(EXAMPLE / 'test_script.py')],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO_DIR,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith('hostname: ') and len(lines[0]) > len('hostname: ')
    assert lines[1:] == ['=== Here is a heading! ===', 'Some text for the example.']
