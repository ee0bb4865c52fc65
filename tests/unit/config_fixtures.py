"""Helpers shared by the test_config_* modules: small config dicts and file writing."""

from pathlib import Path

from cerise_actors.config import api_config_from_dict, service_config_from_dict


def minimal_main(**sections):
    data = {
        'database': {'file': '/srv/cerise/cerise.db'},
        'client-file-exchange': {'store-location-service': 'file:///tmp/cerise_files'},
    }
    data.update(sections)
    return data


def main_cfg(data=None, env=None, **sections):
    return service_config_from_dict(
        minimal_main(**sections) if data is None else data, env={} if env is None else env
    )


def api(files=None, jobs=None, credentials=None, env=None, **extra):
    resource = dict(extra)
    if files is not None:
        resource['files'] = files
    if jobs is not None:
        resource['jobs'] = jobs
    if credentials is not None:
        resource['credentials'] = credentials
    return api_config_from_dict({'compute-resource': resource}, env={} if env is None else env)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding='utf-8')
    return path
