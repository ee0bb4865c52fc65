"""Installing the specialisation's projects on the compute resource.

Each project `<api>/<project>/` (steps/, files/, install.sh, version) is
copied to `<base>/api/<project>/` keeping file permissions, with
`$CERISE_PROJECT_FILES` in steps' baseCommand and arguments replaced by the
installed files/ folder; then install.sh runs there with
CERISE_PROJECT_FILES set. The version file is written last, so an install
that failed half-way is done again next time. A project is reinstalled when
the local version is newer than the installed one, or always for `.dev`
versions. The package ships a `cerise` project with test steps, used unless
the specialisation brings its own.
"""

import hashlib
import json
import re
import shlex
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from ..cwl.steps import substitute_project_files
from ..defaults import INSTALL_TIMEOUT
from ..errors import ApiInstallError
from ..resource.filesystem import FileSystem
from ..resource.layout import ResourceLayout
from ..resource.shell import Shell

BUILTIN_API_DIR = Path(__file__).resolve().parent.parent / 'builtin_api'
#: beside the installed version: the SHA-256 of each file the project was installed from
FINGERPRINTS = 'fingerprints.json'


def local_projects(api_dir: Optional[Path]) -> Dict[str, Path]:
    """Project name -> local folder: the specialisation's, then built-ins."""
    projects: Dict[str, Path] = {}
    for base in (api_dir, BUILTIN_API_DIR):
        if base is None or not Path(base).is_dir():
            continue
        for child in sorted(Path(base).iterdir()):
            if child.is_dir() and (child / 'steps').is_dir() and child.name not in projects:
                projects[child.name] = child
    return projects


def read_version(project_dir: Path) -> str:
    path = project_dir / 'version'
    if not path.is_file():
        raise ApiInstallError(
            f'{project_dir}: no version file (Cerise requires one, e.g. 0.0.0.dev)'
        )
    return path.read_text().strip()


def project_versions(projects: Dict[str, Path]) -> Dict[str, str]:
    """Project name -> installed version, 'unknown' where the version file is
    missing (the installer reports that; listings just say so)."""
    versions = {}
    for name, folder in sorted(projects.items()):
        try:
            versions[name] = read_version(folder)
        except ApiInstallError:
            versions[name] = 'unknown'
    return versions


def parse_version(text: str) -> Tuple[Tuple[int, ...], bool]:
    """'1.2.3' -> ((1, 2, 3), False); '0.1.0.dev' -> ((0, 1, 0), True)."""
    dev = text.endswith('.dev') or text.endswith('-dev')
    core = text[:-4] if dev else text
    if not re.fullmatch(r'\d+(\.\d+)*', core):
        raise ApiInstallError(f'version {text!r} is not like 1.2.3 or 1.2.3.dev')
    return tuple(int(part) for part in core.split('.')), dev


def needs_install(local_version: str, remote_version: Optional[str]) -> bool:
    local, dev = parse_version(local_version)
    if dev or remote_version is None:
        return True
    try:
        remote, remote_dev = parse_version(remote_version)
    except ApiInstallError:
        return True
    return local > remote or (local == remote and remote_dev)


def remote_version(fs: FileSystem, layout: ResourceLayout, project: str) -> Optional[str]:
    path = f'{layout.project_dir(project)}/version'
    if fs.size(path) is None:
        return None
    return fs.read_bytes(path).decode(errors='replace').strip()


def install_project(
    fs: FileSystem, shell: Shell, layout: ResourceLayout, project: str, local_dir: Path
) -> str:
    """Copy one project and run its install script; returns what it printed."""
    version = read_version(local_dir)
    target = layout.project_dir(project)
    files_dir = layout.project_files_dir(project)
    fs.remove(f'{target}/version')
    for sub in ('steps', 'files'):
        fs.remove(f'{target}/{sub}')
    fs.mkdir(files_dir)
    _upload_tree(fs, local_dir / 'files', files_dir)
    _upload_steps(fs, local_dir / 'steps', f'{target}/steps', files_dir)
    output = ''
    script = next(
        (p for p in (local_dir / 'install.sh', local_dir / 'files' / 'install.sh') if p.is_file()),
        None,
    )
    if script is not None:
        remote_script = f'{target}/install.sh'
        fs.write_bytes(remote_script, script.read_bytes(), 0o755)
        result = shell.run(
            f'cd {shlex.quote(files_dir)} && '
            f'CERISE_PROJECT_FILES={shlex.quote(files_dir)} bash {shlex.quote(remote_script)}',
            timeout=INSTALL_TIMEOUT,
        )
        output = (result.stdout + result.stderr).strip()
        if result.exit_code != 0:
            raise ApiInstallError(
                f'install.sh of project {project!r} failed with exit code '
                f'{result.exit_code}: {output[-2000:]}'
            )
    fingerprints = json.dumps(local_fingerprints(local_dir), indent=1, sort_keys=True)
    fs.write_bytes(f'{target}/{FINGERPRINTS}', fingerprints.encode())
    fs.write_bytes(f'{target}/version', (version + '\n').encode())
    return output


def local_fingerprints(local_dir: Path) -> Dict[str, str]:
    """Name below the project folder -> SHA-256 of the file, for what is
    installed from it (steps/, files/, install.sh, version)."""
    found = {}
    for sub in ('steps', 'files'):
        base = local_dir / sub
        if base.is_dir():
            for path in sorted(base.rglob('*')):
                if path.is_file():
                    found[path.relative_to(local_dir).as_posix()] = _sha256(path)
    for name in ('install.sh', 'version'):
        if (local_dir / name).is_file():
            found[name] = _sha256(local_dir / name)
    return found


def changed_since_install(
    fs: FileSystem, layout: ResourceLayout, project: str, local_dir: Path
) -> Optional[List[str]]:
    """The files of the local project that differ from those the installed
    copy was made from (changed, added or removed), [] if none; None if the
    installed copy does not say (installed by an older version)."""
    path = f'{layout.project_dir(project)}/{FINGERPRINTS}'
    if fs.size(path) is None:
        return None
    try:
        installed = json.loads(fs.read_bytes(path).decode())
    except ValueError:
        return None
    if not isinstance(installed, dict):
        return None
    local = local_fingerprints(local_dir)
    return sorted(
        name for name in set(local) | set(installed) if local.get(name) != installed.get(name)
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as source:
        for block in iter(lambda: source.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _upload_tree(fs: FileSystem, local: Path, remote: str) -> None:
    if not local.is_dir():
        return
    fs.mkdir(remote)
    for path in sorted(local.rglob('*')):
        dest = f'{remote}/{path.relative_to(local).as_posix()}'
        if path.is_dir():
            fs.mkdir(dest)
        else:
            with open(path, 'rb') as stream:
                fs.put_stream(stream, dest, path.stat().st_mode)


def _upload_steps(fs: FileSystem, local: Path, remote: str, files_dir: str) -> None:
    fs.mkdir(remote)
    for path in sorted(local.rglob('*')):
        dest = f'{remote}/{path.relative_to(local).as_posix()}'
        if path.is_dir():
            fs.mkdir(dest)
        elif path.suffix == '.cwl':
            try:
                doc = yaml.safe_load(path.read_text())
            except yaml.YAMLError as exc:
                raise ApiInstallError(f'step {path} is not valid YAML: {exc}') from exc
            if not isinstance(doc, dict):
                raise ApiInstallError(f'step {path} is not a CWL document')
            doc = substitute_project_files(doc, files_dir)
            fs.write_bytes(dest, json.dumps(doc, indent=2).encode(), path.stat().st_mode)
        else:
            with open(path, 'rb') as stream:
                fs.put_stream(stream, dest, path.stat().st_mode)
