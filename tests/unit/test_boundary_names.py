"""boundary/names.py: paths users write, resolved lexically, never outside their root.

The property test builds paths from the pieces attackers use (`.`, `..`,
`%2e`, `%2E%2e`, `%252e`, `%2f`, empty segments) and ordinary names, and
compares `resolve` with a model built on `posixpath.normpath`, checked at
every prefix so that a path that leaves its root and comes back is caught.
"""

import posixpath
import re
import urllib.parse

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cerise_actors.boundary.names import (
    MAX_DEPTH,
    MAX_NAME_BYTES,
    LeavesRoot,
    NameRefused,
    resolve,
    resolve_below,
)

ROOT = '/srv/exchange'
PIECES = ['.', '..', '%2e', '%2E', '%2e%2e', '%2E%2e', '.%2e', '%252e', '%252E%252e', '%2f', '']
PIECES += ['%25252e', '%5c', '%00', '%2541', 'a%2fb', '%', '%01', '%C2%85', '%7f', '\x1b']
NAMES = st.text(
    alphabet=st.characters(blacklist_characters='/\\%\x00', blacklist_categories=('Cs',)),
    min_size=1,
    max_size=6,
)
SEGMENTS = st.lists(st.one_of(st.sampled_from(PIECES), NAMES), max_size=12)


def _model(path: str, decode: bool):
    """What a careful reader makes of `path`: a tuple of names, 'leaves' or 'refused'."""
    if decode:
        path = urllib.parse.unquote(path)
    if '\x00' in path or '\\' in path or re.search('[\x00-\x1f\x7f-\x9f]', path):
        return 'refused'  # NUL, backslash, or another control character
    segments = path.split('/')
    for segment in segments:  # a name that, decoded again and again, is a dot or separator
        seen = segment
        while segment not in ('.', '..') and urllib.parse.unquote(seen) != seen:
            seen = urllib.parse.unquote(seen)
            if seen in ('.', '..') or any(c in seen for c in '/\\\x00'):
                return 'refused'
    deep = '/r' * 20 + ROOT  # room above the root, so normpath never clamps at /
    for end in range(1, len(segments) + 1):
        here = posixpath.normpath(posixpath.join(deep, *segments[:end]))
        if here != deep and not here.startswith(deep + '/'):
            return 'leaves'
    resolved = posixpath.normpath(posixpath.join(deep, *segments))
    return tuple(name for name in resolved[len(deep) :].split('/') if name)


@settings(max_examples=2000, deadline=None)
@given(SEGMENTS, st.booleans(), st.booleans())
@example(['output', '.'], False, False)
@example(['input', '%2e'], True, False)
@example(['', 'input', 'x', '%2E%2e'], True, True)
@example(['input', '%252e'], True, False)
@example(['a', '..', '..', 'a'], False, False)
def test_resolve_agrees_with_a_careful_reading_and_never_leaves_its_root(
    segments, decode, leading_slash
):
    path = ('/' if leading_slash else '') + '/'.join(segments)
    expected = _model(path, decode)
    if expected == 'leaves':
        with pytest.raises(LeavesRoot):
            resolve(path, decode=decode)
        return
    if expected == 'refused':
        with pytest.raises(NameRefused):
            resolve(path, decode=decode)
        return
    names = resolve(path, decode=decode)
    assert names == expected
    for name in names:
        assert name not in ('', '.', '..') and '/' not in name
        assert urllib.parse.unquote(name) not in ('.', '..')
    joined = posixpath.normpath(posixpath.join(ROOT, *names))
    assert joined == ROOT or joined.startswith(ROOT + '/')


@pytest.mark.parametrize(
    'path, names',
    [
        ('', ()),
        ('/', ()),
        ('.', ()),
        ('/output/.', ('output',)),
        ('/input/x/..', ('input',)),
        ('//a//b/', ('a', 'b')),
        ('/a/./b/../c', ('a', 'c')),
        ('café/ü.txt', ('café', 'ü.txt')),
        ('100%.txt', ('100%.txt',)),  # not an escape: kept as it is
        ('a%2520b', ('a%2520b',)),  # decodes again to a harmless name
    ],
)
def test_examples(path, names):
    assert resolve(path) == names


@pytest.mark.parametrize(
    'path, names', [('/input/%2e', ('input',)), ('a%2fb%2f..%2fc', ('a', 'c')), ('%C3%BC', ('ü',))]
)
def test_examples_decoded(path, names):
    assert resolve(path, decode=True) == names


@pytest.mark.parametrize('path', ['..', '/..', 'a/../..', '/a/b/../../../c', './..'])
def test_leaving_the_root_is_its_own_refusal(path):
    with pytest.raises(LeavesRoot):
        resolve(path)


@pytest.mark.parametrize(
    'path, decode, reason',
    [
        ('a\x00b', False, 'NUL'),
        ('a%00b', True, 'NUL'),
        ('a\\b', False, 'backslash'),
        ('a%5cb', True, 'backslash'),
        ('%252e', False, 'encoded twice'),
        ('a/%2e%2e', False, 'encoded twice'),
        ('a/%25252e%2e', True, 'encoded twice'),
        ('a/b%2fc', False, 'encoded twice'),
        ('%ff', True, 'not UTF-8'),
    ],
)
def test_refused_names_say_why(path, decode, reason):
    with pytest.raises(NameRefused, match=reason) as caught:
        resolve(path, decode=decode)
    assert not isinstance(caught.value, LeavesRoot)


def test_depth_and_name_length_are_capped():
    assert len(resolve('/'.join(['d'] * MAX_DEPTH))) == MAX_DEPTH
    with pytest.raises(NameRefused, match=str(MAX_DEPTH)):
        resolve('/'.join(['d'] * (MAX_DEPTH + 1)))
    assert resolve('/'.join(['d'] * (MAX_DEPTH + 1) + ['..'])) == ('d',) * MAX_DEPTH
    assert resolve('é' * (MAX_NAME_BYTES // 2)) == ('é' * (MAX_NAME_BYTES // 2),)
    with pytest.raises(NameRefused, match=str(MAX_NAME_BYTES)):
        resolve('é' * (MAX_NAME_BYTES // 2 + 1))
    with pytest.raises(NameRefused, match=str(MAX_NAME_BYTES)):
        resolve('a' * (MAX_NAME_BYTES + 1) + '/..')  # a name undone by .. is checked too


def test_resolve_below_compares_resolved_paths():
    assert resolve_below('/ex/input/a.cwl', '/ex') == ('input', 'a.cwl')
    assert resolve_below('/ex/./input/x/../a.cwl', '/ex/') == ('input', 'a.cwl')
    assert resolve_below('/ex', '/ex') == ()
    assert resolve_below('/ex/%2e/a', '/ex', decode=True) == ('a',)
    for outside in ('/ex/../cerise.db', '/exchange/a', '/etc/passwd', '/ex/input/../../x', '/'):
        with pytest.raises(LeavesRoot):
            resolve_below(outside, '/ex')
    with pytest.raises(LeavesRoot):
        resolve_below('/ex/%2e%2e/cerise.db', '/ex', decode=True)
    with pytest.raises(NameRefused, match='absolute'):
        resolve_below('ex/a', '/ex')
    deep = '/ex/' + '/'.join(['d'] * MAX_DEPTH)
    assert len(resolve_below(deep, '/ex')) == MAX_DEPTH
    with pytest.raises(NameRefused, match='deeper'):
        resolve_below(deep + '/d', '/ex')
