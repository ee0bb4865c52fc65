"""Red team: wrong tokens must cost the service next to nothing, whoever they name.

Anyone who reaches the port may send tokens. With scrypt hashes in the
users file every wrong token that named a real user cost 50 ms of CPU and
16 MiB, and 48 connections of them made a real user's requests take a
second (measured by the red team on this machine); and a 401 took 68 ms for
a real user name and 1.5 ms for a made-up one, telling who exists. Tokens
are now kept as salted SHA-256 (auth/hashing.py says why that suffices for
256 random bits), and a made-up name gets the same check. These tests hold
the cost with a wide margin rather than time the server: 1,000 wrong
tokens take well under a second in all, where scrypt took 50 s, and the
same work is done for either kind of name (tests/unit/test_auth_secrets.py).
"""

import time

from cerise_actors.auth.authenticator import UsersFile
from cerise_actors.auth.users import add_user


def test_a_thousand_wrong_tokens_naming_a_real_user_cost_less_than_a_second(tmp_path):
    path = tmp_path / 'users'
    add_user(path, 'alice')
    users = UsersFile(path)
    started = time.process_time()
    for n in range(1000):
        assert users.who(f'alice.wrong-{n}') is None
        assert users.who(f'zoe.wrong-{n}') is None
    assert time.process_time() - started < 1.0


def test_a_wrong_token_over_http_is_refused_as_quickly_as_it_is_made_up(module_auth_service):
    service = module_auth_service(users=['alice', 'bob'])
    anonymous = service.client(None)
    for name in ('alice', 'zoe'):
        anonymous.token = f'{name}.not-a-token'
        status, body, headers = anonymous.call('GET', '/jobs')
        assert status == 401 and 'a token this service does not know' in body['description']
