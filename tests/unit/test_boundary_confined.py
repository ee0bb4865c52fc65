"""boundary/confined.py: files below a root, reached without following any link.

Real folders, files, FIFOs and symlinks under tmp_path; the property tests
build random trees with links out and random names, and check that nothing
outside the root is ever read, listed, created or removed.
"""

import os
import stat
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cerise_actors.boundary.confined import (
    ConfinedRoot,
    Outside,
    Refused,
    WrongKind,
    components,
)

SECRET = b'the secret outside the root'


@pytest.fixture
def tree(tmp_path):
    """root/ with files, a folder, and links out of it to `outside/`."""
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'secret.txt').write_bytes(SECRET)
    root = tmp_path / 'root'
    (root / 'input' / 'job').mkdir(parents=True)
    (root / 'input' / 'job' / 'a.txt').write_bytes(b'a')
    (root / 'input' / 'job' / 'deep').mkdir()
    (root / 'input' / 'job' / 'deep' / 'b.txt').write_bytes(b'bb')
    os.symlink(outside, root / 'input' / 'out-dir')
    os.symlink(outside / 'secret.txt', root / 'input' / 'out-file')
    os.symlink('job', root / 'input' / 'in-dir')  # a link that stays inside: refused too
    return ConfinedRoot(root), root, outside


def test_files_below_the_root_are_read(tree):
    confined, _, _ = tree
    with confined.open_read('input/job/a.txt') as stream:
        assert stream.read() == b'a'
    with confined.open_read('input//job/./deep/b.txt') as stream:
        assert stream.read() == b'bb'


@pytest.mark.parametrize(
    'name,where',
    [
        ('input/out-dir/secret.txt', 'input/out-dir'),
        ('input/out-file', 'input/out-file'),
        ('input/in-dir/a.txt', 'input/in-dir'),
    ],
)
def test_a_link_anywhere_on_the_way_is_refused_and_named(tree, name, where):
    confined, _, _ = tree
    with pytest.raises(Outside, match=f'^{name}: {where} is a symbolic link') as info:
        confined.open_read(name)
    assert info.value.name == name
    with pytest.raises(Outside):
        confined.mkdir(f'{name}/new')


@pytest.mark.parametrize(
    'name,why',
    [
        ('../outside/secret.txt', 'climbs out'),
        ('input/../../outside/secret.txt', 'climbs out'),
        ('input/job/..', 'climbs out'),
        ('/etc/passwd', 'absolute'),
        ('input/a\x00b', 'NUL'),
    ],
)
def test_names_that_leave_the_root_are_refused_before_any_look(tree, name, why):
    confined, _, _ = tree
    for use in (confined.open_read, confined.locate, confined.mkdir, confined.remove):
        with pytest.raises(Outside, match=why):
            use(name)
    with pytest.raises(Outside, match=why):
        list(confined.walk(name))


def test_locate_tells_a_link_as_a_link(tree):
    confined, _, _ = tree
    assert stat.S_ISLNK(confined.locate('input/out-dir').st_mode)
    assert stat.S_ISDIR(confined.locate('input/job').st_mode)
    assert stat.S_ISDIR(confined.locate('').st_mode)
    assert confined.locate('input/job/a.txt').st_size == 1
    with pytest.raises(FileNotFoundError):
        confined.locate('input/missing')


def test_a_fifo_is_refused_without_blocking(tree):
    confined, root, _ = tree
    os.mkfifo(root / 'input' / 'pipe')  # nobody writes: a plain open would block
    with pytest.raises(WrongKind, match='named pipe') as info:
        confined.open_read('input/pipe')
    assert info.value.kind == 'a named pipe (FIFO)'


def test_a_folder_or_the_root_is_not_read_as_a_file(tree):
    confined, _, _ = tree
    with pytest.raises(WrongKind, match='folder'):
        confined.open_read('input/job')
    with pytest.raises(WrongKind, match='folder'):
        confined.open_read('')
    with pytest.raises(WrongKind, match='input/job/a.txt is a file, not a folder'):
        confined.open_read('input/job/a.txt/x')


def test_a_walk_lists_links_without_entering_them(tree):
    confined, _, _ = tree
    seen = {entry.name: entry for entry in confined.walk('input')}
    assert sorted(seen) == [
        'in-dir',
        'job',
        'job/a.txt',
        'job/deep',
        'job/deep/b.txt',
        'out-dir',
        'out-file',
    ]
    assert seen['out-dir'].is_link and not seen['out-dir'].is_dir
    assert seen['job'].is_dir and seen['job/a.txt'].is_file
    assert [e.name for e in confined.walk('input/job')] == ['a.txt', 'deep', 'deep/b.txt']


def test_a_walk_of_a_link_is_refused(tree):
    confined, _, _ = tree
    with pytest.raises(Outside, match='input/out-dir is a symbolic link'):
        list(confined.walk('input/out-dir'))


def test_a_folder_swapped_for_a_link_during_a_walk_is_refused(tree):
    confined, root, outside = tree
    walk = confined.walk('input/job')
    assert next(walk).name == 'a.txt'
    deep = next(walk)
    assert (deep.name, deep.is_dir) == ('deep', True)  # seen as a folder; then swapped
    os.rename(root / 'input' / 'job' / 'deep', root / 'deep-away')
    os.symlink(outside, root / 'input' / 'job' / 'deep')
    with pytest.raises(Outside, match='input/job/deep is a symbolic link'):
        list(walk)


def test_a_folder_swapped_for_a_link_before_a_walk_reaches_it_is_listed_as_a_link(tree):
    confined, root, outside = tree
    walk = confined.walk('input/job')
    assert next(walk).name == 'a.txt'
    os.rename(root / 'input' / 'job' / 'deep', root / 'deep-away')
    os.symlink(outside, root / 'input' / 'job' / 'deep')
    rest = list(walk)
    assert [(e.name, e.is_link) for e in rest] == [('deep', True)]


def test_create_and_rename_replace_a_planted_link_instead_of_writing_through_it(tree):
    confined, root, outside = tree
    confined.mkdir('output/j1/sub')
    os.symlink(outside / 'secret.txt', root / 'output' / 'j1' / '.x.part')
    os.symlink(outside / 'secret.txt', root / 'output' / 'j1' / 'x')
    with confined.create('output/j1/.x.part') as out:
        out.write(b'published')
    confined.rename('output/j1/.x.part', 'output/j1/x')
    assert (outside / 'secret.txt').read_bytes() == SECRET
    assert not (root / 'output' / 'j1' / 'x').is_symlink()
    assert (root / 'output' / 'j1' / 'x').read_bytes() == b'published'


def test_mkdir_makes_parents_and_refuses_a_link_in_the_way(tree):
    confined, root, outside = tree
    confined.mkdir('a/b/c')
    confined.mkdir('a/b/c')  # again: fine
    assert (root / 'a' / 'b' / 'c').is_dir()
    with pytest.raises(Outside, match='input/out-dir is a symbolic link'):
        confined.mkdir('input/out-dir/new')
    assert not (outside / 'new').exists()


def test_remove_takes_a_tree_and_links_but_never_what_they_point_to(tree):
    confined, root, outside = tree
    confined.remove('input')
    assert not (root / 'input').exists()
    assert (outside / 'secret.txt').read_bytes() == SECRET
    confined.remove('input')  # gone already: fine
    with pytest.raises(WrongKind):
        confined.remove('')


def test_the_root_itself_may_be_reached_through_a_link(tmp_path):
    (tmp_path / 'real').mkdir()
    (tmp_path / 'real' / 'f').write_bytes(b'f')
    os.symlink(tmp_path / 'real', tmp_path / 'alias')
    with ConfinedRoot(tmp_path / 'alias').open_read('f') as stream:
        assert stream.read() == b'f'


def test_components_of_a_name():
    assert components('') == []
    assert components('a//./b/') == ['a', 'b']
    with pytest.raises(TypeError):
        components(b'a')


# --- properties --------------------------------------------------------------------

SEGMENT = st.one_of(
    st.sampled_from(['..', '.', '', 'in', 'out', 'link', 'f', '%2e%2e', 'a\x00', '/']),
    st.text(alphabet=string.ascii_letters + '.%', min_size=1, max_size=4),
)
NAME = st.lists(SEGMENT, max_size=6).map('/'.join)
#: a tree below the root: file and folder names, some of them links out
NODES = st.lists(
    st.tuples(
        st.lists(st.sampled_from(['in', 'out', 'link', 'f']), min_size=1, max_size=3),
        st.sampled_from(['file', 'dir', 'link-out-dir', 'link-out-file', 'link-up']),
    ),
    max_size=12,
)


def _build(root, nodes, outside):
    for parts, kind in nodes:
        path = root.joinpath(*parts)
        if not os.path.realpath(path.parent).startswith(os.path.realpath(root)):
            continue  # the tree is built through links only inside the root
        if os.path.lexists(path):
            continue  # the place is taken; never write through a link
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if kind == 'file':
                path.write_bytes(b'inside')
            elif kind == 'dir':
                path.mkdir(exist_ok=True)
            elif kind == 'link-out-dir':
                os.symlink(outside, path)
            elif kind == 'link-out-file':
                os.symlink(outside / 'secret.txt', path)
            else:
                os.symlink('../' * len(parts), path)
        except OSError:
            pass  # the place is taken (a file where a folder was wanted): fine


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(nodes=NODES, names=st.lists(NAME, min_size=1, max_size=5))
def test_no_name_ever_reads_or_lists_anything_outside(tmp_path_factory, nodes, names):
    base = tmp_path_factory.mktemp('prop')
    outside = base / 'outside'
    outside.mkdir()
    (outside / 'secret.txt').write_bytes(SECRET)
    (outside / 'only-outside').write_bytes(SECRET)
    root = base / 'root'
    root.mkdir()
    _build(root, nodes, outside)
    confined = ConfinedRoot(root)
    for name in names:
        try:
            with confined.open_read(name) as stream:
                assert stream.read() != SECRET, name
        except (Refused, OSError):
            pass
        try:
            for entry in confined.walk(name):
                assert 'only-outside' not in entry.name, name
                assert not entry.is_link or not entry.is_dir
        except (Refused, OSError):
            pass
        try:
            confined.mkdir(f'{name}/made')
        except (Refused, OSError):
            pass
        try:
            confined.remove(name)
        except (Refused, OSError):
            pass
    assert sorted(p.name for p in outside.iterdir()) == ['only-outside', 'secret.txt']
    assert (outside / 'secret.txt').read_bytes() == SECRET
