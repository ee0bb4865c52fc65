"""conf/cerise-actors.service: a user unit that runs `serve`, restarts on
failure, stops gracefully, and uses only paths docs/operations.md names.

Read with configparser (a unit file is close enough to INI for its keys), and,
where `systemd-analyze` is installed, verified by systemd itself as a user
unit, with %h set to a folder holding the executable it names.
"""

import configparser
import os
import re
import shlex
import shutil
import subprocess

import pytest

from ..helpers import REPO_DIR

UNIT = REPO_DIR / 'conf' / 'cerise-actors.service'
OPERATIONS = REPO_DIR / 'docs' / 'operations.md'


@pytest.fixture(scope='module')
def unit():
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in systemd
    parser.read_string(UNIT.read_text())
    return parser


@pytest.fixture(scope='module')
def section():
    """docs/operations.md's section on systemd."""
    text = OPERATIONS.read_text()
    start = text.index('## Run it as a service (systemd)')
    end = text.find('\n## ', start + 1)
    return text[start : end if end > 0 else None]


def _seconds(value: str) -> float:
    units = {'': 1, 's': 1, 'sec': 1, 'min': 60, 'm': 60, 'h': 3600}
    number, unit = re.fullmatch(r'(\d+)\s*([a-z]*)', value.strip()).groups()
    return int(number) * units[unit]


def test_it_is_a_user_unit_running_serve(unit):
    argv = shlex.split(unit['Service']['ExecStart'])
    assert argv[0] == '%h/cerise/.venv/bin/cerise-actors' and argv[1] == 'serve'
    assert unit['Service']['WorkingDirectory'] == '%h/cerise'
    assert unit['Install']['WantedBy'] == 'default.target', 'a user unit: not multi-user.target'
    assert 'User' not in unit['Service'], 'a user unit runs as its user already'


def test_it_restarts_on_failure_but_not_on_a_configuration_error(unit):
    service = unit['Service']
    assert service['Restart'] == 'on-failure'
    assert '2' in service['RestartPreventExitStatus'].split()


def test_it_stops_gracefully_and_leaves_local_jobs_running(unit):
    service = unit['Service']
    assert service['KillSignal'] == 'SIGTERM'
    assert service['KillMode'] == 'process'
    # operations.md: the service waits up to 60 s per stager on a graceful stop
    assert _seconds(service['TimeoutStopSec']) >= 120


def test_the_paths_and_commands_it_uses_are_documented(unit, section):
    argv = shlex.split(unit['Service']['ExecStart'])
    for option in ('--config', '--api'):
        value = argv[argv.index(option) + 1]
        assert f'~/cerise/{value}' in section, value
    for text in (
        '~/cerise/.venv',
        'conf/cerise-actors.service',
        '~/.config/systemd/user',
        'systemctl --user enable --now cerise-actors',
        'systemctl --user stop cerise-actors',
        'loginctl enable-linger',
        'journalctl --user -u cerise-actors',
        'run/cerise.log',
        'run/token',
        'WorkingDirectory',
    ):
        assert text in section, text


def test_systemd_accepts_it_as_a_user_unit(tmp_path):
    tool = shutil.which('systemd-analyze')
    if tool is None:
        pytest.skip('systemd-analyze is not installed: the unit was only read as INI')
    home = tmp_path / 'home'
    executable = home / 'cerise' / '.venv' / 'bin' / 'cerise-actors'
    executable.parent.mkdir(parents=True)
    executable.write_text('#!/bin/sh\n')
    executable.chmod(0o755)
    runtime = tmp_path / 'runtime'
    runtime.mkdir(mode=0o700)
    unit = tmp_path / UNIT.name
    shutil.copy(UNIT, unit)
    env = {**os.environ, 'HOME': str(home), 'XDG_RUNTIME_DIR': str(runtime)}
    result = subprocess.run(
        [tool, 'verify', '--user', str(unit)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    if result.returncode != 0 and 'Failed to initialize manager' in result.stderr:
        pytest.skip(f'systemd-analyze cannot run a user manager here: {result.stderr.strip()}')
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == '', result.stderr  # no unknown key, no warning
