"""The exit codes of the client commands, and how they print a failure.

Kept apart so that every command module uses the same codes (documented in
cli_commands.py and docs/cli.md).
"""

import sys

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CANCELLED = 3
EXIT_SERVICE = 4
EXIT_TIMEOUT = 5
EXIT_INTERRUPTED = 130

STATE_EXIT = {
    'Success': EXIT_OK,
    'Cancelled': EXIT_CANCELLED,
    'PermanentFailure': EXIT_FAILED,
    'TemporaryFailure': EXIT_FAILED,
    'SystemError': EXIT_FAILED,
}


def fail(message: str, code: int) -> int:
    """Print `cerise-actors: message` on stderr; returns `code`."""
    print(f'cerise-actors: {message}', file=sys.stderr)
    return code
