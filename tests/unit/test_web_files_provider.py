"""The /files provider acts on names through its ConfinedRoot, never on paths.

Each test makes a resource while its folder is real, then swaps the folder
for a symbolic link to a folder outside the exchange, exactly where an
attacker's swap would land between WsgiDAV's look and its action, and then
acts: the action is refused (403) and the outside folder is untouched.
tests/security/test_webdav_races.py makes the same swaps with real timing,
through HTTP.
"""

import os
import stat
from pathlib import Path

import pytest
from wsgidav.dav_error import (
    HTTP_CONFLICT,
    HTTP_FORBIDDEN,
    HTTP_METHOD_NOT_ALLOWED,
    HTTP_NOT_FOUND,
    DAVError,
)

from cerise_actors.defaults import UPLOAD_PREFIX
from cerise_actors.web.files_provider import ConfinedFile, ConfinedFolder, ConfinedProvider

SECRET = b'outside the exchange\n'


class Scene:
    def __init__(self, tmp_path: Path):
        self.exchange = tmp_path / 'exchange'
        self.outside = tmp_path / 'outside'
        (self.outside / 'sub').mkdir(parents=True)
        for name in ('data.txt', 'sub/deep.txt'):
            (self.outside / name).write_bytes(SECRET)
        self.folder = self.exchange / 'input' / 'job'
        (self.folder / 'sub').mkdir(parents=True)
        (self.folder / 'data.txt').write_bytes(b'inside\n')
        (self.folder / 'sub' / 'deep.txt').write_bytes(b'inside\n')
        (self.exchange / 'input' / 'mine.txt').write_bytes(b'mine\n')
        self.before = self.snapshot()
        self.provider = ConfinedProvider(str(self.exchange))
        self.environ = {'wsgidav.provider': self.provider, 'wsgidav.config': {}}

    def resource(self, path: str):
        return self.provider.get_resource_inst(path, self.environ)

    def swap(self) -> None:
        """What the attacker's renameat2 does: input/job becomes a link to `outside`."""
        self.folder.rename(self.folder.with_name('job-real'))
        self.folder.symlink_to(self.outside, target_is_directory=True)

    def snapshot(self) -> dict:
        found = {}
        for parent, folders, files in os.walk(self.outside):
            for name in folders + files:
                path = Path(parent) / name
                found[str(path.relative_to(self.outside))] = (
                    None if path.is_dir() else path.read_bytes()
                )
        return found

    def assert_untouched(self) -> None:
        assert self.snapshot() == self.before


@pytest.fixture
def scene(tmp_path):
    return Scene(tmp_path)


def _refused(call, *args, **kwargs):
    with pytest.raises(DAVError) as caught:
        call(*args, **kwargs)
    assert caught.value.value == HTTP_FORBIDDEN, caught.value
    assert 'symbolic link' in str(caught.value.context_info)


def test_a_link_is_refused_at_lookup_and_in_the_middle(scene):
    scene.swap()
    for path in ('/input/job', '/input/job/data.txt', '/input/job/sub/'):
        _refused(scene.resource, path)
    assert scene.resource('/input/nothing') is None
    assert scene.resource('/input/mine.txt/below') is None  # a file on the way: 409 from WsgiDAV


@pytest.mark.parametrize('path', ['/input/job/data.txt', '/input/job/sub'])
def test_delete_after_the_swap(scene, path):
    res = scene.resource(path)
    scene.swap()
    _refused(res.delete)
    scene.assert_untouched()


def test_put_after_the_swap(scene):
    res = scene.resource('/input/job/data.txt')
    scene.swap()
    _refused(res.begin_write)
    scene.assert_untouched()


def test_an_upload_begun_before_the_swap_lands_in_the_folder_it_began_in(scene):
    res = scene.resource('/input/job/data.txt')
    stream = res.begin_write()
    stream.write(b'new\n')
    stream.close()
    scene.swap()
    res.end_write(with_errors=False)
    scene.assert_untouched()
    assert (scene.exchange / 'input' / 'job-real' / 'data.txt').read_bytes() == b'new\n'
    assert res.file_stat.st_size == 4


def test_get_after_the_swap(scene):
    res = scene.resource('/input/job/data.txt')
    scene.swap()
    _refused(res.get_content)


def test_copy_and_move_after_the_swap(scene):
    source = scene.resource('/input/job/data.txt')
    mine = scene.resource('/input/mine.txt')
    folder = scene.resource('/input/job/sub')
    scene.swap()
    _refused(source.copy_move_single, '/input/copied.txt', is_move=False)
    _refused(mine.copy_move_single, '/input/job/data.txt', is_move=False)
    _refused(mine.move_recursive, '/input/job/data.txt')
    _refused(folder.copy_move_single, '/input/job/sub2', is_move=False)
    _refused(folder.move_recursive, '/input/moved')
    scene.assert_untouched()
    assert not (scene.exchange / 'input' / 'copied.txt').exists()
    assert (scene.exchange / 'input' / 'mine.txt').read_bytes() == b'mine\n'


def test_mkcol_listing_and_touch_after_the_swap(scene):
    folder = scene.resource('/input/job')
    file = scene.resource('/input/job/data.txt')
    scene.swap()
    _refused(folder.create_collection, 'new')
    _refused(folder.get_member_list)
    _refused(file.set_last_modified, file.path, 0, dry_run=False)
    _refused(folder.get_used_bytes)
    scene.assert_untouched()


def test_writes_that_work(scene):
    folder = scene.resource('/input/job')
    new = folder.create_empty_resource('new.txt')
    assert isinstance(new, ConfinedFile) and not (scene.folder / 'new.txt').exists()
    stream = new.begin_write()
    stream.write(b'whole\n')
    assert [p.name for p in scene.folder.iterdir() if p.name.startswith(UPLOAD_PREFIX)]
    stream.close()
    new.end_write(with_errors=False)
    assert (scene.folder / 'new.txt').read_bytes() == b'whole\n'
    assert new.get_etag() and new.get_content_length() == 6

    failed = folder.create_empty_resource('failed.txt')
    failed.begin_write().write(b'half')
    failed.end_write(with_errors=True)
    assert sorted(p.name for p in scene.folder.iterdir()) == ['data.txt', 'new.txt', 'sub']

    os.chmod(scene.folder / 'data.txt', 0o640)
    os.utime(scene.folder / 'data.txt', (1_000_000, 1_000_000))
    scene.resource('/input/job/data.txt').copy_move_single('/input/copy.txt', is_move=False)
    copied = scene.exchange / 'input' / 'copy.txt'
    assert copied.read_bytes() == b'inside\n'
    assert stat.S_IMODE(copied.stat().st_mode) == 0o640 and copied.stat().st_mtime == 1_000_000

    scene.resource('/input/copy.txt').move_recursive('/input/job/sub/moved.txt')
    assert (scene.folder / 'sub' / 'moved.txt').read_bytes() == b'inside\n'
    folder.create_collection('made')
    assert (scene.folder / 'made').is_dir()
    with pytest.raises(DAVError) as caught:
        folder.create_collection('made')
    assert caught.value.value == HTTP_METHOD_NOT_ALLOWED
    scene.resource('/input/job/sub').delete()
    assert not (scene.folder / 'sub').exists()
    with pytest.raises(DAVError) as caught:
        scene.resource('/input/job/data.txt').move_recursive('/input/none/x.txt')
    assert caught.value.value in (HTTP_NOT_FOUND, HTTP_CONFLICT)


def test_members_are_files_and_folders_only(scene):
    (scene.folder / 'link').symlink_to(scene.outside)
    (scene.folder / 'file-link').symlink_to(scene.outside / 'data.txt')
    os.mkfifo(scene.folder / 'fifo')
    (scene.folder / (UPLOAD_PREFIX + 'abc')).write_bytes(b'half')
    (scene.folder / os.fsdecode(b'bad-\xff')).write_bytes(b'x')
    folder = scene.resource('/input/job/')
    assert isinstance(folder, ConfinedFolder)
    members = folder.get_member_list()
    assert [m.name for m in members] == ['data.txt', 'sub']
    assert [m.is_collection for m in members] == [False, True]
    assert scene.resource('/input/job/fifo') is None
    assert folder.get_available_bytes() > 0


def test_a_folder_is_deleted_without_entering_the_links_in_it(scene):
    """Old WsgiDAV deleted a folder member by member, each by its path."""
    (scene.folder / 'sub' / 'link').symlink_to(scene.outside, target_is_directory=True)
    (scene.folder / 'file-link').symlink_to(scene.outside / 'data.txt')
    os.mkfifo(scene.folder / 'sub' / 'fifo')
    (scene.folder / (UPLOAD_PREFIX + 'left')).write_bytes(b'half')
    scene.resource('/input/job').delete()
    assert not scene.folder.exists() and not scene.folder.is_symlink()
    scene.assert_untouched()
