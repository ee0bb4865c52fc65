"""Loading a specialisation's compute resource configuration (``api/config.yml``).

This file tells the service how to reach the compute resource: how files are
staged (``files``), how jobs are started (``jobs``), and how often to poll
(``refresh``). A specialisation without the file runs everything locally
with the defaults. Credentials are merged with the environment here (see
:mod:`.credentials`), so the result is ready to use.

Of the file protocols in the Cerise documentation only ``local`` (alias
``file``) and ``sftp`` are implemented; ``ftp`` and ``webdav`` are refused
with a clear message instead of failing later, at the first job.

``jobs.prelude`` and ``jobs.python`` say where the runner's Python is on a
resource whose ``python3`` is too old; they are checked here for what would
break every command on the resource (a NUL byte, a non-string), not for
what the shell there makes of them.
"""

import os
from typing import Any, Mapping, Optional, Tuple, Union

from .. import defaults
from .credentials import API_TOP_KEY, combine_credentials, credential_section
from .locations import parse_location, resolve_files_path
from .model import ApiConfig, FilesConfig, JobsConfig, SshConfig
from .reader import Section, load_yaml_file

API_CONFIG_NAME = 'config.yml'
#: the interpreter of jobs.python when it is not set
DEFAULT_PYTHON = 'python3'

FILES_PROTOCOLS = ('local', 'sftp')
FILES_PROTOCOL_ALIASES = {'file': 'local'}
UNSUPPORTED_FILES_PROTOCOLS = ('ftp', 'webdav')
JOBS_PROTOCOLS = ('local', 'ssh')
SCHEDULERS = ('none', 'slurm', 'torque', 'gridengine')

_RESOURCE_KEYS = ('credentials', 'files', 'jobs', 'refresh', 'ssh', 'contact-timeout')
_SSH_KEYS = ('known-hosts', 'accept-unknown-hosts', 'timeout', 'command-timeout')
_FILES_KEYS = ('credentials', 'protocol', 'location', 'path')
_JOBS_KEYS = (
    'credentials',
    'protocol',
    'location',
    'scheduler',
    'queue-name',
    'slots-per-node',
    'cores-per-node',
    'scheduler-options',
    'cwl-runner',
    'max-running',
    'warm-runner',
    'prelude',
    'python',
)


def load_api_config(
    api_dir: Union[str, 'os.PathLike[str]'], env: Optional[Mapping[str, str]] = None
) -> ApiConfig:
    """Read ``<api_dir>/config.yml``; all defaults (local, local) if it is absent.

    ``env`` defaults to ``os.environ``; credentials from it apply either way.
    """
    path = os.path.join(os.fspath(api_dir), API_CONFIG_NAME)
    if not os.path.exists(path):
        return api_config_from_dict({}, source='<defaults>', env=env)
    return api_config_from_dict(load_yaml_file(path, path), source=path, env=env)


def api_config_from_dict(
    data: Any, source: str = '<dict>', env: Optional[Mapping[str, str]] = None
) -> ApiConfig:
    """Validate an already parsed API configuration document."""
    env = os.environ if env is None else env
    top = Section.root(data, source)
    top.check_keys((API_TOP_KEY,))
    resource = top.section(API_TOP_KEY, known=_RESOURCE_KEYS)
    generic = credential_section(resource)
    files = _files_config(resource.section('files', known=_FILES_KEYS), generic, env)
    jobs = _jobs_config(resource.section('jobs', known=_JOBS_KEYS), generic, env)
    refresh = resource.positive_number('refresh', defaults.REFRESH)
    ssh = _ssh_config(resource.section('ssh', known=_SSH_KEYS))
    contact_timeout = resource.positive_number('contact-timeout', defaults.CONTACT_TIMEOUT)
    return ApiConfig(
        source=source,
        files=files,
        jobs=jobs,
        refresh=refresh,
        ssh=ssh,
        contact_timeout=contact_timeout,
    )


def _ssh_config(section: Section) -> SshConfig:
    known_hosts = section.string('known-hosts')
    if known_hosts is not None:
        known_hosts = os.path.abspath(os.path.expanduser(known_hosts))
    defaults = SshConfig()
    return SshConfig(
        known_hosts=known_hosts,
        accept_unknown_hosts=section.boolean('accept-unknown-hosts', defaults.accept_unknown_hosts),
        timeout=section.positive_number('timeout', defaults.timeout),
        command_timeout=section.positive_number('command-timeout', defaults.command_timeout),
    )


def _choice(
    section: Section,
    key: str,
    default: str,
    allowed: tuple,
    aliases: Optional[Mapping[str, str]] = None,
) -> str:
    value = section.string(key, default=default).strip().lower()
    value = (aliases or {}).get(value, value)
    if value not in allowed:
        raise section.error(
            key, 'unknown value {!r} (expected one of: {})'.format(value, ', '.join(allowed))
        )
    return value


def _files_config(section: Section, generic: Section, env: Mapping[str, str]) -> FilesConfig:
    raw_protocol = section.string('protocol', default='local').strip().lower()
    if raw_protocol in UNSUPPORTED_FILES_PROTOCOLS:
        raise section.error(
            'protocol', f'{raw_protocol!r} is not supported by cerise-actors; use local or sftp'
        )
    protocol = _choice(section, 'protocol', 'local', FILES_PROTOCOLS, FILES_PROTOCOL_ALIASES)
    credentials = combine_credentials('files', credential_section(section), generic, env)
    host, port = _host_port(section, protocol)
    path = resolve_files_path(section, protocol, credentials.username)
    return FilesConfig(protocol=protocol, host=host, port=port, path=path, credentials=credentials)


def _jobs_config(section: Section, generic: Section, env: Mapping[str, str]) -> JobsConfig:
    protocol = _choice(section, 'protocol', 'local', JOBS_PROTOCOLS)
    credentials = combine_credentials('jobs', credential_section(section), generic, env)
    host, port = _host_port(section, protocol)
    return JobsConfig(
        protocol=protocol,
        host=host,
        port=port,
        scheduler=_choice(section, 'scheduler', 'none', SCHEDULERS),
        queue_name=_one_line(section, 'queue-name'),
        slots_per_node=section.integer('slots-per-node', minimum=1),
        cores_per_node=section.integer(
            'cores-per-node', default=defaults.CORES_PER_NODE, minimum=1
        ),
        scheduler_options=_one_line(section, 'scheduler-options'),
        # Kept verbatim: $CERISE_API_FILES is substituted by the service once
        # it knows where the API files were installed on the resource.
        cwl_runner=section.string('cwl-runner'),
        max_running=section.integer('max-running', minimum=1),
        credentials=credentials,
        warm_runner=section.boolean('warm-runner', default=True),
        prelude=_prelude(section),
        python=_python(section),
    )


def _prelude(section: Section) -> Tuple[str, ...]:
    """Shell lines: one string (which may hold several lines) or a list of strings."""
    value = section.raw('prelude')
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise section.error(
            'prelude',
            'expected shell lines: a string or a list of strings, such as '
            "'module load python/3.11'",
        )
    lines = tuple(line for item in items for line in item.splitlines() if line.strip())
    if any('\0' in line for line in lines):
        raise section.error('prelude', 'contains a NUL character')
    return lines


def _python(section: Section) -> str:
    """An interpreter: a name found on the PATH after the prelude, or a full path."""
    python = (section.string('python') or DEFAULT_PYTHON).strip()
    if not python or any(char in python for char in '\0\n\r'):
        raise section.error(
            'python', f'expected one interpreter, a name or a full path, got {python!r}'
        )
    return python


def _host_port(section: Section, protocol: str) -> Tuple[Optional[str], int]:
    """Host and port for remote protocols; local ignores ``location``."""
    if protocol == 'local':
        return None, defaults.SSH_PORT
    return parse_location(section, protocol)


__all__ = ['load_api_config', 'api_config_from_dict']


def _one_line(section: Section, key: str) -> Optional[str]:
    """A value written into a job script's directive line: a line break in it
    would end the directive and run the rest as bash, so it is refused here."""
    value = section.string(key)
    if value is not None and ('\n' in value or '\r' in value):
        raise section.error(key, 'must be one line: a line break would end the directive')
    return value
