"""Building the wheelhouse from which the CWL runner is installed on resources.

Compute resources often have no internet, so the service carries the wheels
of its runner's dependencies, one folder per Python version and machine
(`cp311-x86_64/`, `cp311-aarch64/`; manylinux), because the resource's
machine decides which compiled wheels run there. A folder of the older
layout, `cp311/`, holds x86_64 wheels and is still read as such. The
versions of cwltool and mini-racer are those the service itself runs, so a
job gives the same result on every resource. Building needs a package index
(pip download); installing does not.

Two callers build with the same function, `build_python_folder`: the
`cerise-actors wheelhouse` command, and the service itself on first need
(`first_need_folder`): a resource whose Python has no folder yet, while the
service reaches a package index, should not stop start-up for a step the
service can take in seconds. Offline, the installer's error names the command.
"""

import logging
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterable, List, Mapping, Optional

logger = logging.getLogger(__name__)

#: what the runner's venv needs, from the wheelhouse
REQUIREMENTS = ('cwltool', 'mini-racer')
#: the machines (`uname -m`) the wheelhouse has wheels for; the first is the
#: default of `cerise-actors wheelhouse`, what most clusters and the older layout have
MACHINES = ('x86_64', 'aarch64')
#: other names `uname -m` or Python give the same machines
MACHINE_ALIASES = {'amd64': 'x86_64', 'arm64': 'aarch64'}
#: the manylinux tags of what clusters run; mini-racer needs glibc 2.27 or newer
MANYLINUX = ('manylinux2014', 'manylinux_2_17', 'manylinux_2_27', 'manylinux_2_28')
#: what the runner's dependencies support (cwltool 3.3 and mini-racer 0.14 need 3.10)
PYTHONS = ('3.10', '3.11', '3.12', '3.13')
#: the index pip uses unless PIP_INDEX_URL names another
DEFAULT_INDEX = 'https://pypi.org/simple/'
#: how long the reachability probe waits: an offline site should not wait long
PROBE_SECONDS = 10


class WheelsUnavailable(Exception):
    """The wheels of one Python could not be built here; the message says why."""


def pinned_requirements() -> List[str]:
    """The runner's dependencies at the versions this service uses, and pip."""
    return [f'{name}=={metadata.version(name)}' for name in REQUIREMENTS] + ['pip']


def python_tag(python: str) -> str:
    """'3.11' or '3.11.4' -> 'cp311', the Python's part of a folder's name."""
    major, minor = python.split('.')[:2]
    return f'cp{major}{minor}'


def machine_name(machine: str) -> Optional[str]:
    """`uname -m` -> one of MACHINES, or None for a machine without wheels."""
    machine = machine.strip().lower()
    machine = MACHINE_ALIASES.get(machine, machine)
    return machine if machine in MACHINES else None


def folder_name(python: str, machine: str) -> str:
    """'3.11', 'aarch64' -> 'cp311-aarch64', the folder's name in the wheelhouse."""
    return f'{python_tag(python)}-{machine}'


def find_folder(root: Path, python: str, machine: str) -> Optional[Path]:
    """The complete folder of `python` on `machine` in `root`, if there is one.

    x86_64 also takes the older layout's `cpXY/`, so a wheelhouse built
    before folders were named by machine keeps working without a rebuild.
    """
    candidates = [Path(root) / folder_name(python, machine)]
    if machine == MACHINES[0]:
        candidates.append(Path(root) / python_tag(python))
    return next((folder for folder in candidates if is_complete(folder)), None)


def is_complete(folder: Path) -> bool:
    """Whether `folder` holds a built set of wheels (pip's wheel is among them)."""
    return folder.is_dir() and any(folder.glob('pip-*.whl'))


def platform_tags(machine: str) -> List[str]:
    """The pip platform tags of `machine`: 'manylinux2014_aarch64', ..."""
    return [f'{tag}_{machine}' for tag in MANYLINUX]


def pip_download_command(python: str, dest: Path, machine: str = MACHINES[0]) -> list:
    major, minor = python.split('.')[:2]
    command = [sys.executable, '-m', 'pip', 'download', '--quiet', '--only-binary=:all:']
    command += ['--python-version', f'{major}.{minor}', '--implementation', 'cp']
    command += ['--abi', f'cp{major}{minor}', '--dest', str(dest)]
    for platform in platform_tags(machine):
        command += ['--platform', platform]
    return command + pinned_requirements()


def build_python_folder(root: Path, python: str, machine: str = MACHINES[0]) -> Path:
    """Download one Python's wheels for `machine` into `root/cpXY-<machine>/`,
    whole or not at all.

    pip fills a hidden sibling folder, which is renamed into place only when
    pip succeeded: a build cut short (a lost network, a stop) leaves no half
    folder for the installer to take for a whole one. An existing folder is
    replaced. Raises CalledProcessError when pip fails.
    """
    root = Path(root)
    dest = root / folder_name(python, machine)
    root.mkdir(parents=True, exist_ok=True)
    partial = root / f'.{dest.name}.partial-{os.getpid()}'
    old = root / f'.{dest.name}.old-{os.getpid()}'
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        subprocess.run(pip_download_command(python, partial, machine), check=True)
        if dest.exists():
            dest.rename(old)
        partial.rename(dest)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return dest


def build_wheelhouse(
    root: Path, pythons: Iterable[str] = PYTHONS, machines: Iterable[str] = MACHINES[:1]
) -> List[Path]:
    """Download the wheels for each Python version and machine into `root/cpXY-<machine>/`."""
    machines = list(machines)
    return [build_python_folder(root, py, machine) for py in pythons for machine in machines]


def index_url(environ: Mapping[str, str] = os.environ) -> str:
    """The package index pip will use: $PIP_INDEX_URL, or PyPI."""
    return (environ.get('PIP_INDEX_URL') or DEFAULT_INDEX).rstrip('/') + '/'


def index_problem(url: str) -> Optional[str]:
    """None if the index answers; otherwise why not, for the error message.

    Asks for pip's own project page: one small page, never the index's list
    of all projects.
    """
    try:
        with urllib.request.urlopen(url + 'pip/', timeout=PROBE_SECONDS) as answer:
            answer.read(1)
    except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
        return str(getattr(exc, 'reason', None) or exc)
    return None


def _writable(root: Path) -> bool:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(root, os.W_OK | os.X_OK)


def first_need_folder(
    wheelhouse: Path,
    spare: Path,
    python: str,
    machine: str = MACHINES[0],
    *,
    build: Callable[[Path, str, str], Path] = build_python_folder,
    probe: Callable[[str], Optional[str]] = index_problem,
    environ: Mapping[str, str] = os.environ,
) -> Path:
    """The wheels of `python` on `machine` when `wheelhouse` has none: built here, now.

    They go into `wheelhouse` if the service may write there, otherwise into
    `spare` (in the service's run folder, e.g. on the image's data volume,
    where /opt is not the service's), where a later start finds them. Logs
    one line with the time it took. Raises WheelsUnavailable when no package
    index answers or pip fails, so that the caller can name the command.
    """
    earlier = find_folder(spare, python, machine)
    if earlier is not None:
        return earlier  # built on first need at an earlier start
    url = index_url(environ)
    problem = probe(url)
    if problem is not None:
        raise WheelsUnavailable(f'no package index answered at {url} ({problem})')
    root = Path(wheelhouse) if _writable(Path(wheelhouse)) else Path(spare)
    started = time.monotonic()
    try:
        folder = build(root, python, machine)
    except (subprocess.CalledProcessError, OSError) as exc:
        raise WheelsUnavailable(f'building them from {url} failed: {exc}') from exc
    if not is_complete(folder):
        raise WheelsUnavailable(f'building them from {url} left no wheel of pip in {folder}')
    where = '' if root == Path(wheelhouse) else f' ({wheelhouse} is not writable)'
    logger.info(
        'built the CWL runner wheels for Python %s on first need in %.1f s: %d wheels '
        'from %s in %s%s',
        python,
        time.monotonic() - started,
        len(list(folder.glob('*.whl'))),
        url,
        folder,
        where,
    )
    return folder
