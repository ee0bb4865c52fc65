"""The Shell interface and its local implementation.

A Shell runs one command line (bash) on the resource and returns exit code,
stdout and stderr, drained together. Every call has a time-out; failures to
run at all become TemporaryResourceError.
"""
import abc
import dataclasses
import subprocess
from typing import Mapping, Optional

from .errors import TemporaryResourceError


@dataclasses.dataclass(frozen=True)
class ShellResult:
    exit_code: int
    stdout: str
    stderr: str


class Shell(abc.ABC):
    """What the service needs to run commands on a compute resource."""

    @abc.abstractmethod
    def run(self, command: str, timeout: float = 60.0,
            env: Optional[Mapping[str, str]] = None) -> ShellResult:
        ...

    def close(self) -> None:
        """Free connections; the default has none."""


class LocalShell(Shell):
    """Runs commands with the service machine's bash."""

    def run(self, command: str, timeout: float = 60.0,
            env: Optional[Mapping[str, str]] = None) -> ShellResult:
        import os
        full_env = None
        if env:
            full_env = dict(os.environ)
            full_env.update(env)
        try:
            proc = subprocess.run(['bash', '-c', command], capture_output=True,
                                  timeout=timeout, env=full_env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise TemporaryResourceError(
                f'command did not finish within {timeout:g} s') from exc
        except OSError as exc:
            raise TemporaryResourceError(f'cannot run bash: {exc}') from exc
        return ShellResult(proc.returncode, proc.stdout.decode(errors='replace'),
                           proc.stderr.decode(errors='replace'))
