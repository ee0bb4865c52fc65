"""SftpFileSystem's batched calls against the test bed's real sshd (issue 21, item 3).

A job's folders and small files go in three round trips, its small outputs
are read in three, trees are listed and removed a level at a time; each
keeps the rules of the one-request-at-a-time code: `.part` then rename, a
file of the same size kept, no link followed, no FIFO opened, errors named.
Round trips are counted by wrapping paramiko's packet reader, as
benchmarks/round_trip_counter.py does.
"""

import io
import shlex
import stat
import uuid

import pytest
from paramiko.sftp import BaseSFTP

from cerise_actors.errors import PermanentResourceError, SourceUnavailable
from cerise_actors.resource.filesystem import ConfinedPath, NotFollowed, SmallFile

pytestmark = pytest.mark.remote  # needs the test bed (testbed/testbed.sh)


class Remote:
    """A folder of the test user's, the SftpFileSystem the service would use, and ssh."""

    def __init__(self, testbed):
        from cerise_actors.app.resources import build_resource

        self.bed = testbed
        self.base = f'/home/{testbed.user_for("none")}/.cerise-tests/batch-{uuid.uuid4().hex[:10]}'
        self.resource = build_resource(testbed.api_config('none', self.base))
        self.fs = self.resource.fs

    def sh(self, command: str) -> str:
        return self.bed.ssh('none', command)

    def path(self, rel: str) -> str:
        return f'{self.base}/{rel}'


@pytest.fixture
def remote(testbed):
    made = Remote(testbed)
    made.sh(f'mkdir -p {made.base}')
    yield made
    try:
        made.sh(f'chmod -R u+rwx {made.base}; rm -rf {made.base}')
    finally:
        made.resource.close()


@pytest.fixture
def round_trips(monkeypatch):
    """Counts the times a client waits for answers after sending requests."""
    count = {'waits': 0}
    read_packet = BaseSFTP._read_packet
    async_request = __import__('paramiko').SFTPClient._async_request

    def sent(self, *args):
        self._test_sent = True
        return async_request(self, *args)

    def read(self):
        if getattr(self, '_test_sent', False):
            self._test_sent = False
            count['waits'] += 1
        return read_packet(self)

    monkeypatch.setattr('paramiko.SFTPClient._async_request', sent)
    monkeypatch.setattr(BaseSFTP, '_read_packet', read)
    return count


def _listing(remote, rel=''):
    """`find` on the resource: relative path -> type letter (f, d, l, p)."""
    out = remote.sh(f'cd {shlex.quote(remote.path(rel))} && find . -mindepth 1 -printf "%P %y\\n"')
    return dict(line.rsplit(' ', 1) for line in out.splitlines())


def test_a_jobs_folders_and_small_files_go_in_three_round_trips(remote, round_trips):
    remote.fs.write_bytes(remote.path('warm-up'), b'')  # the SFTP session is opened first
    round_trips['waits'] = 0
    folders = [remote.path(f'job/work/input/{n}') for n in range(8)] + [remote.path('job/tmp')]
    files = [SmallFile(f'{folder}/f.txt', b'%d' % n * 40) for n, folder in enumerate(folders[:-1])]
    files.append(SmallFile(remote.path('job/run.sh'), b'#!/bin/bash\n', 0o750))
    sent = remote.fs.put_small_files(folders, files)
    assert round_trips['waits'] == 3
    assert sent == sum(len(f.data) for f in files)
    assert remote.sh(f'cat {remote.path("job/work/input/7/f.txt")}') == '7' * 40
    assert remote.sh(f'stat -c %a {remote.path("job/run.sh")}').strip() == '750'
    found = _listing(remote, 'job')
    assert found['tmp'] == 'd' and not [name for name in found if name.endswith('.part')]


def test_many_files_go_a_window_at_a_time(remote):
    folders = [remote.path(f'many/{n // 50}') for n in range(300)]
    files = [SmallFile(f'{folder}/{n}', b'x' * n) for n, folder in enumerate(folders)]
    assert remote.fs.put_small_files(folders, files) == sum(range(300))
    sizes = remote.sh(f'cd {remote.path("many")} && find . -type f -printf "%s\\n" | sort -n')
    assert [int(size) for size in sizes.split()] == list(range(300))
    ahead = remote.fs.read_small_files(
        [ConfinedPath(remote.base, f'many/{n // 50}/{n}') for n in range(300)], 4096
    )
    assert sorted(len(data) for data in ahead.values()) == list(range(300))


def test_an_input_of_the_same_size_is_kept_and_others_are_replaced(remote):
    remote.sh(f'mkdir -p {remote.path("w")} && printf old > {remote.path("w/same")}')
    remote.sh(f'printf older > {remote.path("w/other")}')
    files = [
        SmallFile(remote.path('w/same'), b'new', keep_same_size=True),
        SmallFile(remote.path('w/other'), b'new', keep_same_size=True),
        SmallFile(remote.path('w/always'), b'new'),
    ]
    assert remote.fs.put_small_files([remote.path('w')], files) == 6
    assert remote.sh(f'cat {remote.path("w/same")} {remote.path("w/other")}') == 'oldnew'
    assert sorted(_listing(remote, 'w')) == ['always', 'other', 'same']


def test_a_file_where_a_folder_belongs_is_named(remote):
    remote.sh(f'printf x > {remote.path("blocker")}')
    with pytest.raises(PermanentResourceError, match=r'/blocker exists and is not a folder'):
        remote.fs.put_small_files([remote.path('blocker/sub')], [])
    with pytest.raises(PermanentResourceError, match=r'/blocker exists and is not a folder'):
        remote.fs.mkdir(remote.path('blocker/sub/deeper'))


def test_a_folder_that_cannot_be_made_is_refused_the_careful_way(remote):
    remote.sh(f'mkdir -p {remote.path("locked")} && chmod 500 {remote.path("locked")}')
    target = remote.path('locked/job/a.txt')
    with pytest.raises(
        PermanentResourceError, match=r'cannot create folder .*/locked/job: Permission'
    ):
        remote.fs.put_small_files([remote.path('locked/job')], [SmallFile(target, b'a')])
    assert _listing(remote, 'locked') == {}


def test_small_outputs_are_read_in_three_round_trips_and_odd_ones_left_out(remote, round_trips):
    work = remote.path('job/work')
    remote.sh(
        f'mkdir -p {work}/sub /tmp/cerise-batch-outside && cd {work} && printf plain > a.txt '
        f'&& printf deep > sub/b.txt && : > empty && head -c 5000 /dev/zero > big '
        f'&& ln -s /etc/passwd link && ln -s /etc linked && mkfifo pipe'
    )
    names = ['a.txt', 'sub/b.txt', 'empty', 'big', 'link', 'linked/passwd', 'pipe', 'missing']
    paths = [ConfinedPath(work, name) for name in names]
    remote.fs.size(remote.path('job'))  # the SFTP session is opened first
    round_trips['waits'] = 0
    found = remote.fs.read_small_files(paths, 4096)
    assert round_trips['waits'] == 3
    assert found == {paths[0]: b'plain', paths[1]: b'deep', paths[2]: b''}
    # what was left out says why when read the ordinary way
    with pytest.raises(NotFollowed, match='link is a symbolic link'):
        remote.fs.read_bytes(paths[4])
    with pytest.raises(NotFollowed, match='pipe is not a regular file'):
        remote.fs.read_bytes(paths[6])


def test_a_confined_read_checks_its_way_and_reads_from_where_it_seeks(remote):
    work = remote.path('job/work')
    remote.sh(f'mkdir -p {work}/d && seq 1 20000 > {work}/d/log && ln -s {work}/d {work}/l')
    with remote.fs.open_read(ConfinedPath(work, 'd/log')) as stream:
        size = remote.fs.size(f'{work}/d/log')
        stream.seek(size - 12)
        assert stream.read() == b'19999\n20000\n'
    with pytest.raises(NotFollowed, match='l is a symbolic link'):
        with remote.fs.open_read(ConfinedPath(work, 'l/log')):
            pass


def test_a_walk_lists_what_find_lists_and_never_enters_a_link(remote):
    tree = remote.path('tree')
    remote.sh(
        f'mkdir -p {tree}/many {tree}/a/b/c && cd {tree} && for i in $(seq 250); do '
        f': > many/f$i; done && : > a/b/c/deep && ln -s /etc a/etc && ln -s /etc/passwd a/pw'
    )
    walked = list(remote.fs.walk(ConfinedPath(tree, '')))
    kinds = {
        rel: 'd' if is_dir else ('l' if stat.S_ISLNK(mode) else 'f') for rel, is_dir, mode in walked
    }
    assert kinds == _listing(remote, 'tree')
    assert len(walked) == 250 + 7
    parents_first = [rel for rel, _, _ in walked]
    assert parents_first.index('a') < parents_first.index('a/b') < parents_first.index('a/b/c/deep')
    with pytest.raises(NotFollowed, match='a/etc is a symbolic link'):
        list(remote.fs.walk(ConfinedPath(tree, 'a/etc')))


def test_a_tree_is_removed_without_following_its_links(remote):
    outside = remote.path('outside')
    tree = remote.path('tree')
    remote.sh(
        f'mkdir -p {outside} {tree}/x/y && printf keep > {outside}/kept && cd {tree} && '
        f'for i in $(seq 150); do : > x/f$i; done && ln -s {outside} x/y/out && '
        f'ln -s {outside}/kept link'
    )
    remote.fs.remove(tree)
    assert _listing(remote) == {'outside': 'd', 'outside/kept': 'f'}
    remote.fs.remove(tree)  # gone already: fine
    remote.fs.remove(f'{outside}/kept')
    assert _listing(remote) == {'outside': 'd'}


def test_a_large_stream_is_written_whole_and_a_failing_one_leaves_nothing(remote):
    data = bytes(range(256)) * 12000  # 3 MiB: many windows of writes
    assert remote.fs.put_stream(io.BytesIO(data), remote.path('big'), 0o640) == len(data)
    assert (
        remote.sh(f'md5sum < {remote.path("big")}').split()[0]
        == __import__('hashlib').md5(data).hexdigest()
    )
    assert remote.sh(f'stat -c %a {remote.path("big")}').strip() == '640'

    class Failing(io.BytesIO):
        def read(self, n=-1):
            if self.tell() >= 2 << 20:
                raise SourceUnavailable('the source went away')
            return super().read(n)

    with pytest.raises(SourceUnavailable):
        remote.fs.put_stream(Failing(data), remote.path('broken'))
    assert 'broken' not in _listing(remote) and 'broken.part' not in _listing(remote)


def test_the_connection_sends_each_message_at_once(remote):
    """Nagle's algorithm would hold a small SSH message back until the other
    side's delayed ACK (40 ms): a short command took 97 ms here, 5 ms without."""
    import socket

    transport = remote.resource.shell._connection.transport()
    assert transport.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
