"""Building the wheelhouse from which the CWL runner is installed on resources.

Compute resources often have no internet, so the service carries the wheels
of its runner's dependencies, one folder per Python version (`cp311/`),
for manylinux x86_64. The versions of cwltool and mini-racer are those the
service itself runs, so a job gives the same result on every resource.
Building needs a package index (pip download); installing does not.
"""

import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Iterable, List

from .runner_install import REQUIREMENTS

#: what clusters run; mini-racer needs glibc 2.27 or newer
PLATFORMS = (
    'manylinux2014_x86_64',
    'manylinux_2_17_x86_64',
    'manylinux_2_27_x86_64',
    'manylinux_2_28_x86_64',
)
#: what the runner's dependencies support (cwltool 3.3 and mini-racer 0.14 need 3.10)
PYTHONS = ('3.10', '3.11', '3.12', '3.13')


def pinned_requirements() -> List[str]:
    """The runner's dependencies at the versions this service uses, and pip."""
    return [f'{name}=={metadata.version(name)}' for name in REQUIREMENTS] + ['pip']


def pip_download_command(python: str, dest: Path, platforms: Iterable[str] = PLATFORMS) -> list:
    major, minor = python.split('.')[:2]
    command = [sys.executable, '-m', 'pip', 'download', '--quiet', '--only-binary=:all:']
    command += ['--python-version', f'{major}.{minor}', '--implementation', 'cp']
    command += ['--abi', f'cp{major}{minor}', '--dest', str(dest)]
    for platform in platforms:
        command += ['--platform', platform]
    return command + pinned_requirements()


def build_wheelhouse(root: Path, pythons: Iterable[str] = PYTHONS) -> List[Path]:
    """Download the wheels for each Python version into `root/cpXY/`."""
    folders = []
    for python in pythons:
        major, minor = python.split('.')[:2]
        dest = Path(root) / f'cp{major}{minor}'
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run(pip_download_command(python, dest), check=True)
        folders.append(dest)
    return folders
