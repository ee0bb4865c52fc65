"""The client commands with authentication on, and `cerise-actors add-user`.

Commands run as a user runs them: `python -m cerise_actors ...` in a
subprocess, with no CERISE_* variable of the test run leaking in, against
a service started by conftest's `auth_service`.
"""

import json
import os
import stat
import subprocess
import sys

from cerise_actors.auth.users import check_token, read_users

from .. import workflows as wf
from ..helpers import wait_for

NEEDS_A_TOKEN = 'needs a token, and none was found'


def cli(*argv, env=None, cwd=None):
    """(exit code, stdout, stderr) of `cerise-actors ARGV` in a clean environment."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith('CERISE_')}
    result = subprocess.run(
        [sys.executable, '-m', 'cerise_actors', *map(str, argv)],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        cwd=cwd,
        timeout=300,
    )
    return result.returncode, result.stdout, result.stderr


def wc_job(folder):
    (folder / 'wc.cwl').write_text(wf.WC)
    (folder / 'hello.txt').write_text('one two\nthree\n')
    (folder / 'inputs.yml').write_text('file: {class: File, location: hello.txt}\n')
    return folder / 'wc.cwl', folder / 'inputs.yml'


def test_submit_wait_with_cerise_token(auth_service, tmp_path):
    service = auth_service()
    workflow, inputs = wc_job(tmp_path)
    code, out, err = cli(
        'submit',
        workflow,
        inputs,
        '--wait',
        '--service',
        service.base_url,
        env={'CERISE_TOKEN': service.token},
        cwd=tmp_path,
    )
    assert code == 0, err
    saved = tmp_path / 'wc-outputs' / 'output.txt'
    assert json.loads(out)['output']['path'] == str(saved)
    assert saved.read_text().split()[:2] == ['2', '3']
    assert service.token not in out + err


def test_without_a_token_a_command_exits_4_saying_how_to_give_one(auth_service, tmp_path):
    service = auth_service()
    workflow, inputs = wc_job(tmp_path)
    code, out, err = cli('submit', workflow, inputs, '--service', service.base_url, cwd=tmp_path)
    assert code == 4 and out == ''
    assert f'the service at {service.base_url} {NEEDS_A_TOKEN}' in err
    for way in ('--token-file FILE', 'CERISE_TOKEN', 'http://cerise:<token>@host:port'):
        assert way in err
    assert not (tmp_path / 'wc-outputs').exists()


def test_a_wrong_token_is_refused(auth_service, tmp_path):
    service = auth_service()
    code, _, err = cli(
        'list', '--service', service.base_url, env={'CERISE_TOKEN': 'wrong'}, cwd=tmp_path
    )
    assert code == 4 and 'refused the token from CERISE_TOKEN' in err
    assert 'wrong' not in err.split('refused the token from CERISE_TOKEN')[0]


def test_token_file_option_and_url_credentials(auth_service, tmp_path):
    service = auth_service()
    token_file = tmp_path / 'my-token'
    token_file.write_text(service.token + '\n')
    code, out, err = cli('list', '--service', service.base_url, '--token-file', token_file)
    assert (code, out) == (0, ''), err
    with_url = service.base_url.replace('http://', f'http://cerise:{service.token}@')
    code, out, err = cli('list', '--json', '--service', with_url, cwd=tmp_path)
    assert code == 0 and json.loads(out) == [], err
    code, _, err = cli('list', '--service', service.base_url, '--token-file', tmp_path / 'nope')
    assert code == 2 and f'cannot read the token file {tmp_path / "nope"}' in err


def test_run_token_in_the_current_folder_is_found(auth_service, tmp_path):
    """The README's case: the commands run where the service was started."""
    service = auth_service()
    (tmp_path / 'run').mkdir()
    (tmp_path / 'run' / 'token').write_text(service.token + '\n')
    os.chmod(tmp_path / 'run' / 'token', 0o600)
    code, _, err = cli('list', '--service', service.base_url, cwd=tmp_path)
    assert code == 0, err
    code, _, err = cli('list', '--service', service.base_url, cwd=tmp_path / 'run')
    assert code == 4 and NEEDS_A_TOKEN in err


# --- add-user ---------------------------------------------------------------------------
def test_add_user_prints_a_token_the_users_file_accepts(tmp_path):
    users = tmp_path / 'conf' / 'users'
    code, out, err = cli('add-user', 'alice', '--users', users)
    assert code == 0, err
    token = out.strip()
    assert out == token + '\n' and token.startswith('alice.')  # only the token on stdout
    assert 'shown this once' in err and 'within a second' in err and token not in err
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    assert check_token(read_users(users), token) == 'alice'

    code, _, err = cli('add-user', 'alice', '--users', users)
    assert code == 2 and '--replace' in err
    assert check_token(read_users(users), token) == 'alice'  # unchanged

    code, out, err = cli('add-user', 'alice', '--users', users, '--replace')
    assert code == 0 and 'new token' in err, err
    new = out.strip()
    assert new != token and check_token(read_users(users), new) == 'alice'
    assert check_token(read_users(users), token) == ''

    code, out, err = cli('add-user', 'Not A Name', '--users', users)
    assert code == 2 and out == '' and 'is not a user name' in err


def test_add_user_refuses_a_file_others_may_write(tmp_path):
    users = tmp_path / 'users'
    assert cli('add-user', 'alice', '--users', users)[0] == 0
    os.chmod(users, 0o666)
    code, out, err = cli('add-user', 'bob', '--users', users)
    assert code == 2 and out == '' and 'chmod 600' in err


def test_add_user_takes_the_users_file_from_the_configuration(tmp_path):
    users = tmp_path / 'users'
    config = tmp_path / 'config.yml'
    config.write_text(f'rest-service:\n  users: {users}\n')
    code, out, err = cli('add-user', 'bob', '--config', config, cwd=tmp_path)
    assert code == 0, err
    assert check_token(read_users(users), out.strip()) == 'bob'
    # CERISE_CONFIG as `serve` reads it
    code, out, err = cli('add-user', 'carol', env={'CERISE_CONFIG': str(config)}, cwd=tmp_path)
    assert code == 0 and check_token(read_users(users), out.strip()) == 'carol', err

    config.write_text('rest-service:\n  port: 29593\n')
    code, out, err = cli('add-user', 'dave', '--config', config, cwd=tmp_path)
    assert code == 2 and out == ''
    assert 'rest-service.users' in err and '--users' in err


def test_a_user_added_while_the_service_runs_gets_in(auth_service, tmp_path):
    service = auth_service(users=['alice'])
    users = service.root / 'users'
    code, out, err = cli('add-user', 'bob', '--users', users)
    assert code == 0, err
    env = {'CERISE_TOKEN': out.strip()}
    # the service reads the changed file again within a second, without a restart
    wait_for(
        lambda: cli('list', '--service', service.base_url, env=env, cwd=tmp_path)[0] == 0,
        timeout=30,
        message='the new user to be let in',
    )
