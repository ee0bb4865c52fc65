"""The part of paramiko's session Channel that the long-lived helpers use.

The completion watcher and the remote warm runner each keep one command
running on the resource over a channel of their own; both read its output
through select() and close it. This Protocol names what they share, so each
adds only what it uses besides (tests pass fakes rather than paramiko's
Channel).
"""

from typing import Optional, Protocol


class SessionChannel(Protocol):
    """A session channel running one command: paramiko's Channel has it all."""

    def settimeout(self, timeout: Optional[float], /) -> None: ...

    def exec_command(self, command: str, /) -> None: ...

    def fileno(self) -> int: ...

    def recv(self, nbytes: int, /) -> bytes: ...

    def recv_stderr_ready(self) -> bool: ...

    def recv_stderr(self, nbytes: int, /) -> bytes: ...

    def close(self) -> None: ...
