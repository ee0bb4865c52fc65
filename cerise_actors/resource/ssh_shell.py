"""A Shell that runs commands on a remote host over SSH.

Each command gets its own channel (channels are never shared between
threads) that is always closed. stdout and stderr are drained together
while waiting, so a chatty command cannot block on a full buffer, and only
then is the exit status read. A command may be run again after a dropped
connection only if the caller says that is harmless (`retry_safe`): a job
submission whose reply was lost must not start a second copy.
"""

import select
import shlex
import time
from typing import Mapping, Optional, Tuple

import paramiko

from ..defaults import SHELL_TIMEOUT, SSH_CHUNK
from ..errors import TemporaryResourceError
from .shell import BASH_FROM_STDIN, Shell, ShellResult
from .ssh_connection import SshConnection


class SshShell(Shell):
    def __init__(self, connection: SshConnection):
        self._connection = connection

    def run(
        self,
        command: str,
        timeout: float = SHELL_TIMEOUT,
        env: Optional[Mapping[str, str]] = None,
        retry_safe: bool = True,
    ) -> ShellResult:
        if env:
            exports = ' '.join(f'{key}={shlex.quote(value)}' for key, value in env.items())
            command = f'export {exports}\n{command}'
        try:
            return self._run_once(command, timeout)
        except TemporaryResourceError:
            if not retry_safe:
                raise
            self._connection.drop()
            return self._run_once(command, timeout)

    def _run_once(self, command: str, timeout: float) -> ShellResult:
        channel = self._connection.open_session()
        try:
            channel.settimeout(self._connection.timeout)
            # bash, so scripts behave alike whatever the user's login shell
            channel.exec_command(' '.join(shlex.quote(arg) for arg in BASH_FROM_STDIN))
            channel.sendall(command.encode())
            channel.shutdown_write()
            stdout, stderr = self._drain(channel, timeout)
            return ShellResult(
                channel.recv_exit_status(),
                stdout.decode(errors='replace'),
                stderr.decode(errors='replace'),
            )
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self._connection.drop()
            raise TemporaryResourceError(f'{self._connection}: command failed: {exc}') from exc
        finally:
            channel.close()

    def _drain(self, channel: paramiko.Channel, timeout: float) -> Tuple[bytes, bytes]:
        out, err = bytearray(), bytearray()
        transport = channel.get_transport()
        deadline = time.monotonic() + timeout
        while True:
            busy = False
            while channel.recv_ready():
                out += channel.recv(SSH_CHUNK)
                busy = True
            while channel.recv_stderr_ready():
                err += channel.recv_stderr(SSH_CHUNK)
                busy = True
            if (
                channel.exit_status_ready()
                and channel.eof_received
                and not channel.recv_ready()
                and not channel.recv_stderr_ready()
            ):
                return bytes(out), bytes(err)
            if not transport.is_active():
                raise TemporaryResourceError(f'{self._connection}: connection lost')
            if time.monotonic() > deadline:
                raise TemporaryResourceError(
                    f'{self._connection}: command did not finish within {timeout:g} s'
                )
            if not busy:
                select.select([channel], [], [], 0.1)

    def close(self) -> None:
        self._connection.close()
