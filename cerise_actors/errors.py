"""Every error the service raises on purpose, in one tree.

Errors are translated where they arise (YAML, paramiko, subprocess, OSError
never leave their layer); above that, code and tests see only these. Each
says whether trying again later may help (`temporary`). What each leads to
(a job's state, waiting for the resource, an HTTP status) is one table,
`jobs/outcomes.py`, looked up along the class's MRO.

    CeriseError                      base of all; `temporary` is False
    ├── ConfigError                  a configuration file or value is wrong
    ├── JobRefused                   what a user submitted cannot be run
    │   ├── InvalidWorkflow          the workflow may not or cannot run
    │   └── InvalidInput             the input object cannot be staged
    ├── InvalidOutput                the runner's output cannot be published safely
    ├── ResourceError                something failed on the compute resource
    │   ├── TemporaryResourceError   temporary: connection lost, time-out, busy
    │   ├── PermanentResourceError   missing file, permission denied, bad command
    │   └── DiskFull                 no space left (on the resource or the service)
    ├── SourceUnavailable            temporary: an input could not be read in full
    ├── StagingAborted               a cancel or a shutdown stopped staging (`reason`)
    ├── ApiInstallError              the specialisation could not be installed
    ├── AlreadyRunning               another service uses the same pid file
    ├── IllegalTransition            a state change not in the table (a bug)
    ├── JobNotFound                  no such job (or it is being deleted)
    ├── TooManyActiveJobs            temporary: the user has the most unfinished jobs allowed
    └── ServiceUnavailable           temporary: the job store did not answer
        └── StorageFull              the job database's disk is full

The client package (`cerise_actors.client`) has its own tree, because it
imports nothing of the server.
"""

import enum
from typing import Optional


class CeriseError(Exception):
    """Base of every error the service raises on purpose."""

    temporary = False

    def words(self, noun: str = 'job') -> str:
        """What a user is told: the message, unless a class says it better
        (`noun`: what the front end calls a job: 'run' in WES)."""
        return str(self)


class ConfigError(CeriseError):
    """A configuration value is missing, malformed or not supported.

    Configuration mistakes are made by people editing YAML by hand, often in
    an image they cannot easily debug, so ``str(error)`` says where:
    ``"<source>: <key path>: <problem>"``, e.g. ``"conf/config.yml:
    database.file: missing (the SQLite file of the job store)"``. Without a
    key (a YAML syntax error, an unreadable file) that part is left out or
    replaced by a location such as ``"line 3, column 7"``. The parts are kept
    as attributes and passed to ``Exception`` as args, so the error survives
    pickling.
    """

    def __init__(self, source: str, key: Optional[str], problem: str) -> None:
        super().__init__(source, key, problem)
        self.source = source
        self.key = key
        self.problem = problem

    def __str__(self) -> str:
        if self.key:
            return f'{self.source}: {self.key}: {self.problem}'
        return f'{self.source}: {self.problem}'


class JobRefused(CeriseError):
    """What a user submitted cannot be run. The message ends up in the job log,
    so it names the step id, input name or key that is wrong and says why."""


class InvalidWorkflow(JobRefused):
    """The submitted workflow cannot or may not be run."""


class InvalidInput(JobRefused):
    """The submitted input object cannot be staged."""


class InvalidOutput(CeriseError):
    """The workflow runner's output cannot be published safely. Not a
    `JobRefused`: the user's submission was accepted and ran; it is the
    runner's answer that is wrong, so the job ends in SystemError."""


class ResourceError(CeriseError):
    """Something failed on the compute resource."""


class TemporaryResourceError(ResourceError):
    """A retry later may succeed (connection lost, time-out, busy)."""

    temporary = True


class PermanentResourceError(ResourceError):
    """Retrying will not help (missing file, permission denied, bad command)."""


class DiskFull(ResourceError):
    """No space left on a disk the job needs, on the resource or on the
    service's own machine (the message says which). Not `temporary`: the
    job ends (TemporaryFailure, with one log line) instead of being retried
    in a loop that would only add log lines to a full disk."""


class SourceUnavailable(CeriseError):
    """An http(s) input could not be fetched; it may be there later."""

    temporary = True


class StopReason(enum.Enum):
    """Why staging stopped before it was done."""

    SHUTDOWN = 'shutdown'  # the service is stopping: back to the rest state
    CANCEL = 'cancel'  # the user cancelled: on to CANCELLED


class StagingAborted(CeriseError):
    """Staging stopped between two files; `reason` is a StopReason."""

    def __init__(self, reason: StopReason):
        super().__init__(reason.value)
        self.reason = reason


class ApiInstallError(CeriseError):
    """The specialisation could not be installed on the compute resource."""


class AlreadyRunning(CeriseError):
    """Another cerise-actors uses the same pid file."""


class IllegalTransition(CeriseError):
    """A caller asked for a pair that is not in the transition table (a bug)."""


class JobNotFound(CeriseError):
    """No job with this id (or it is being deleted)."""

    def __init__(self, job_id: str):
        super().__init__(job_id)
        self.job_id = job_id

    def words(self, noun: str = 'job') -> str:
        return f'there is no {noun} with id {self.job_id}'


class TooManyActiveJobs(CeriseError):
    """The user already has `limit` jobs that are not finished, the most
    `limits.active-jobs-per-user` allows; nothing was created. Temporary: a
    place frees up once one of them finishes or is deleted. The front ends
    answer 429. `owner` and `limit` are passed to ``Exception`` as args, so
    the error survives pickling."""

    temporary = True

    def __init__(self, owner: str, limit: int):
        super().__init__(owner, limit)
        self.owner = owner
        self.limit = limit

    def __str__(self) -> str:
        who = f'user {self.owner!r} already has' if self.owner else 'you already have'
        return (
            f'{who} {self.limit} unfinished jobs, the most allowed '
            '(limits.active-jobs-per-user); wait until some finish or delete some'
        )


class ServiceUnavailable(CeriseError):
    """The job store did not answer (shutting down, or overloaded)."""

    temporary = True


class StorageFull(ServiceUnavailable):
    """The job database cannot be written: its disk is full."""
