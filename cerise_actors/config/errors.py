"""The single exception type raised for any problem with a configuration.

Configuration mistakes are made by people editing YAML by hand, often inside a
Docker image they cannot easily debug, so every error says *where* the problem
is: the file (or ``'<dict>'`` when the data did not come from a file) and the
dotted key path inside it, followed by what is wrong and what was expected.
"""
from typing import Optional


class ConfigError(Exception):
    """A configuration value is missing, malformed or not supported.

    ``str(error)`` reads ``"<source>: <key path>: <problem>"``, e.g.
    ``"conf/config.yml: database.file: missing (the SQLite file of the job
    store)"``. When the problem is not tied to a key (a YAML syntax error, an
    unreadable file) the key part is replaced by a location such as
    ``"line 3, column 7"`` or left out.

    The parts are kept as attributes so callers and tests can inspect them
    without parsing the message, and they are passed to ``Exception`` as args
    so the error survives pickling (e.g. across process boundaries).
    """

    def __init__(self, source: str, key: Optional[str], problem: str) -> None:
        super().__init__(source, key, problem)
        self.source = source
        self.key = key
        self.problem = problem

    def __str__(self) -> str:
        if self.key:
            return '{}: {}: {}'.format(self.source, self.key, self.problem)
        return '{}: {}'.format(self.source, self.problem)
