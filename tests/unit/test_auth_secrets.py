"""The run folder's secrets and the users file: made private, refused when others could read or write them."""

import os
import stat

import pytest

from cerise_actors.auth import hashing, users
from cerise_actors.auth.secret_files import SecretFileError, read_or_make


def test_a_secret_is_made_private_once_and_reused(tmp_path):
    path = tmp_path / 'run' / 'token'
    first = read_or_make(path)
    assert len(first) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_or_make(path) == first


@pytest.mark.parametrize('mode', [0o640, 0o604, 0o644])
def test_a_secret_others_may_read_is_refused_with_the_fix(tmp_path, mode):
    path = tmp_path / 'token'
    read_or_make(path)
    path.chmod(mode)
    with pytest.raises(SecretFileError, match='chmod 600'):
        read_or_make(path)


def test_a_secret_behind_a_link_is_refused(tmp_path):
    real = tmp_path / 'elsewhere'
    read_or_make(real)
    (tmp_path / 'token').symlink_to(real)
    with pytest.raises(SecretFileError):
        read_or_make(tmp_path / 'token')


def test_an_empty_secret_is_refused(tmp_path):
    path = tmp_path / 'token'
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    with pytest.raises(SecretFileError, match='does not hold a secret'):
        read_or_make(path)


def test_a_hash_verifies_its_token_only():
    stored = hashing.hash_token('alice.secret')
    assert stored.startswith('sha256$')
    assert 'secret' not in stored
    assert hashing.verify_token('alice.secret', stored)
    assert not hashing.verify_token('alice.secreT', stored)


@pytest.mark.parametrize(
    'stored',
    [
        '',
        'plain',
        'scrypt$16384$8$1$AAAA$AAAA',
        'sha256$!!$' + 'A' * 43,
        'sha256$AAAA$' + 'A' * 43,
        'sha256$' + 'A' * 22 + '$AAAA',
        'sha256$' + 'A' * 22,
    ],
)
def test_a_hash_that_cannot_be_read_is_refused(stored):
    with pytest.raises(hashing.BadHash):
        hashing.verify_token('x', stored)


def test_tokens_are_compared_in_constant_time(monkeypatch):
    """Both comparisons go through hmac.compare_digest, never ==."""
    calls = []
    real = hashing.hmac.compare_digest

    def recording(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hashing.hmac, 'compare_digest', recording)
    assert hashing.same_secret('abc', 'abc') and not hashing.same_secret('abc', 'abd')
    assert hashing.verify_token('t', hashing.hash_token('t'))
    assert not hashing.verify_nobody('t')
    assert len(calls) == 4


def test_add_user_writes_a_private_file_and_shows_the_token_once(tmp_path):
    path = tmp_path / 'users'
    token = users.add_user(path, 'alice')
    assert token.startswith('alice.')
    assert token not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    found = users.read_users(path)
    assert users.check_token(found, token) == 'alice'
    assert users.check_token(found, token + 'x') == ''
    bob = users.add_user(path, 'bob')
    found = users.read_users(path)
    assert sorted(found.hashes) == ['alice', 'bob']
    assert users.check_token(found, bob) == 'bob'
    # a token names its user: alice's secret under bob's name is nobody's
    assert users.check_token(found, 'bob.' + token.partition('.')[2]) == ''


def test_an_existing_user_gets_a_new_token_only_when_asked(tmp_path):
    path = tmp_path / 'users'
    old = users.add_user(path, 'alice')
    with pytest.raises(users.UsersFileError, match='--replace'):
        users.add_user(path, 'alice')
    new = users.add_user(path, 'alice', replace=True)
    found = users.read_users(path)
    assert users.check_token(found, new) == 'alice'
    assert users.check_token(found, old) == ''


@pytest.mark.parametrize('name', ['', 'Alice', '-x', 'a/b', '..', 'a.b', 'x' * 33, 'é'])
def test_a_bad_user_name_is_refused(tmp_path, name):
    with pytest.raises(users.UsersFileError, match='not a user name'):
        users.add_user(tmp_path / 'users', name)


def test_a_users_file_others_may_write_is_refused(tmp_path):
    path = tmp_path / 'users'
    users.add_user(path, 'alice')
    path.chmod(0o620)
    with pytest.raises(users.UsersFileError, match='add themselves'):
        users.read_users(path)


@pytest.mark.parametrize(
    'text, problem',
    [
        ('alice', 'expected <name>:<hash>'),
        ('Alice:sha256$1', 'expected <name>:<hash>'),
        ('alice:plain', 'expected <name>:<hash>'),
        ('alice:sha256$x\nalice:sha256$y', 'twice'),
    ],
)
def test_a_users_file_line_it_cannot_read_is_named(text, problem):
    with pytest.raises(users.UsersFileError, match=problem):
        users.parse_users(text, 'users.txt')


def test_comments_and_blank_lines_are_ignored():
    assert users.parse_users('# who\n\nalice:sha256$x\n') == {'alice': 'sha256$x'}


def test_a_stored_hash_that_is_broken_matches_nothing():
    found = users.Users({'alice': 'sha256$broken'}, (0, 0, 0))
    assert users.check_token(found, 'alice.anything') == ''


def test_a_token_of_an_unknown_user_costs_the_same_check(monkeypatch):
    """No hint in the time of a 401 whether a user name exists: the same
    HMAC and comparison run for a name that is not in the file."""
    found = users.Users({'alice': hashing.hash_token('alice.x')}, (0, 0, 0))
    calls = []
    real = hashing._digest
    monkeypatch.setattr(hashing, '_digest', lambda *a: calls.append(a) or real(*a))
    assert users.check_token(found, 'alice.wrong') == ''
    assert users.check_token(found, 'zoe.wrong') == ''
    assert len(calls) == 2
