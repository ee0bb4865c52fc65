"""Signed download URLs: one file, one user, until they expire; nothing else."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cerise_actors.auth.signing import UrlSigner, signable

NAME = 'output/3f2a/result.txt'


@pytest.fixture
def signer():
    return UrlSigner('k' * 43, lifetime=3600)


def test_a_signature_opens_its_file_for_its_user(signer):
    value = signer.signature('alice', NAME, now=1000)
    assert signer.user_of(value, NAME, now=1000 + 3599) == 'alice'


def test_a_signature_expires(signer):
    value = signer.signature('alice', NAME, now=1000)
    assert signer.user_of(value, NAME, now=1000 + 3601) is None


@pytest.mark.parametrize(
    'other', ['output/3f2a/result.txtx', 'output/3f2a/other.txt', 'output/4f2a/result.txt']
)
def test_a_signature_opens_no_other_file(signer, other):
    value = signer.signature('alice', NAME, now=1000)
    assert signer.user_of(value, other, now=1000) is None


def test_a_changed_user_or_expiry_breaks_the_signature(signer):
    expires, user, mac = signer.signature('alice', NAME, now=1000).split('.')
    assert signer.user_of(f'{expires}.bob.{mac}', NAME, now=1000) is None
    assert signer.user_of(f'{int(expires) + 1}.{user}.{mac}', NAME, now=1000) is None


def test_another_key_signs_differently(signer):
    value = signer.signature('alice', NAME, now=1000)
    assert UrlSigner('j' * 43, 3600).user_of(value, NAME, now=1000) is None


@pytest.mark.parametrize(
    'name',
    [
        'input/x/a.txt',
        'output/x',
        'output/x/../../input/a',
        'output/x/./a',
        'output//a',
        'output/x/a\0',
    ],
)
def test_only_plain_output_files_are_signed(signer, name):
    assert not signable(name)
    with pytest.raises(ValueError):
        signer.signature('alice', name)
    assert signer.user_of('1.alice.x', name) is None


@settings(max_examples=500, deadline=None, derandomize=True)
@given(value=st.text(max_size=80), name=st.text(max_size=40))
def test_no_made_up_value_is_a_signature(value, name):
    signer = UrlSigner('k' * 43, lifetime=3600)
    assert signer.user_of(value, 'output/j/' + name, now=0) is None
