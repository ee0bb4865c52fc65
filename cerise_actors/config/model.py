"""Immutable value objects describing a fully validated configuration.

Everything the rest of the service needs is resolved here once, at start-up:
paths are absolute, defaults are filled in, environment overrides and the
credential precedence rules are applied. Consumers therefore never look at
raw YAML or at ``os.environ`` themselves, and the objects can be shared
freely between actors because they are frozen.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

from .. import defaults
from ..boundary.network import DenyList


@dataclass(frozen=True, repr=False)
class Credentials:
    """One complete credential combination for a compute resource.

    Only the fields of the chosen combination are set (see
    :func:`cerise_actors.config.resolve_credentials`); all ``None`` means
    "connect without credentials" (local use, or the SSH agent / defaults).
    """

    username: Optional[str] = None
    password: Optional[str] = None
    certfile: Optional[str] = None
    passphrase: Optional[str] = None

    def __repr__(self) -> str:
        # Configurations get logged; secrets must never end up in a log file.
        def shown(value: Optional[str], secret: bool) -> str:
            if value is None:
                return 'None'
            return "'***'" if secret else repr(value)

        return (
            f'Credentials(username={shown(self.username, False)}, '
            f'password={shown(self.password, True)}, '
            f'certfile={shown(self.certfile, False)}, '
            f'passphrase={shown(self.passphrase, True)})'
        )

    @property
    def is_empty(self) -> bool:
        """True when no credentials at all were configured."""
        return self.username is None


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one request, source or client from stalling or
    bloating the service (the ``limits`` section of ``conf/config.yml``)."""

    #: the largest POST /jobs body, in bytes
    request_bytes: int = defaults.MAX_REQUEST_BYTES
    #: the longest one source may take to copy, in seconds
    fetch_seconds: float = defaults.FETCH_DEADLINE
    #: the largest single source file, in bytes
    fetch_bytes: int = defaults.MAX_FETCH_BYTES
    #: the networks http(s) sources are not fetched from
    fetch_deny: DenyList = DenyList.parse(defaults.FETCH_DENY)
    #: HTTP connections open at once
    http_connections: int = defaults.HTTP_CONNECTIONS
    #: threads answering HTTP requests
    http_threads: int = defaults.HTTP_THREADS
    #: seconds an idle HTTP connection is kept open
    http_idle_seconds: float = defaults.HTTP_IDLE_TIMEOUT
    #: unfinished jobs one user may have at once
    active_jobs_per_user: int = defaults.ACTIVE_JOBS_PER_USER


@dataclass(frozen=True)
class ServiceConfig:
    """The main configuration file (``conf/config.yml``), resolved."""

    source: str
    database_file: Path
    log_file: Optional[Path]
    log_level: int
    pid_file: Optional[Path]
    exchange_service_dir: Path
    #: None: the service's own /files URL, known once the port is bound
    exchange_client_url: Optional[str]
    hostname: str
    port: int
    base_url: Optional[str]
    limits: Limits = Limits()
    #: 'token' (the default: a token, or the users of `users_file`) or 'none'
    auth: str = 'token'
    #: rest-service.users: the users file; None: the one token in the run folder
    users_file: Optional[Path] = None
    #: jobs.retention: seconds after which a finished job is deleted; None: kept
    retention: Optional[float] = None

    @property
    def run_dir(self) -> Path:
        """Where the service keeps its token and URL key: the database's folder."""
        return self.database_file.parent


@dataclass(frozen=True)
class FilesConfig:
    """How files are staged to the compute resource (``compute-resource.files``)."""

    protocol: str
    host: Optional[str]
    port: int
    path: str
    credentials: Credentials


@dataclass(frozen=True)
class JobsConfig:
    """How jobs are started on the compute resource (``compute-resource.jobs``)."""

    protocol: str
    host: Optional[str]
    port: int
    scheduler: str
    queue_name: Optional[str]
    slots_per_node: Optional[int]
    cores_per_node: int
    scheduler_options: Optional[str]
    cwl_runner: Optional[str]
    max_running: Optional[int]
    credentials: Credentials
    #: local jobs fork from a long-lived runner that has cwltool loaded (ours only)
    warm_runner: bool = True
    #: shell lines run on the resource before the runner's Python (`module load ...`)
    prelude: Tuple[str, ...] = ()
    #: the Python the deployed runner is installed with: a name on the PATH or a full path
    python: str = 'python3'


@dataclass(frozen=True)
class SshConfig:
    """How SSH connections are checked and timed (``compute-resource.ssh``, ours)."""

    known_hosts: Optional[str] = None  # None: ~/.ssh/known_hosts of the service user
    accept_unknown_hosts: bool = False  # True: trust a host's key on first use
    timeout: float = defaults.SSH_TIMEOUT  # connect, authenticate, open a channel
    command_timeout: float = defaults.COMMAND_TIMEOUT  # one command or one transfer step


@dataclass(frozen=True)
class ApiConfig:
    """A specialisation's compute resource configuration (``api/config.yml``)."""

    source: str
    files: FilesConfig
    jobs: JobsConfig
    refresh: float
    ssh: SshConfig = SshConfig()
    #: after this long without a successful status query, jobs' logs say so
    contact_timeout: float = defaults.CONTACT_TIMEOUT
