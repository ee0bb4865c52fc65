"""The catalogue of installed steps, and preparing step files for the resource.

A specialisation offers steps as CWL files in ``api/<project>/steps/``. Users
name them by their path relative to ``steps/`` (``example/hostname.cwl``);
this catalogue is what a submitted workflow is checked against, so that only
offered steps can ever run.
"""

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import ApiInstallError
from .resources import read_cores, read_time_limit

# ``$CERISE_PROJECT_FILES`` or ``${CERISE_PROJECT_FILES}``, but not
# ``$CERISE_PROJECT_FILES_OTHER``: a longer variable name is a different one.
_PROJECT_FILES = re.compile(r'\$\{CERISE_PROJECT_FILES\}|\$CERISE_PROJECT_FILES(?![A-Za-z0-9_])')


def installed_file_names(projects: Mapping[str, Path]) -> dict:
    """Names (`<project>/<path>`) of the files installed with the steps that are
    not steps themselves (type definitions, say), which a workflow may import,
    each with the `class` of the document it holds (None if it has none)."""
    names = {}
    for project in sorted(projects):
        folder = Path(projects[project]) / 'steps' / project
        if folder.is_dir():
            for path in folder.rglob('*'):
                if path.is_file() and path.suffix != '.cwl':
                    try:
                        doc = yaml.safe_load(path.read_text(encoding='utf-8'))
                    except (OSError, UnicodeDecodeError, yaml.YAMLError):
                        doc = None
                    cls = doc.get('class') if isinstance(doc, dict) else None
                    names[f'{project}/{path.relative_to(folder).as_posix()}'] = cls
    return names


def load_step_catalogue(projects: Mapping[str, Path]) -> dict:
    """Map step name -> parsed CWL document for every installed step.

    ``projects`` maps a project name to its local directory (which holds
    ``steps/``). Step names are paths relative to ``steps/`` with ``/``
    separators. A step that does not parse stops the service from starting
    with an ApiInstallError naming the file, rather than failing user jobs
    later. A step outside ``steps/<project>/`` is one too: no workflow
    could name it, and the Cerise docs require that layout.
    """
    catalogue = {}
    for project in sorted(projects):
        steps_dir = Path(projects[project]) / 'steps'
        if not steps_dir.is_dir():
            continue
        for path in sorted(steps_dir.rglob('*.cwl')):
            if not path.is_file():
                continue
            name = path.relative_to(steps_dir).as_posix()
            if not name.startswith(f'{project}/'):
                raise ApiInstallError(
                    f'step file {path} is outside steps/{project}/; workflows name '
                    f"steps as '{project}/<path>.cwl', so project {project!r} must keep "
                    f'them under {steps_dir / project}'
                )
            catalogue[name] = _load_step_file(path)
    return catalogue


def _load_step_file(path: Path) -> dict:
    try:
        document = yaml.safe_load(path.read_text(encoding='utf-8'))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ApiInstallError(f'installed step {path} could not be read as CWL: {error}') from error
    if not isinstance(document, dict):
        raise ApiInstallError(
            f'installed step {path} is not a CWL document (expected a mapping at the top level)'
        )
    return document


def _substitute(text: Any, project_files_dir: str) -> Any:
    if not isinstance(text, str):
        return text
    return _PROJECT_FILES.sub(lambda _: project_files_dir, text)


def substitute_project_files(step_doc: dict, project_files_dir: str) -> dict:
    """Return a copy of ``step_doc`` with ``$CERISE_PROJECT_FILES`` filled in.

    Only ``baseCommand`` and ``arguments`` (plain strings, or the
    ``valueFrom`` of argument objects) are substituted, as in Cerise: these
    are where a step refers to the programs and data of its project's
    ``files/`` directory. Everything else is left exactly as written.
    """
    result = copy.deepcopy(step_doc)
    command = result.get('baseCommand')
    if isinstance(command, list):
        result['baseCommand'] = [_substitute(part, project_files_dir) for part in command]
    elif command is not None:
        result['baseCommand'] = _substitute(command, project_files_dir)

    arguments = result.get('arguments')
    if isinstance(arguments, list):
        new_arguments = []
        for argument in arguments:
            if isinstance(argument, dict) and 'valueFrom' in argument:
                argument = dict(argument)
                argument['valueFrom'] = _substitute(argument['valueFrom'], project_files_dir)
            else:
                argument = _substitute(argument, project_files_dir)
            new_arguments.append(argument)
        result['arguments'] = new_arguments
    return result


def step_resources(step_doc: Mapping, name: str = 'installed step') -> tuple:
    """Return ``(cores, time_limit)`` an installed step asks for (0 = none).

    Read leniently: expressions (only known at run time) count as not
    specified, but a negative or non-numeric value raises ApiInstallError,
    since that is a mistake in the specialisation.
    """
    where = f"installed step '{name}'"
    cores = read_cores(step_doc, where, ApiInstallError, strict=False)
    time_limit = read_time_limit(step_doc, where, ApiInstallError, strict=False)
    return cores, time_limit
