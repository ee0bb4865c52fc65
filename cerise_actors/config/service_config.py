"""Loading the main service configuration (``conf/config.yml``).

The main file says where the service keeps its own state (job database, log,
pid file), where the file exchange directory shared with clients lives, and
where the REST API listens. A file gives only what differs from the
defaults (those of the shipped ``conf/config.yml``, in FILE_DEFAULTS); the
rest is filled in. Where the service listens and keeps its files can also be
set from the environment, so that one image runs as many containers:
``CERISE_HOSTNAME``, ``CERISE_PORT``, ``CERISE_STORE_LOCATION_SERVICE``,
``CERISE_STORE_LOCATION_CLIENT``, ``CERISE_BASE_URL`` and ``CERISE_AUTH`` win
over the file.
Without ``store-location-client``, clients reach the exchange folder through
the service's own ``/files``, whatever port it listens on.

Relative paths are resolved against the current working directory at load
time, as Cerise did, so that later ``chdir`` calls cannot change their meaning.
"""

import logging
import os
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union
from urllib.parse import unquote, urlparse

from .. import defaults
from ..boundary.network import DenyList
from .model import Limits, ServiceConfig
from .reader import Section, env_value, load_yaml_file

DEFAULT_LOG_LEVEL = logging.INFO

ENV_STORE_LOCATION_CLIENT = 'CERISE_STORE_LOCATION_CLIENT'
ENV_STORE_LOCATION_SERVICE = 'CERISE_STORE_LOCATION_SERVICE'
ENV_BASE_URL = 'CERISE_BASE_URL'
ENV_HOSTNAME = 'CERISE_HOSTNAME'
ENV_PORT = 'CERISE_PORT'
ENV_AUTH = 'CERISE_AUTH'

#: what a configuration file does not say: the shipped conf/config.yml
FILE_DEFAULTS: Dict[str, Any] = {  # a document, as a configuration file is
    'database': {'file': 'run/cerise.db'},
    'logging': {'file': 'run/cerise.log', 'level': 'INFO'},
    'pidfile': 'run/cerise.pid',
    'client-file-exchange': {'store-location-service': 'run/files'},
    'rest-service': {'hostname': defaults.HOSTNAME, 'port': defaults.PORT},
}

_TOP_KEYS = (
    'database',
    'logging',
    'pidfile',
    'client-file-exchange',
    'rest-service',
    'limits',
    'jobs',
)

# Spelled out rather than taken from the logging module: its name table is
# private before Python 3.11 and also contains aliases we do not want to list.
_LEVELS = {
    'CRITICAL': logging.CRITICAL,
    'FATAL': logging.CRITICAL,
    'ERROR': logging.ERROR,
    'WARNING': logging.WARNING,
    'WARN': logging.WARNING,
    'INFO': logging.INFO,
    'DEBUG': logging.DEBUG,
    'NOTSET': logging.NOTSET,
}


def load_service_config(
    path: Union[str, 'os.PathLike[str]'], env: Optional[Mapping[str, str]] = None
) -> ServiceConfig:
    """Read and validate the main configuration file at ``path``.

    ``env`` defaults to ``os.environ``; tests pass an explicit dict.
    """
    source = os.fspath(path)
    data = load_yaml_file(path, source)
    return service_config_from_dict(merged_over_defaults(data), source=source, env=env)


def merged_over_defaults(data: Any) -> Any:
    """`data` over FILE_DEFAULTS, section by section; a key set to null in the
    file stays null (for example `logging: {file: null}` logs to stderr)."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        return data  # service_config_from_dict says what is wrong
    merged = {
        key: dict(value) if isinstance(value, dict) else value
        for key, value in FILE_DEFAULTS.items()
    }
    for key, value in data.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def service_config_from_dict(
    data: Any, source: str = '<dict>', env: Optional[Mapping[str, str]] = None
) -> ServiceConfig:
    """Validate an already parsed main configuration mapping."""
    env = os.environ if env is None else env
    top = Section.root(data, source)
    top.check_keys(_TOP_KEYS)

    database = top.section('database', known=('file',))
    database_file = _absolute(database.string('file', required='the SQLite file of the job store'))

    log = top.section('logging', known=('file', 'level'))
    log_file = _local_path(log, 'file')
    log_level = _log_level(log)

    pid_file = _local_path(top, 'pidfile')

    exchange = top.section(
        'client-file-exchange', known=('store-location-service', 'store-location-client')
    )
    service_dir = _service_store(exchange, env)
    client_url = _client_store(exchange, env)

    rest = top.section('rest-service', known=('base-url', 'hostname', 'port', 'auth', 'users'))
    hostname = env_value(env, ENV_HOSTNAME) or rest.string('hostname', default=defaults.HOSTNAME)
    port = _port(rest, env)
    base_url = _base_url(rest, env)
    limits = _limits(top.section('limits', known=_LIMIT_KEYS))
    auth, users_file = _auth(rest, env)
    retention = _duration(top.section('jobs', known=('retention',)), 'retention')

    return ServiceConfig(
        source=source,
        database_file=database_file,
        log_file=log_file,
        log_level=log_level,
        pid_file=pid_file,
        exchange_service_dir=service_dir,
        exchange_client_url=client_url,
        hostname=hostname,
        port=port,
        base_url=base_url,
        limits=limits,
        auth=auth,
        users_file=users_file,
        retention=retention,
    )


_LIMIT_KEYS = (
    'request-bytes',
    'source-seconds',
    'source-bytes',
    'fetch-deny',
    'http-connections',
    'http-threads',
    'http-idle-seconds',
    'active-jobs-per-user',
)


def _limits(section: Section) -> Limits:
    """The `limits` section; every key is optional (see docs/configuration.md)."""
    return Limits(
        request_bytes=section.integer('request-bytes', defaults.MAX_REQUEST_BYTES, minimum=1024),
        fetch_seconds=section.positive_number('source-seconds', defaults.FETCH_DEADLINE),
        fetch_bytes=section.integer('source-bytes', defaults.MAX_FETCH_BYTES, minimum=1),
        fetch_deny=_fetch_deny(section),
        http_connections=section.integer('http-connections', defaults.HTTP_CONNECTIONS, minimum=10),
        http_threads=section.integer('http-threads', defaults.HTTP_THREADS, minimum=2),
        http_idle_seconds=section.positive_number('http-idle-seconds', defaults.HTTP_IDLE_TIMEOUT),
        active_jobs_per_user=section.integer(
            'active-jobs-per-user', defaults.ACTIVE_JOBS_PER_USER, minimum=1
        ),
    )


_UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 7 * 86400}


def _duration(section: Section, key: str) -> Optional[float]:
    """A time span: seconds as a number, or a number and a unit (`90m`,
    `12h`, `30d`, `2w`); unset, null or `off`: None."""
    value = section.raw(key)
    if value is None or value is False or (isinstance(value, str) and value.strip() == 'off'):
        return None
    seconds = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        number, unit = text[:-1].strip(), text[-1:]
        if unit in _UNITS:
            try:
                seconds = float(number) * _UNITS[unit]
            except ValueError:
                seconds = None
    if seconds is None or not seconds > 0 or seconds == float('inf'):
        raise section.error(
            key,
            f"expected a time span such as 3600 (seconds), '90m', '12h', '30d' or '2w', "
            f"or 'off', got {value!r}",
        )
    return seconds


def _auth(section: Section, env: Mapping[str, str]) -> Tuple[str, Optional[Path]]:
    """`rest-service.auth` ('token' or 'none', CERISE_AUTH overrides it)
    and `rest-service.users` (a users file, which needs `auth: token`)."""
    override = env_value(env, ENV_AUTH)
    value = override if override is not None else section.raw('auth')
    if value is None:
        value = 'token'
    if value is False:  # YAML 1.1 reads `auth: off` (or `no`) as false
        value = 'none'
    if not isinstance(value, str) or value.strip().lower() not in ('token', 'none'):
        source = f' (from {ENV_AUTH})' if override is not None else ''
        raise section.error(
            'auth',
            f"expected 'token' (the default: every request needs a token) or 'none' "
            f'(no authentication at all), got {value!r}{source}',
        )
    auth = value.strip().lower()
    users = _local_path(section, 'users')
    if users is not None and auth == 'none':
        raise section.error(
            'users', "a users file needs authentication: remove 'auth: none' or the users file"
        )
    return auth, users


def _fetch_deny(section: Section) -> DenyList:
    """`limits.fetch-deny`: a list of networks (an empty list denies none)."""
    value = section.raw('fetch-deny')
    if value is None:
        return DenyList.parse(defaults.FETCH_DENY)
    if not isinstance(value, list):
        raise section.error(
            'fetch-deny',
            f"expected a list of networks such as ['127.0.0.0/8', '::1'] (or [] for "
            f'none), got {value!r}',
        )
    try:
        return DenyList.parse(value)
    except ValueError as exc:
        raise section.error('fetch-deny', str(exc)) from None


def _absolute(path: str) -> Path:
    """Expand ``~`` and anchor a relative path at the current directory."""
    return Path(os.path.abspath(os.path.expanduser(path)))


def _local_path(section: Section, key: str) -> Optional[Path]:
    value = section.string(key)
    return None if value is None else _absolute(value)


def _log_level(section: Section) -> int:
    value = section.raw('level')
    if value is None:
        return DEFAULT_LOG_LEVEL
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().upper() in _LEVELS:
        return _LEVELS[value.strip().upper()]
    raise section.error(
        'level',
        'expected a logging level name ({}), got {!r}'.format(', '.join(sorted(_LEVELS)), value),
    )


def _port(section: Section, env: Mapping[str, str]) -> int:
    override = env_value(env, ENV_PORT)
    if override is None:
        return section.integer('port', default=defaults.PORT, minimum=0, maximum=65535)
    if not override.strip().isdigit() or int(override) > 65535:
        raise section.error(
            'port', f'expected an integer from 0 to 65535, got {override!r} (from {ENV_PORT})'
        )
    return int(override)


def _service_store(section: Section, env: Mapping[str, str]) -> Path:
    """The exchange directory as seen by the service: a local directory."""
    key = 'store-location-service'
    value = env_value(env, ENV_STORE_LOCATION_SERVICE) or section.string(
        key,
        required='the file exchange directory as the service sees it, '
        'e.g. file:///tmp/cerise_files',
    )
    if '://' not in value:
        return _absolute(value)
    url = urlparse(value)
    if url.scheme.lower() != 'file':
        raise section.error(
            key,
            f'expected a file:// URL or a local path, got {value!r}; the service '
            'must have direct access to the exchange directory',
        )
    if url.netloc not in ('', 'localhost'):
        raise section.error(
            key,
            f'file URL {value!r} names host {url.netloc!r}; write an absolute path as '
            'file:///path/to/dir',
        )
    path = unquote(url.path)
    if not path.startswith('/'):
        raise section.error(key, f'file URL {value!r} has no absolute path')
    return Path(os.path.normpath(path))


def _check_url(section: Section, key: str, value: str, from_env: Optional[str]) -> str:
    url = urlparse(value)
    if not url.scheme or not (url.netloc or url.scheme == 'file'):
        where = f'environment variable {from_env}' if from_env else None
        problem = f'expected an absolute URL such as http://host:port/path, got {value!r}'
        if where:
            problem = f'{problem} (from {where})'
        raise section.error(key, problem)
    return _strip_slash(value)


def _strip_slash(url: str) -> str:
    stripped = url.rstrip('/')
    # A bare root such as 'file:///' would otherwise collapse to 'file:'.
    return url if stripped.endswith(':') else stripped


def _client_store(section: Section, env: Mapping[str, str]) -> Optional[str]:
    """The exchange folder as clients address it; None: the service's own
    /files, known once the port is bound (see app/system.py)."""
    key = 'store-location-client'
    override = env_value(env, ENV_STORE_LOCATION_CLIENT)
    if override is not None:
        return _check_url(section, key, override, ENV_STORE_LOCATION_CLIENT)
    value = section.string(key)
    if value is None:
        return None
    return _check_url(section, key, value, None)


def _base_url(section: Section, env: Mapping[str, str]) -> Optional[str]:
    override = env_value(env, ENV_BASE_URL)
    if override is not None:
        return _check_url(section, 'base-url', override, ENV_BASE_URL)
    value = section.string('base-url')
    return None if value is None else _check_url(section, 'base-url', value, None)


__all__ = ['load_service_config', 'service_config_from_dict']
