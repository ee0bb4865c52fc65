"""boundary/locations.py: which local path a location names, and whether it is inside."""

import os
import posixpath
import string
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cerise_actors.boundary import locations
from cerise_actors.boundary.locations import (
    NotLocal,
    inside,
    local_path,
    normalise,
    relative_below,
)


@pytest.mark.parametrize(
    'location,path',
    [
        ('/data/in.txt', '/data/in.txt'),
        ('/data/a%20b', '/data/a%20b'),  # a path is taken as written
        ('file:///data/a%20b.txt', '/data/a b.txt'),
        ('file://localhost/data/x', '/data/x'),
        ('FILE:///data/x', '/data/x'),
        ('file:///data/wf.cwl#main', '/data/wf.cwl'),  # a fragment names no file
        ('file:///data/../etc/x', '/data/../etc/x'),  # dot segments: see normalise
        ('in.txt', None),
        ('sub/dir/x', None),
        ('', None),
    ],
)
def test_local_paths(location, path):
    assert local_path(location) == path


@pytest.mark.parametrize(
    'location,scheme',
    [
        ('http://example.org/x', 'http'),
        ('https://example.org/x', 'https'),
        ('HTTPS://example.org/x', 'https'),
        ('ftp://example.org/x', 'ftp'),
        ('s3://bucket/x', 's3'),
        ('data:text/plain,hi', 'data'),
        ('keep:abc+123/x', 'keep'),
        ('gs+x.y-z:whatever', 'gs+x.y-z'),
        ('C:\\Windows\\x', 'c'),
    ],
)
def test_every_other_scheme_is_not_local(location, scheme):
    with pytest.raises(NotLocal) as info:
        local_path(location)
    assert info.value.scheme == scheme
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    'location,reason',
    [
        ('file://otherhost/etc/passwd', 'another host'),
        ('file://user@localhost/x', 'another host'),
        ('file:///x?y=1', 'query'),
        ('file:///x?', 'query'),
        ('file:relative/x', 'absolute path'),
        ('/data/a\x00b', 'NUL'),
        ('file:///data/a%00b', 'NUL'),
        ('in\x00.txt', 'NUL'),
        ('file://[::1/x', 'not a valid URL'),
    ],
)
def test_file_urls_that_name_no_local_file_are_refused(location, reason):
    with pytest.raises(NotLocal, match=reason):
        local_path(location)


def test_normalise_is_lexical_and_never_climbs_above_the_top():
    assert normalise('/a/./b/../c//d/') == '/a/c/d'
    assert normalise('//a') == '/a'
    assert normalise('/../../etc') == '/etc'
    assert normalise('a/../../b') == '../b'
    assert normalise('') == '.'


@pytest.mark.parametrize(
    'path,name',
    [
        ('/jobs/j/work/out.txt', 'out.txt'),
        ('/jobs/j/work/sub/../out.txt', 'out.txt'),
        ('/jobs/j/work', ''),
        ('/jobs/j/work/', ''),
        ('/jobs/j/work/../work2/x', None),
        ('/jobs/j/workshop/x', None),
        ('/jobs/j/work/../../../etc/passwd', None),
        ('jobs/j/work/x', None),
        ('/jobs/j/work/a\x00', None),
    ],
)
def test_relative_below(path, name):
    assert relative_below(path, '/jobs/j/work') == name
    assert relative_below(path, '/jobs/j/work/') == name


def test_inside_resolves_links(tmp_path):
    root = tmp_path / 'root'
    (root / 'sub').mkdir(parents=True)
    os.symlink('/etc', root / 'etc')
    os.symlink(root, tmp_path / 'alias')
    assert inside(str(root / 'sub' / 'x'), [str(root)])
    assert inside(str(root), [str(root)])
    assert inside(str(tmp_path / 'alias' / 'sub'), [str(root)])
    assert not inside(str(root / 'etc' / 'passwd'), [str(root)])
    assert not inside(str(root / '..' / 'x'), [str(root)])
    assert not inside(str(tmp_path / 'root2'), [str(root)])
    assert not inside(str(root / 'a\x00'), [str(root)])
    assert not inside(None, [str(root)])


def test_the_module_stands_alone():
    """The runner ships a copy of it alone: standard library only."""
    import ast

    tree = ast.parse(open(locations.__file__).read())
    imported = {
        alias.name.split('.')[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split('.')[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        if node.module and not node.level
    }
    assert imported <= {'os', 're', 'typing', 'urllib'}
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]


# --- properties --------------------------------------------------------------------

SEGMENT = st.one_of(
    st.sampled_from(['..', '.', '', '%2e%2e', '%2E.', '.%2e', '%2f', '%00', 'a', 'b']),
    st.text(alphabet=string.ascii_letters + '.%/', min_size=1, max_size=5),
)
NAME = st.lists(SEGMENT, max_size=8).map('/'.join)
ROOT = '/srv/exchange'


@settings(max_examples=2000, deadline=None)
@given(NAME, st.booleans())
def test_a_local_path_below_the_root_is_below_it_as_the_kernel_reads_it(name, as_url):
    """relative_below agrees with the kernel's reading of a path without links."""
    text = f'{ROOT}/{name}'
    location = 'file://' + quote(text) if as_url else text
    try:
        path = local_path(location)
    except NotLocal:
        return
    assert path is not None
    result = relative_below(path, ROOT)
    if result is None:
        return
    assert '..' not in result.split('/')
    joined = posixpath.normpath(posixpath.join(ROOT, result))
    assert joined == ROOT or joined.startswith(ROOT + '/')
    # the kernel resolves .. in the same way when nothing on the way is a link
    assert posixpath.normpath(path).replace('//', '/') == joined
