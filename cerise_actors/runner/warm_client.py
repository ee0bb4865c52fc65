"""The job script's end of the warm runner: hands the job to it, or runs the runner cold.

    python -I -S warm_client.py --socket PATH --python PYTHON [--module NAME] -- <runner arguments>

A job script runs this where it would run `PYTHON -m NAME <runner
arguments>`: NAME is `cerise_actors.runner` on the service's own machine
(the default) and `cerise_runner` where the service deployed the runner to
a resource reached over SSH (resource/remote_warm.py). It is started without site-packages (`-I -S`, some 15 ms)
and imports only the standard library, because it exists to save start-up
time. It connects to the warm server's unix socket and sends one request,
the job's argv, working directory, environment, umask and resource limits,
with its own stdin, stdout and stderr attached as file descriptors
(SCM_RIGHTS), so the runner forked by the server writes straight into the
job's stdout.txt and stderr.txt. Then it stays, as the job script's stand-in
for the runner:

- a signal the job script's process group receives (a cancel's TERM, the
  time-limit watchdog's TERM) is forwarded to the server, which sends it to
  the job's own process group;
- if this process dies (a cancel's KILL), the server sees the connection
  close and kills the job's process group;
- when the job ends, its exit code becomes this process's (a job killed by
  signal N kills this process with N), so the job script records exactly
  what a cold runner would have given.

If the server cannot be reached (not started yet, restarting after a crash,
switched off), or refuses before it has started anything, this process
replaces itself with the cold runner (exec), so the job runs either way. A
line on stderr says so. The framing helpers are shared with the server.

Its annotations are never evaluated and it does not import `typing`, which
would add some 5 ms to every job's start: `TYPE_CHECKING` below is mypy's.
"""

from __future__ import annotations

import array
import json
import os
import signal
import socket
import struct
import sys

TYPE_CHECKING = False  # mypy reads it as true, whatever it is set to
if TYPE_CHECKING:
    from typing import Any, NoReturn, Sequence

    #: a request or an answer: a JSON object
    Message = dict[str, Any]

#: seconds to connect and hand the job over before running cold instead
CONNECT_TIMEOUT = 5.0
#: seconds to wait for the server's answer (the job's pid) once it has the job; if
#: none comes, closing the connection makes the server kill whatever it started
ANSWER_TIMEOUT = 60.0
#: the cold runner's module, unless --module names another
COLD_MODULE = 'cerise_actors.runner'
#: signals passed on to the job; KILL cannot be caught (the server sees us die)
FORWARDED = (
    signal.SIGTERM,
    signal.SIGINT,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)
#: socket paths at least this long are reached relative to their folder
MAX_ADDRESS = 100
#: the request's length prefix
HEADER = struct.Struct('>I')
#: struct ucred: pid, uid, gid
PEERCRED = struct.Struct('3i')
#: the largest request accepted (the job's environment is most of it)
MAX_REQUEST = 4 * 1024 * 1024
#: exit code when the warm runner lost the job after starting it
LOST_EXIT_CODE = 1
#: the limits handed on to the job (RLIMIT_ names)
LIMITS = ('AS', 'CORE', 'CPU', 'DATA', 'FSIZE', 'NOFILE', 'NPROC', 'STACK', 'MEMLOCK')


def send_request(sock: socket.socket, request: Message, fds: Sequence[int]) -> None:
    """One length-prefixed JSON request, the descriptors attached to its first bytes."""
    data = json.dumps(request).encode('utf-8')
    payload = HEADER.pack(len(data)) + data
    rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', fds))]
    sent = sock.sendmsg([payload], rights)
    sock.sendall(payload[sent:])


def receive_request(sock: socket.socket, max_fds: int = 3) -> tuple[Message, list[int]]:
    """(request, descriptors) as send_request sent them; ValueError if malformed."""
    fds: list[int] = []
    size = array.array('i').itemsize * max_fds
    data, ancillary, _, _ = sock.recvmsg(HEADER.size, socket.CMSG_SPACE(size))
    for level, kind, cdata in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            got = array.array('i')
            got.frombytes(cdata[: len(cdata) - len(cdata) % got.itemsize])
            fds.extend(got)
    try:
        while len(data) < HEADER.size:
            chunk = sock.recv(HEADER.size - len(data))
            if not chunk:
                raise ValueError('the request ended early')
            data += chunk
        (length,) = HEADER.unpack(data)
        if length > MAX_REQUEST:
            raise ValueError(f'a request of {length} bytes')
        body = bytearray()
        while len(body) < length:
            chunk = sock.recv(min(1 << 16, length - len(body)))
            if not chunk:
                raise ValueError('the request ended early')
            body += chunk
        request = json.loads(bytes(body))
        if len(fds) != max_fds or not isinstance(request, dict):
            raise ValueError('a request without its descriptors')
        return request, fds
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def send_line(sock: socket.socket, message: Message) -> None:
    sock.sendall(json.dumps(message).encode('utf-8') + b'\n')


class LineReader:
    """JSON lines from a socket; None at the end of the connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b''

    def read(self) -> Any:
        """The next line's JSON value (a Message, if the other end keeps to the protocol)."""
        while b'\n' not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b'\n')
        return json.loads(line)


def job_request(runner_args: Sequence[str]) -> Message:
    """What the server needs to run the job as this process would."""
    import resource

    limits: dict[str, list[int]] = {}
    for name in LIMITS:
        number = getattr(resource, 'RLIMIT_' + name, None)
        if number is not None:
            limits[name] = list(resource.getrlimit(number))
    umask = os.umask(0o22)
    os.umask(umask)
    return {
        'argv': list(runner_args),
        'cwd': os.getcwd(),
        'env': dict(os.environ),
        'umask': umask,
        'rlimits': limits,
    }


def run_cold(
    python: str, runner_args: Sequence[str], reason: str | None, module: str = COLD_MODULE
) -> NoReturn:
    """Replace this process by the cold runner, `python -m module runner_args...`."""
    print(
        f'cerise-runner: the warm runner is not available ({reason}); starting cold',
        file=sys.stderr,
        flush=True,
    )
    argv = [python, '-m', module] + list(runner_args)
    os.execv(python, argv)


def connect(sock: socket.socket, path: str) -> None:
    """Connect to a unix socket, through its folder when the path is longer than
    a socket address holds (108 bytes)."""
    if len(os.fsencode(path)) < MAX_ADDRESS:
        sock.connect(path)
        return
    here = os.open('.', os.O_RDONLY)
    try:
        os.chdir(os.path.dirname(path))
        sock.connect(os.path.basename(path))
    finally:
        os.fchdir(here)
        os.close(here)


def served_by_me(sock: socket.socket) -> bool:
    """Whether the process at the other end runs as this user (SO_PEERCRED), on
    top of the socket folder's permissions: a folder another user made first
    must not receive a job's environment and file descriptors."""
    _, uid, _ = PEERCRED.unpack(
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, PEERCRED.size)
    )
    return uid == os.getuid()


def hand_over(
    path: str, runner_args: Sequence[str]
) -> tuple[socket.socket, LineReader, None] | tuple[None, None, str]:
    """The connected socket once the server has started the job, or the reason it did not."""
    request = job_request(runner_args)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(CONNECT_TIMEOUT)
    try:
        connect(sock, path)
        if not served_by_me(sock):  # never hand a job's descriptors to another user
            sock.close()
            return None, None, 'refused: the socket is served by another user'
        send_request(sock, request, [0, 1, 2])
        sock.settimeout(ANSWER_TIMEOUT)
        reader = LineReader(sock)
        first = reader.read()
    except (OSError, ValueError) as exc:
        sock.close()
        return None, None, f'{type(exc).__name__}: {exc}'
    if not isinstance(first, dict) or 'pid' not in first:
        sock.close()
        reason = first.get('error') if isinstance(first, dict) else 'no answer'
        return None, None, f'refused: {reason}'
    sock.settimeout(None)
    return sock, reader, None


def follow(sock: socket.socket, reader: LineReader) -> int:
    """Forward signals until the job ends; this process's exit code is the job's."""

    def forward(signum: int, frame: object) -> None:
        try:
            send_line(sock, {'signal': signum})
        except OSError:
            pass

    for forwarded in FORWARDED:
        signal.signal(forwarded, forward)
    try:
        result = reader.read()
    except (OSError, ValueError):
        result = None
    if isinstance(result, dict) and 'signal' in result:
        signum = int(result['signal'])
        try:
            signal.signal(signum, signal.SIG_DFL)
        except (OSError, ValueError):  # KILL and STOP keep their default anyway
            pass
        os.kill(os.getpid(), signum)
        return 128 + signum
    if isinstance(result, dict) and 'exit' in result:
        return int(result['exit'])
    print(
        'cerise-runner: the warm runner lost this job (its process ended unexpectedly)',
        file=sys.stderr,
        flush=True,
    )
    return LOST_EXIT_CODE


def main(argv: list[str]) -> int:
    try:
        split = argv.index('--')
        options, runner_args = argv[:split], argv[split + 1 :]
        path = options[options.index('--socket') + 1]
        python = options[options.index('--python') + 1]
        module = options[options.index('--module') + 1] if '--module' in options else COLD_MODULE
    except (ValueError, IndexError):
        print(
            'usage: warm_client.py --socket PATH --python PYTHON [--module NAME] -- ARGS...',
            file=sys.stderr,
        )
        return 2
    sock, reader, problem = hand_over(path, runner_args)
    if sock is None or reader is None:  # both, or neither
        run_cold(python, runner_args, problem, module)
    return follow(sock, reader)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
