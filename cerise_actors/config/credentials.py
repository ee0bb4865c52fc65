"""Resolving the credentials used to reach the compute resource.

Credentials can come from four places, so that one specialisation image can
be shared by many users who inject their own credentials via the environment
(Cerise Client does this). Per the Cerise documentation, for ``files`` and
``jobs`` separately and for each of the four components separately, the first
value that is set wins, in this order:

1. the specific environment variable, e.g. ``CERISE_JOBS_USERNAME``;
2. the specific configuration entry, ``compute-resource.jobs.credentials``;
3. the generic environment variable, e.g. ``CERISE_USERNAME``;
4. the generic configuration entry, ``compute-resource.credentials``.

The components are then combined into the first complete combination of:
username+certfile+passphrase, username+certfile, username+password, username,
nothing. Components outside the chosen combination are dropped, so a stray
password never travels along with a key file.
"""

import os
from typing import Any, Mapping, Optional

from .model import Credentials
from .reader import Section, env_value

KINDS = ('files', 'jobs')
COMPONENTS = ('username', 'password', 'certfile', 'passphrase')
API_TOP_KEY = 'compute-resource'


def env_name(kind: Optional[str], component: str) -> str:
    """The environment variable for a component, generic when kind is None."""
    if kind is None:
        return f'CERISE_{component.upper()}'
    return f'CERISE_{kind.upper()}_{component.upper()}'


def resolve_credentials(
    kind: str, api_data: Any, env: Optional[Mapping[str, str]] = None, source: str = '<dict>'
) -> Credentials:
    """Resolve the credentials for ``kind`` ('files' or 'jobs').

    ``api_data`` is the parsed API configuration: either the whole document
    (with its ``compute-resource`` key) or the ``compute-resource`` mapping
    itself. Only the credential blocks are looked at and validated here; use
    :func:`cerise_actors.config.api_config_from_dict` to validate the rest.
    ``env`` defaults to ``os.environ``.
    """
    if kind not in KINDS:
        raise ValueError(f'kind must be one of {KINDS}, not {kind!r}')
    env = os.environ if env is None else env
    top = Section.root(api_data, source)
    if API_TOP_KEY in top.data:
        resource = top.section(API_TOP_KEY)
    else:
        resource = Section(top.data, source, API_TOP_KEY)
    generic = credential_section(resource)
    specific = credential_section(resource.section(kind))
    return combine_credentials(kind, specific, generic, env)


def credential_section(parent: Section) -> Section:
    """The ``credentials`` block under ``parent``, validated for unknown keys."""
    return parent.section('credentials', known=COMPONENTS)


def combine_credentials(
    kind: str, specific: Section, generic: Section, env: Mapping[str, str]
) -> Credentials:
    """Apply the precedence rules to already located credential blocks."""
    found = {}
    for component in COMPONENTS:
        # All four sources are read (and so validated) even when an earlier
        # one wins, so a malformed config entry is reported, not masked.
        candidates = (
            env_value(env, env_name(kind, component)),
            specific.string(component),
            env_value(env, env_name(None, component)),
            generic.string(component),
        )
        found[component] = next((value for value in candidates if value is not None), None)
    return _pick_combination(**found)


def _pick_combination(
    username: Optional[str],
    password: Optional[str],
    certfile: Optional[str],
    passphrase: Optional[str],
) -> Credentials:
    if username is None:
        return Credentials()
    if certfile is not None and passphrase is not None:
        return Credentials(username=username, certfile=certfile, passphrase=passphrase)
    if certfile is not None:
        return Credentials(username=username, certfile=certfile)
    if password is not None:
        return Credentials(username=username, password=password)
    return Credentials(username=username)


__all__ = ['resolve_credentials', 'env_name', 'KINDS', 'COMPONENTS']
