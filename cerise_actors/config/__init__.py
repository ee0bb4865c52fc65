"""Configuration of cerise-actors: the main service file and the API file.

Two YAML files configure the service, as in Cerise 0.2.4:

* ``conf/config.yml`` (:func:`load_service_config`): the service's own state
  files, the client file exchange and the REST endpoint;
* ``<api>/config.yml`` (:func:`load_api_config`): how to reach the compute
  resource, including credentials merged from ``CERISE_*`` variables.

Both are validated completely at start-up and returned as frozen dataclasses,
so misconfiguration fails fast with a :class:`ConfigError` that names the file
and key, instead of surfacing later in the middle of running a job.
"""

from ..errors import ConfigError
from .api_config import api_config_from_dict, load_api_config
from .credentials import resolve_credentials
from .model import (
    ApiConfig,
    Credentials,
    FilesConfig,
    JobsConfig,
    Limits,
    ServiceConfig,
    SshConfig,
)
from .service_config import load_service_config, service_config_from_dict

__all__ = [
    'ApiConfig',
    'ConfigError',
    'Credentials',
    'FilesConfig',
    'JobsConfig',
    'Limits',
    'ServiceConfig',
    'SshConfig',
    'api_config_from_dict',
    'load_api_config',
    'load_service_config',
    'resolve_credentials',
    'service_config_from_dict',
]
