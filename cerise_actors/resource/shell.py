"""The Shell interface and its local implementation.

A Shell runs one command line (bash) on the resource and returns exit code,
stdout and stderr, drained together. Every call has a time-out; failures to
run at all become TemporaryResourceError.
"""

import abc
import dataclasses
import os
import subprocess
from typing import Dict, Mapping, Optional

from ..defaults import SHELL_TIMEOUT
from ..errors import TemporaryResourceError


@dataclasses.dataclass(frozen=True)
class ShellResult:
    exit_code: int
    stdout: str
    stderr: str


class Shell(abc.ABC):
    """What the service needs to run commands on a compute resource."""

    @abc.abstractmethod
    def run(
        self,
        command: str,
        timeout: float = SHELL_TIMEOUT,
        env: Optional[Mapping[str, str]] = None,
        retry_safe: bool = True,
    ) -> ShellResult:
        """Run `command` with bash; `retry_safe` allows running it again after a
        dropped connection (false for commands that must not run twice)."""

    def close(self) -> None:  # noqa: B027 (a default, not an abstract method)
        """Free connections; the default has none."""


_SECRET_SUFFIXES = ('PASSWORD', 'PASSPHRASE', 'CERTFILE')

#: bash reads the whole script from stdin, then runs it with stdin closed. A
#: script as an argument is limited to 128 KiB (a poll of a thousand jobs is
#: larger), and a script read line by line from stdin could be eaten by a
#: command in it that reads stdin.
BASH_FROM_STDIN = ['bash', '-c', 'script=$(cat); exec </dev/null; eval "$script"']


def scrubbed_environment() -> Dict[str, str]:
    """The service's environment without the CERISE_* credentials.

    Jobs and install scripts inherit the environment of the shell that
    starts them; they must not see the passwords the service was given.
    """
    return {
        key: value
        for key, value in os.environ.items()
        if not (key.startswith('CERISE_') and key.endswith(_SECRET_SUFFIXES))
    }


class LocalShell(Shell):
    """Runs commands with the service machine's bash."""

    def run(
        self,
        command: str,
        timeout: float = SHELL_TIMEOUT,
        env: Optional[Mapping[str, str]] = None,
        retry_safe: bool = True,
    ) -> ShellResult:
        full_env = scrubbed_environment()
        full_env.update(env or {})
        try:
            proc = subprocess.run(
                BASH_FROM_STDIN,
                input=command.encode(),
                capture_output=True,
                timeout=timeout,
                env=full_env,
            )
        except subprocess.TimeoutExpired as exc:
            raise TemporaryResourceError(f'command did not finish within {timeout:g} s') from exc
        except OSError as exc:
            raise TemporaryResourceError(f'cannot run bash: {exc}') from exc
        return ShellResult(
            proc.returncode,
            proc.stdout.decode(errors='replace'),
            proc.stderr.decode(errors='replace'),
        )
