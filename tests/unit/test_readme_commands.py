"""The README gives exactly two commands, and CI runs its test command as written."""

import re

from ..helpers import REPO_DIR


def readme_commands():
    text = (REPO_DIR / 'README.md').read_text()
    section = text.split('## Two commands', 1)[1].split('\n## ', 1)[0]
    return [line.strip() for line in section.splitlines() if re.match(r'^ {4}\S', line)][:2]


def test_the_readme_commands_make_and_use_a_virtual_environment():
    start, tests = readme_commands()
    for command in (start, tests):
        assert command.startswith('python3 -m venv .venv && .venv/bin/pip install -e ')
    assert start.endswith('.venv/bin/cerise-actors serve --api specialisation_examples/example/api')
    assert tests.endswith('.venv/bin/python -m pytest')


def test_ci_runs_the_readme_test_command_verbatim():
    _start, tests = readme_commands()
    ci = (REPO_DIR / '.ci' / 'run').read_text().splitlines()
    assert tests in ci
