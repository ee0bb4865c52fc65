"""The warm runner: a long-lived process with cwltool loaded, from which jobs are forked.

    python -m cerise_actors.runner.warm_server --socket PATH [--steps DIR]... [--idle-exit S]

A cold runner spends most of a short job starting: importing cwltool (about
0.2-0.3 s) and loading the CWL schemas with schema-salad (about 0.3 s per
CWL version; cwltool.main.main throws the cache away at every call). This
process pays that once. It imports the runner and cwltool, loads the
standard CWL schemas and keeps them (schemas.py: cwltool's `setup_schema`
is replaced by one that keeps an unchanged standard schema),
validates every installed step under the `--steps` folders against them,
and then serves jobs: for each connection on the unix socket it forks a
supervisor, which forks the job (warm_job.py). A job therefore starts in
milliseconds with all of that in place, and anything it changes stays in its
own copy.

The service owns this process (resource/warm.py on its side): it starts it
with a pipe as stdin and a 0700 folder for the socket, and the server ends
when that pipe closes, so a stopped or killed service leaves no server
behind; jobs already forked are supervised in sessions of their own and run
on. The socket is bound under a temporary name and renamed into place only
once everything is loaded, so a client reaches either a ready server or no
socket, and then runs cold. Only processes of this server's own user are
served (SO_PEERCRED), on top of the folder's permissions. A server whose
socket name no longer leads to its socket (a newer server took it, or it was
removed) leaves within a second: over SSH, a connection that died unnoticed
leaves its server behind until sshd notices, and it would otherwise keep its
memory while the new server serves.

Installed steps are read by each job from disk, so a reinstall is never
served stale. The server notices a reinstall (the projects' version files
changed) at the next connection and validates the steps again, in a forked
process so that no job waits for it.

With `--idle-exit S` (0, the default: never) the server leaves once no job
has been handed to it for S seconds: it takes its socket away first, starts
the jobs already waiting in its backlog, prints `idle` on stdout and exits
with 0, so that its owner can tell this from a crash and start it again when
the next job comes (resource/warm.py). Jobs it started run on; a job that
finds no socket runs cold.

This package imports nothing of cerise_actors outside cerise_actors.runner.
"""

import argparse
import importlib
import os
import select
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Callable, List, Sequence, Tuple

from . import warm_job
from .schemas import keep_standard_schemas, load_cache, load_schemas, save_cache

#: preloaded at start; the dev versions are loaded by the first job that asks
PRELOADED_VERSIONS = ('v1.0', 'v1.1', 'v1.2')
#: what the server prints on stdout once the socket is in place
READY = 'ready'
#: what it prints before it leaves, unused for --idle-exit seconds
IDLE = 'idle'
_PEERCRED = struct.Struct('3i')


def step_files(folders: Sequence[str]) -> List[Path]:
    """The .cwl files under the folders, but for hidden folders: the runner deployed
    under the API folder (`.cerise-runner`) holds packages' own test documents."""
    return sorted(
        p
        for folder in folders
        for p in Path(folder).rglob('*.cwl')
        if p.is_file() and not any(part.startswith('.') for part in p.relative_to(folder).parts)
    )


def validate_steps(folders: Sequence[str]) -> Tuple[int, List[str]]:
    """Load and validate every installed step once: (steps, problems)."""
    import logging

    from cwltool.context import LoadingContext
    from cwltool.load_tool import fetch_document, resolve_and_validate_document
    from cwltool.loghandler import _logger

    problems = []
    files = step_files(folders)
    level = _logger.level
    _logger.setLevel(logging.WARNING)  # not a line per step in the server's log
    try:
        for path in files:
            try:
                context, document, uri = fetch_document(str(path), LoadingContext())
                resolve_and_validate_document(context, document, uri)
            except Exception as exc:  # reported; a job using it fails as it would cold
                problems.append(f'{path}: {str(exc).splitlines()[0] if str(exc) else exc!r}')
    finally:
        _logger.setLevel(level)
    return len(files), problems


def steps_fingerprint(folders: Sequence[str]) -> tuple:
    """What changes when a project is (re)installed: its version file, written last."""
    marks = []
    for folder in folders:
        for version in sorted(Path(folder).glob('*/version')):
            try:
                stat = version.stat()
            except OSError:
                continue
            marks.append((str(version), stat.st_mtime_ns, stat.st_size, stat.st_ino))
    return tuple(marks)


def load_entry(spec: str) -> Callable[[List[str]], int]:
    """`module:function`, the function each job runs with its arguments."""
    module, _, function = spec.partition(':')
    return getattr(importlib.import_module(module), function)


def bind(path: str) -> Tuple[socket.socket, int]:
    """A listening socket at `path`, put there atomically; (socket, its inode).

    The server works in the socket's folder and binds a name relative to it,
    so a path longer than a socket address holds works too."""
    os.chdir(os.path.dirname(os.path.abspath(path)))
    path = os.path.basename(path)
    temporary = f'{path}.{os.getpid()}'
    try:
        os.unlink(temporary)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        listener.bind(temporary)
    finally:
        os.umask(old)
    listener.listen(128)
    inode = os.stat(temporary).st_ino
    os.replace(temporary, path)
    return listener, inode


def same_user(conn: socket.socket) -> bool:
    _, uid, _ = _PEERCRED.unpack(
        conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
    )
    return uid == os.getuid()


class WarmServer:
    """Preloads once, then forks a supervisor per connection until the service goes."""

    def __init__(
        self,
        path: str,
        steps: Sequence[str],
        entry: Callable[[List[str]], int],
        idle_exit: float = 0.0,
    ):
        self.path = path
        self.steps = list(steps)
        self.entry = entry
        self.idle_exit = idle_exit  # seconds without a job before leaving; 0: never
        self.fingerprint = steps_fingerprint(self.steps)

    def log(self, text: str) -> None:
        print(
            f'{time.strftime("%Y-%m-%d %H:%M:%S")} warm runner {os.getpid()}: {text}',
            file=sys.stderr,
            flush=True,
        )

    def preload(self) -> None:
        started = time.monotonic()
        keep_standard_schemas()
        cached = load_cache()
        load_schemas(PRELOADED_VERSIONS)
        save_cache(cached)
        self.validate()
        seconds = time.monotonic() - started
        self.log(f'loaded the CWL schemas and validated the steps in {seconds:.2f} s')

    def validate(self) -> None:
        count, problems = validate_steps(self.steps)
        self.log(f'validated {count} installed step(s)')
        for problem in problems:
            self.log(f'installed step not valid: {problem}')

    def serve(self) -> None:
        self.path = os.path.abspath(self.path)
        listener, inode = bind(self.path)
        print(READY, flush=True)
        try:
            if self._loop(listener, inode):
                print(IDLE, flush=True)
        finally:
            listener.close()
            _unlink_own(self.path, inode)

    def _loop(self, listener: socket.socket, inode: int) -> bool:
        """Serve until the service goes (False) or, with idle_exit, until no
        job came for that long (True)."""
        control = sys.stdin.fileno()
        last_job = time.monotonic()
        while True:
            ready = select.select([listener, control], [], [], 1.0)[0]
            _reap()
            if control in ready and not os.read(control, 4096):
                return False  # the service has gone: stop serving; jobs run on
            if listener in ready:
                self._take(listener)
                last_job = time.monotonic()
            elif not ready and not _still_ours(self.path, inode):
                # a newer server took the name (ours was left behind by a connection
                # that died unnoticed), or the socket was removed: no job can reach
                # this one; its keeper, if it still has one, starts a new server
                self.log("the socket is no longer this server's; leaving")
                return False
            elif self.idle_exit and time.monotonic() - last_job >= self.idle_exit:
                self.log(f'no job for {self.idle_exit:g} s; leaving until the next one')
                _unlink_own(self.path, inode)  # new jobs run cold from now on
                listener.setblocking(False)
                while self._take(listener):  # those that connected meanwhile
                    pass
                return True

    def _take(self, listener: socket.socket) -> bool:
        """Accept one connection and start its job; whether there was one."""
        try:
            conn, _ = listener.accept()
        except OSError:
            return False
        with conn:
            conn.setblocking(True)
            try:
                if same_user(conn):
                    self._start(conn, listener)
            except OSError as exc:  # that client runs cold; the server goes on
                self.log(f'could not take a job: {exc}')
        return True

    def _start(self, conn: socket.socket, listener: socket.socket) -> None:
        now = steps_fingerprint(self.steps)
        if now != self.fingerprint:
            self.fingerprint = now
            self._validate_aside(listener)
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as exc:
            self.log(f'cannot fork a job: {exc}')
            return  # the client runs cold
        if pid == 0:
            code = 1
            try:
                listener.close()
                _detach_from_service()
                code = warm_job.supervise(conn, self.entry)
            finally:
                os._exit(code)

    def _validate_aside(self, listener: socket.socket) -> None:
        """Validate reinstalled steps in a forked process, so that no job waits
        for it (jobs read the steps from disk themselves)."""
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError:
            return
        if pid == 0:
            try:
                listener.close()
                _detach_from_service()
                self.log('the installed steps changed; validating them again')
                self.validate()
            finally:
                os._exit(0)


def _still_ours(path: str, inode: int) -> bool:
    """Whether the socket's name still leads to this server's socket (the
    name is relative: bind() went to its folder). Only a name that is gone or
    leads elsewhere says no: a passing error (ESTALE or EIO on an NFS home
    folder, say) keeps a working server serving."""
    try:
        return os.stat(os.path.basename(path)).st_ino == inode
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True


def _unlink_own(path: str, inode: int) -> None:
    """Remove the socket, unless a newer server has put its own there. Should a
    newer one rename its socket into place between the check and the unlink,
    that one finds its socket gone within a second and leaves (`_loop`), and
    its keeper starts another."""
    name = os.path.basename(path)
    try:
        if os.stat(name).st_ino == inode:  # unsure (any error): leave the name alone
            os.unlink(name)
    except OSError:
        pass


def _detach_from_service() -> None:
    """In a supervisor: let go of the service's pipes (the control pipe, and
    stdout, which the service reads until the server ends); stderr stays the log."""
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)


def _reap() -> None:
    """Wait for supervisors that have ended."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--socket', required=True)
    parser.add_argument('--steps', action='append', default=[])
    parser.add_argument('--entry', default='cerise_actors.runner.main:main')
    parser.add_argument(
        '--idle-exit',
        type=float,
        default=0.0,
        metavar='SECONDS',
        help='leave once no job came for this long (prints "idle"); 0: never (default)',
    )
    args = parser.parse_args(argv)
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    server = WarmServer(args.socket, args.steps, load_entry(args.entry), args.idle_exit)
    server.preload()
    server.serve()
    return 0


if __name__ == '__main__':
    sys.exit(main())
