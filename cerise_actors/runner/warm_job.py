"""One job of the warm runner: a supervisor process, and the job forked from it.

The warm server forks a *supervisor* per connection and goes back to
accepting. The supervisor starts a session of its own (so nothing sent to
the server's process group reaches it, and the server's death does not end
it), reads the client's request and descriptors, and forks the *job*:

- the job starts a session of its own as well, so its process group holds
  exactly the runner and what it starts, and can be killed whole;
- it asks the kernel for SIGKILL when the supervisor dies
  (PR_SET_PDEATHSIG), so a lost supervisor cannot leave it running
  unsupervised;
- it takes the client's stdin, stdout and stderr, working directory,
  environment, umask and resource limits, closes every other inherited
  descriptor (the server's socket and control pipe among them, so a job
  cannot reach the server or another job), and runs the runner's entry
  point with the job's arguments, then ends with its exit code.

Everything the runner does to its process (the environment, the working
directory, cwltool's module-level caches, the JavaScript engine, loggers)
happens in that copy of the warm process and ends with it: the next job
forks from the unchanged server.

The supervisor relays: a signal the client forwards goes to the job's
process group; the client's disconnection (it was killed) kills the job's
group; the job's end kills what it left in its group and is told to the
client as its exit code or signal. The group is signalled only while its
leader is not yet reaped, so its id cannot have been reused.
"""

import atexit
import ctypes
import os
import select
import signal
import socket
import sys
import traceback
from typing import List, Union

from .warm_client import LineReader, receive_request, send_line

#: seconds a client has to send its request after connecting
REQUEST_TIMEOUT = 30.0
#: signals a client may ask to be sent to its job
ALLOWED_SIGNALS = {
    int(s)
    for s in (
        signal.SIGTERM,
        signal.SIGINT,
        signal.SIGHUP,
        signal.SIGQUIT,
        signal.SIGUSR1,
        signal.SIGUSR2,
    )
}
_PR_SET_PDEATHSIG = 1
#: sys.argv[0] of a cold runner, which cwltool names in its first log line
RUNNER_MAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), '__main__.py')


def supervise(conn: socket.socket, entry) -> int:
    """Run one client's job with `entry(argv) -> exit code`; the supervisor's exit code."""
    os.setsid()
    conn.settimeout(REQUEST_TIMEOUT)
    try:
        request, fds = receive_request(conn)
        argv = [str(arg) for arg in request['argv']]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _try_send(conn, {'error': f'unreadable request: {exc}'})
        return 1
    if _client_gone(conn):  # it gave up waiting and runs cold: do not run it twice
        return 1
    supervisor = os.getpid()
    try:
        pid = os.fork()
    except OSError as exc:
        _try_send(conn, {'error': f'cannot fork: {exc}'})
        return 1
    if pid == 0:  # the job; never returns
        _run_job(conn, fds, request, argv, entry, supervisor)
    for fd in fds:
        os.close(fd)
    conn.settimeout(None)
    if not _try_send(conn, {'pid': pid}):
        _kill_group(pid, signal.SIGKILL)
    result = _relay(conn, pid)
    _try_send(conn, result)
    return 0


def _client_gone(conn: socket.socket) -> bool:
    """Whether the client has closed the connection. Before it has the job's pid
    it sends nothing more, so anything readable now is the end of it."""
    if not select.select([conn], [], [], 0)[0]:
        return False
    try:
        return conn.recv(1, socket.MSG_PEEK) == b''
    except OSError:
        return True


def _relay(conn: socket.socket, pid: int) -> dict:
    """Forward the client's signals until the job ends; its exit code or signal."""
    reader = LineReader(conn)
    try:
        ended = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfds: look every 50 ms
        ended = None
    client_gone = False
    while True:
        watched: List[Union[int, socket.socket]] = [ended] if ended is not None else []
        if not client_gone:
            watched.append(conn)
        ready = select.select(watched, [], [], None if ended is not None else 0.05)[0]
        if conn in ready:
            try:
                message = reader.read()
            except (OSError, ValueError):
                message = None
            if message is None:  # the client died (a cancel's KILL): the job goes too
                client_gone = True
                _kill_group(pid, signal.SIGKILL)
            elif isinstance(message, dict) and message.get('signal') in ALLOWED_SIGNALS:
                _kill_group(pid, message['signal'])
            while reader.buffer and not client_gone:  # several signals in one read
                message = reader.read()
                if isinstance(message, dict) and message.get('signal') in ALLOWED_SIGNALS:
                    _kill_group(pid, message['signal'])
        if (ended in ready) if ended is not None else _leader_ended(pid):
            if ended is not None:
                os.close(ended)
            status = _reap_leader(pid)
            if os.WIFSIGNALED(status):
                return {'signal': os.WTERMSIG(status)}
            return {'exit': os.waitstatus_to_exitcode(status)}


def _leader_ended(pid: int) -> bool:
    """Whether the job's leader has exited, without reaping it (no pidfds)."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _reap_leader(pid: int) -> int:
    """The job's leader has ended: kill what it left in its group while the
    zombie still reserves the group's id, then reap it; its wait status."""
    _kill_group(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def _kill_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _try_send(conn: socket.socket, message: dict) -> bool:
    try:
        send_line(conn, message)
        return True
    except OSError:
        return False


def _run_job(conn, fds, request, argv, entry, supervisor: int) -> None:
    """In the forked job: become the job's process, run the entry point, exit."""
    code = 1
    try:
        os.setsid()
        _die_with_parent(supervisor)
        for signum in (
            signal.SIGTERM,
            signal.SIGHUP,
            signal.SIGQUIT,
            signal.SIGCHLD,
            signal.SIGUSR1,
            signal.SIGUSR2,
        ):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        conn.detach()
        os.closerange(3, _max_fd())
        _apply_limits(request.get('rlimits') or {})
        os.umask(int(request.get('umask', 0o22)))
        os.chdir(str(request['cwd']))
        env = request.get('env') or {}
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in env.items()})
        import tempfile

        tempfile.tempdir = None  # chosen again from this job's TMPDIR
        sys.argv = [RUNNER_MAIN] + argv  # as a cold `python -m cerise_actors.runner` has it
        code = entry(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code if isinstance(code, int) else 1)


def _die_with_parent(supervisor: int) -> None:
    """SIGKILL for this process when the supervisor dies, even if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != supervisor:
        os._exit(1)


def _apply_limits(limits: dict) -> None:
    """The client's resource limits; one that cannot be set (above ours) is left as is."""
    import resource

    for name, pair in limits.items():
        number = getattr(resource, 'RLIMIT_' + str(name), None)
        if number is None:
            continue
        try:
            resource.setrlimit(number, (int(pair[0]), int(pair[1])))
        except (ValueError, OSError, TypeError, IndexError):
            pass


def _max_fd() -> int:
    try:
        return int(os.sysconf('SC_OPEN_MAX'))
    except (ValueError, OSError):
        return 1024
