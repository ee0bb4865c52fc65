"""SftpFileSystem's batched calls against a stand-in SFTP server that is not
OpenSSH's: paramiko's own SFTPServer, in this process over a socket pair,
serving a temporary folder (issue 21 follow-ups).

The SFTP protocol leaves things to the server that OpenSSH's sftp-server
happens to do one way: the attributes of a folder listing may be stat's
(following links) rather than lstat's, a SETSTAT may be refused, and an
answer's attributes may leave the mode or the size out. The stand-in can be
told to do each, so the batched code is shown not to rely on OpenSSH's way:
no link is followed, a refused mode leaves no file under its final name,
and an odd answer is a resource error that gives the client back. Round
trips are counted as in tests/remote/test_sftp_batch.py.
"""

import os
import socket
import stat
import threading

import paramiko
import pytest
from paramiko.sftp import BaseSFTP

from cerise_actors.errors import PermanentResourceError, TemporaryResourceError
from cerise_actors.resource.filesystem import ConfinedPath, SmallFile
from cerise_actors.resource.sftp_filesystem import SftpFileSystem


class Rules:
    """How the stand-in departs from OpenSSH's sftp-server."""

    def __init__(self):
        self.listing_follows_links = False  # a folder's entries get stat's attributes
        self.refuse_chmod = ()  # paths (or their .part) whose SETSTAT is refused
        self.without_mode = False  # STAT and LSTAT answers leave out the mode
        self.without_size = False  # and the size


class Interface(paramiko.SFTPServerInterface):
    """paramiko's server interface over the real file system (paths as they
    are: the tests use absolute paths under tmp_path), bent by `Rules`."""

    def __init__(self, server, rules):
        super().__init__(server)
        self.rules = rules

    def _attrs(self, look, path, name=None):
        try:
            attrs = paramiko.SFTPAttributes.from_stat(look(path), name)
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        if self.rules.without_mode and name is None:
            attrs.st_mode = None
        if self.rules.without_size and name is None:
            attrs.st_size = None
        return attrs

    def stat(self, path):
        return self._attrs(os.stat, path)

    def lstat(self, path):
        return self._attrs(os.lstat, path)

    def list_folder(self, path):
        look = os.stat if self.rules.listing_follows_links else os.lstat
        try:
            names = os.listdir(path)
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        return [self._attrs(look, os.path.join(path, name), name) for name in names]

    def open(self, path, flags, attr):
        try:
            fd = os.open(path, flags, 0o666)
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        handle = Handle(flags)
        mode = 'r+b' if flags & (os.O_WRONLY | os.O_RDWR) else 'rb'
        handle.readfile = handle.writefile = os.fdopen(fd, mode)
        return handle

    def _call(self, function, *args):
        try:
            function(*args)
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        return paramiko.sftp.SFTP_OK

    def remove(self, path):
        return self._call(os.remove, path)

    def rmdir(self, path):
        return self._call(os.rmdir, path)

    def mkdir(self, path, attr):
        return self._call(os.mkdir, path)

    def posix_rename(self, oldpath, newpath):
        return self._call(os.replace, oldpath, newpath)

    def chattr(self, path, attr):
        if path in self.rules.refuse_chmod or path[: -len('.part')] in self.rules.refuse_chmod:
            return paramiko.sftp.SFTP_PERMISSION_DENIED
        if attr.st_mode is None:
            return paramiko.sftp.SFTP_OK
        return self._call(os.chmod, path, stat.S_IMODE(attr.st_mode))


class Handle(paramiko.SFTPHandle):
    def stat(self):
        return paramiko.SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))


class Login(paramiko.ServerInterface):
    def get_allowed_auths(self, username):
        return 'none'

    def check_auth_none(self, username):
        return paramiko.AUTH_SUCCESSFUL

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED


@pytest.fixture(scope='module')
def host_key():
    return paramiko.RSAKey.generate(2048)


class Connection:
    """The SshConnection an SftpFileSystem needs: clients of the stand-in."""

    def __init__(self, host_key, rules):
        ours, theirs = socket.socketpair()
        self.server = paramiko.Transport(theirs)
        self.server.add_server_key(host_key)
        self.server.set_subsystem_handler('sftp', paramiko.SFTPServer, Interface, rules)
        self.server.start_server(threading.Event(), Login())  # the client's start ends its wait
        self.client = paramiko.Transport(ours)
        self.client.start_client(timeout=10)
        self.client.auth_none('tester')
        self.opened = 0

    def open_sftp(self):
        self.opened += 1
        return paramiko.SFTPClient.from_transport(self.client)

    def drop(self):
        pass

    def close(self):
        self.client.close()
        self.server.close()


@pytest.fixture
def rules():
    return Rules()


@pytest.fixture
def connection(host_key, rules):
    made = Connection(host_key, rules)
    yield made
    made.close()


@pytest.fixture
def fs(connection):
    made = SftpFileSystem(connection)
    yield made
    made.close()


@pytest.fixture
def round_trips(monkeypatch):
    """Counts the times a client waits for answers after sending requests."""
    count = {'waits': 0}
    read_packet = BaseSFTP._read_packet
    async_request = paramiko.SFTPClient._async_request

    def sent(self, *args):
        self._test_sent = True
        return async_request(self, *args)

    def read(self):
        if getattr(self, '_test_sent', False):
            self._test_sent = False
            count['waits'] += 1
        return read_packet(self)

    monkeypatch.setattr(paramiko.SFTPClient, '_async_request', sent)
    monkeypatch.setattr(BaseSFTP, '_read_packet', read)
    return count


def _tree(tmp_path):
    """tree/{x/f1..f3, x/y/out -> outside, in -> tree/x, link -> outside/kept},
    outside/kept: links to folders inside and outside the tree."""
    outside, tree = tmp_path / 'outside', tmp_path / 'tree'
    (tree / 'x' / 'y').mkdir(parents=True)
    outside.mkdir()
    (outside / 'kept').write_bytes(b'keep')
    for n in range(3):
        (tree / 'x' / f'f{n}').write_bytes(b'')
    (tree / 'x' / 'y' / 'out').symlink_to(outside)
    (tree / 'in').symlink_to(tree / 'x')
    (tree / 'link').symlink_to(outside / 'kept')
    return tree, outside


@pytest.mark.parametrize('follows', [False, True], ids=['lstat listing', 'stat listing'])
def test_a_tree_is_removed_without_following_a_link_whatever_the_listing_says(
    fs, rules, tmp_path, follows, round_trips
):
    rules.listing_follows_links = follows
    tree, outside = _tree(tmp_path)
    fs.size(str(tmp_path))  # the SFTP session is opened first
    round_trips['waits'] = 0
    try:
        fs.remove(str(tree))
    finally:
        assert sorted(os.listdir(outside)) == ['kept'], 'nothing outside the tree is removed'
    assert not os.path.lexists(tree)
    assert (outside / 'kept').read_bytes() == b'keep'
    # lstat; per level (tree, x, y) an opendir (and the lstats of its folders)
    # and a read of each folder (its end comes with it here); the removals. A
    # listing of stat's adds the level of x/y/out, which is not read
    assert round_trips['waits'] == 1 + 3 * 2 + 1 + follows


def test_a_walk_never_enters_a_link_whatever_the_listing_says(fs, rules, tmp_path):
    rules.listing_follows_links = True
    tree, _ = _tree(tmp_path)
    walked = {rel: (is_dir, stat.S_ISLNK(mode)) for rel, is_dir, mode in fs.walk(str(tree))}
    # a link to a file is listed as the server says (here: as a file); reading
    # it is what is refused (a ConfinedPath's way is lstat'ed)
    assert walked.pop('link') == (False, False)
    assert walked == {
        'in': (False, True),
        'x': (True, False),
        'x/f0': (False, False),
        'x/f1': (False, False),
        'x/f2': (False, False),
        'x/y': (True, False),
        'x/y/out': (False, True),
    }
    assert sorted(rel for rel, _, _ in fs.walk(ConfinedPath(str(tree), 'x'))) == [
        'f0',
        'f1',
        'f2',
        'y',
        'y/out',
    ]


def test_a_refused_mode_leaves_no_file_under_its_final_name(fs, rules, tmp_path, round_trips):
    job = tmp_path / 'job'
    rules.refuse_chmod = (str(job / 'run.sh'),)
    files = [
        SmallFile(str(job / 'a.txt'), b'a'),
        SmallFile(str(job / 'run.sh'), b'#!/bin/bash\n', 0o750),
    ]
    fs.size(str(tmp_path))  # the SFTP session is opened first
    round_trips['waits'] = 0
    with pytest.raises(PermanentResourceError, match='cannot write .*/run.sh'):
        fs.put_small_files([str(job)], files)
    assert round_trips['waits'] <= 3
    assert not (job / 'run.sh').exists()
    rules.refuse_chmod = ()
    round_trips['waits'] = 0
    assert fs.put_small_files([str(job)], files) == 13
    assert round_trips['waits'] == 3
    assert stat.S_IMODE(os.stat(job / 'run.sh').st_mode) == 0o750
    assert sorted(os.listdir(job)) == ['a.txt', 'run.sh']


def test_a_refused_mode_leaves_no_streamed_file_under_its_final_name(fs, rules, tmp_path):
    import io

    target = tmp_path / 'big'
    rules.refuse_chmod = (str(target),)
    with pytest.raises(PermanentResourceError, match='cannot write .*/big'):
        fs.put_stream(io.BytesIO(b'x' * 100000), str(target), 0o640)
    assert not target.exists()
    rules.refuse_chmod = ()
    assert fs.put_stream(io.BytesIO(b'x' * 100000), str(target), 0o640) == 100000
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert not (tmp_path / 'big.part').exists()


def test_attributes_without_a_mode_are_a_resource_error_and_the_client_is_kept(
    fs, rules, connection, tmp_path
):
    (tmp_path / 'f').write_bytes(b'f')
    assert fs.is_dir(str(tmp_path))
    rules.without_mode = True
    for look in (fs.is_dir, fs.size, fs.remove, fs.mkdir):
        with pytest.raises(TemporaryResourceError, match='without a file mode'):
            look(str(tmp_path / 'f'))
    with pytest.raises(TemporaryResourceError, match='without a file mode'):
        fs.read_bytes(ConfinedPath(str(tmp_path), 'f'))
    rules.without_mode = False
    assert fs.size(str(tmp_path / 'f')) == 1
    assert connection.opened == 1, 'the one client was given back each time'


def test_attributes_without_a_size_are_a_resource_error_and_the_client_is_kept(
    fs, rules, connection, tmp_path
):
    (tmp_path / 'f').write_bytes(b'f')
    rules.without_size = True
    with pytest.raises(TemporaryResourceError, match='without a file size'):
        fs.read_small_files([ConfinedPath(str(tmp_path), 'f')], 4096)
    rules.without_size = False
    assert fs.read_small_files([ConfinedPath(str(tmp_path), 'f')], 4096) == {
        ConfinedPath(str(tmp_path), 'f'): b'f'
    }
    assert connection.opened == 1, 'the one client was given back'
