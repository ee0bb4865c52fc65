"""Deploying the service's own CWL runner to a compute resource that has only Python 3.

Cerise's promise is that a resource needs nothing but Python: the service
brings its runner along. Unless the specialisation configures `cwl-runner`,
a remote resource gets, under the installed API folder:

    api/.cerise-runner/wheels/          the wheels for the resource's Python and machine
    api/.cerise-runner/venv/            a venv made by the resource's Python
    api/.cerise-runner/cerise_runner/   the runner package (cerise_actors/runner)
    api/.cerise-runner/installed        written last: what was installed

The resource's Python is `python3`, or what `compute-resource.jobs.python`
names, after the shell lines of `compute-resource.jobs.prelude` (clusters
whose python3 is too old have a newer one behind `module load` or a full
path). One function, `resource_python_command`, renders "prelude, then
Python" for every command that runs it, so the quoting is in one place.

Wheels come from a wheelhouse the service carries (`cerise-actors
wheelhouse` builds one; clusters often have no internet), one folder per
Python version and machine (`cp311-x86_64/`): one command asks the resource
for both. A Python without a folder gets one built on first need when the
service reaches a package index (wheelhouse.py). The venv is made without
pip and pip runs from its own wheel, so the resource needs no
python3-venv/ensurepip. A new runner or wheelhouse, or another Python, is
installed again; an install that stopped half-way has no `installed` file
and is done again.
"""

import hashlib
import os
import posixpath
import shlex
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from ..defaults import INSTALL_TIMEOUT
from ..errors import ApiInstallError
from ..resource.filesystem import FileSystem
from ..resource.layout import ResourceLayout
from ..resource.shell import Shell
from .wheelhouse import (
    MACHINES,
    REQUIREMENTS,
    WheelsUnavailable,
    find_folder,
    first_need_folder,
    folder_name,
    machine_name,
)

#: the runner package, copied as it is: it imports nothing else of the service
RUNNER_PACKAGE = Path(__file__).resolve().parent.parent / 'runner'
#: the oldest Python the runner's dependencies support (cwltool 3.3, mini-racer 0.14)
MIN_PYTHON = (3, 10)
WHEELHOUSE_ENV = 'CERISE_WHEELHOUSE'
DEFAULT_WHEELHOUSE = 'wheelhouse'
#: the interpreter the runner's venv is made from, unless jobs.python names another
DEFAULT_PYTHON = 'python3'
#: exit code of a command whose prelude failed (its last line exited non-zero)
PRELUDE_FAILED = 97
#: prints the Python's version and the machine (`uname -m`) on one line
_PROBE = 'import os, sys; print(*sys.version_info[:3], os.uname().machine)'
_EXAMPLES = (
    'compute-resource.jobs.prelude (e.g. `prelude: module load python/3.11`) or '
    'compute-resource.jobs.python (e.g. `python: /opt/python/3.11/bin/python3.11`)'
)


def prelude_lines(prelude: Sequence[str]) -> List[str]:
    """Bash lines that run `prelude` in the current shell, or stop the command.

    They run in the shell itself, not a subshell, so what they export (PATH,
    LD_LIBRARY_PATH of a `module load`) holds for the lines after them. Their
    output goes to stderr, so it never mixes with what a command prints (the
    runner's stdout is its output object). When the prelude's last command
    fails, the command ends with PRELUDE_FAILED and says so.
    """
    if not prelude:
        return []
    message = 'cerise: compute-resource.jobs.prelude failed (exit code $?)'
    return [
        '{',
        *prelude,
        f'}} >&2 || {{ echo "{message}" >&2; exit {PRELUDE_FAILED}; }}',
    ]


def resource_python_command(prelude: Sequence[str], python: str, args: Sequence[str]) -> str:
    """Bash text that runs `python args...` on the resource after the prelude.

    The one place that renders "prelude + Python" for the resource (the
    version check, the venv, and whatever else starts the configured Python
    there): `prelude` is compute-resource.jobs.prelude, copied as shell
    lines; `python` (jobs.python: a name on the PATH the prelude leaves, or a
    full path) and every argument are quoted.
    """
    words = ' '.join(shlex.quote(word) for word in (python, *args))
    return '\n'.join([*prelude_lines(prelude), words])


def argv_after_prelude(prelude: Sequence[str], argv: Sequence[str]) -> List[str]:
    """`argv` as an argv that runs the prelude first (for the job script).

    The job script quotes each word of an argv, so the prelude comes as
    `bash -c '<prelude lines>; exec "$@"'`: the runner then replaces that
    bash, keeping its pid, its process group and its stdout and stderr.
    """
    if not prelude:
        return list(argv)
    script = '\n'.join([*prelude_lines(prelude), 'exec "$@"'])
    return ['bash', '-c', script, 'cerise-prelude', *argv]


def wheelhouse_dir(environ=os.environ) -> Path:
    """Where the service finds its wheels: $CERISE_WHEELHOUSE, or ./wheelhouse."""
    return Path(environ.get(WHEELHOUSE_ENV) or DEFAULT_WHEELHOUSE).resolve()


def runner_dir(layout: ResourceLayout) -> str:
    return posixpath.join(layout.api_dir, '.cerise-runner')


def runner_python(layout: ResourceLayout) -> str:
    """The deployed runner's interpreter on the resource."""
    return posixpath.join(runner_dir(layout), 'venv', 'bin', 'python')


#: the trust boundary's modules the runner confines itself with, shipped beside
#: it under these names (runner/confine.py and loader.py import them so when
#: the runner stands alone); standard library only, no relative imports
BOUNDARY_COPIES = {'_locations.py': 'locations.py', '_workflow_policy.py': 'workflow_policy.py'}
BOUNDARY_PACKAGE = RUNNER_PACKAGE.parent / 'boundary'


def _runner_files() -> List[Tuple[str, Path]]:
    """(name in the deployed package, file here) of every file the runner needs."""
    files = [(p.name, p) for p in sorted(RUNNER_PACKAGE.glob('*.py')) if p.is_file()]
    files += [(name, BOUNDARY_PACKAGE / source) for name, source in BOUNDARY_COPIES.items()]
    return files


def _code_fingerprint() -> str:
    digest = hashlib.sha256()
    for name, path in _runner_files():
        digest.update(name.encode() + b'\0' + path.read_bytes())
    return digest.hexdigest()[:16]


def _wheels_fingerprint(wheels: List[Path]) -> str:
    digest = hashlib.sha256()
    for wheel in wheels:
        digest.update(f'{wheel.name}:{wheel.stat().st_size}\n'.encode())
    return digest.hexdigest()[:16]


class RunnerInstaller:
    """Installs the runner on one resource; idempotent and safe to repeat."""

    def __init__(
        self,
        fs: FileSystem,
        shell: Shell,
        layout: ResourceLayout,
        wheelhouse: Path,
        spare_wheelhouse: Optional[Path] = None,
        *,
        prelude: Sequence[str] = (),
        python: str = DEFAULT_PYTHON,
    ) -> None:
        """With `spare_wheelhouse` (the service's run folder's `wheelhouse`), a
        Python the wheelhouse lacks gets its wheels built on first need, there
        if the wheelhouse is not writable; without it, that stops the install.
        `prelude` and `python` are compute-resource.jobs.prelude and .python."""
        self._prelude = tuple(prelude)
        self._python = python or DEFAULT_PYTHON
        self._fs = fs
        self._shell = shell
        self._layout = layout
        self._wheelhouse = Path(wheelhouse)
        self._spare = None if spare_wheelhouse is None else Path(spare_wheelhouse)
        self._dir = runner_dir(layout)

    def _run(self, command: str, what: str) -> str:
        result = self._shell.run(command, timeout=INSTALL_TIMEOUT)
        if result.exit_code != 0:
            detail = (result.stderr or result.stdout).strip()[-2000:]
            raise ApiInstallError(
                f'installing the CWL runner: {what} failed (exit code {result.exit_code}): {detail}'
            )
        return result.stdout

    def python_version(self) -> tuple:
        """The resource's Python version; refuses one that is too old."""
        return self.probe()[0]

    def probe(self) -> Tuple[tuple, str]:
        """The version of the resource's Python and its machine, in one command."""
        out = self._run(
            resource_python_command(self._prelude, self._python, ['-c', _PROBE]),
            f'finding {self._python} on the compute resource',
        )
        words = (out.strip().splitlines() or [''])[-1].split()  # the prelude may print
        try:
            version = tuple(int(part) for part in words[:3])
        except ValueError:
            version = ()
        if len(version) < 3 or len(words) < 4:
            raise ApiInstallError(f'installing the CWL runner: {self._python} said {out.strip()!r}')
        if version[:2] < MIN_PYTHON:
            found = '.'.join(map(str, version))
            after = ' after compute-resource.jobs.prelude' if self._prelude else ''
            raise ApiInstallError(
                f'the compute resource has Python {found} as {self._python}{after}; the CWL '
                f'runner needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer there: name '
                f'one with {_EXAMPLES}'
            )
        return version, words[3]

    def _wheels(self, version: tuple, uname: str) -> List[Path]:
        python = f'{version[0]}.{version[1]}'
        machine = machine_name(uname)
        if machine is None:
            raise ApiInstallError(
                f'the compute resource is a {uname} machine; the service has wheels of its '
                f'CWL runner for {" and ".join(MACHINES)} only: configure cwl-runner'
            )
        folder = find_folder(self._wheelhouse, python, machine)
        why = ''
        if folder is None and self._spare is not None:
            try:
                folder = first_need_folder(self._wheelhouse, self._spare, python, machine)
            except WheelsUnavailable as exc:
                why = f', and none could be built here: {exc}'
        if folder is None:
            raise ApiInstallError(
                f'no wheels for Python {python} on {machine} in '
                f'{self._wheelhouse / folder_name(python, machine)}{why}: build them with '
                f'`cerise-actors wheelhouse --python {python} --platform {machine}` '
                f'(or set {WHEELHOUSE_ENV}), or configure cwl-runner'
            )
        return sorted(folder.glob('*.whl'))

    def installed(self) -> Optional[str]:
        marker = posixpath.join(self._dir, 'installed')
        if self._fs.size(marker) is None:
            return None
        return self._fs.read_bytes(marker).decode(errors='replace').strip()

    def _interpreter_fingerprint(self) -> str:
        """'' for python3 without a prelude (so older installs stay valid);
        otherwise a digest of both, as another Python needs another venv."""
        if not self._prelude and self._python == DEFAULT_PYTHON:
            return ''
        digest = hashlib.sha256('\0'.join((self._python, *self._prelude)).encode())
        return f' interpreter {digest.hexdigest()[:16]}'

    def _plan(self) -> tuple:
        version, uname = self.probe()
        wheels = self._wheels(version, uname)
        venv_line = f'python {version[0]}.{version[1]} wheels {_wheels_fingerprint(wheels)}'
        venv_line += self._interpreter_fingerprint()
        code_line = f'runner {_code_fingerprint()}'
        before = (self.installed() or '').splitlines()
        return f'{version[0]}.{version[1]}', wheels, venv_line, code_line, before

    def needs_install(self) -> bool:
        """Whether install() would change anything on the resource."""
        _, _, venv_line, code_line, before = self._plan()
        return before[:2] != [venv_line, code_line]

    def install(self) -> str:
        """Make sure the runner is installed; returns a sentence for the service log.

        The `installed` file holds two lines: the Python version and the
        wheels (the venv is made again when they change), and the runner's
        code (copied again when it changes). So a `.dev` service reinstalls
        exactly what changed, and nothing when nothing did.
        """
        python, wheels, venv_line, code_line, before = self._plan()
        done = []
        if before[:1] != [venv_line]:
            self._upload_wheels(wheels)
            self._make_venv(wheels)
            done.append(f'its Python {python} environment')
        if done or before[1:2] != [code_line]:
            self._upload_code()
            done.append('its code')
        if not done:
            return f'CWL runner up to date (Python {python})'
        marker = posixpath.join(self._dir, 'installed')
        self._fs.write_bytes(marker, f'{venv_line}\n{code_line}\n'.encode())
        return 'installed the CWL runner: ' + ' and '.join(done)

    def _upload_wheels(self, wheels: List[Path]) -> None:
        wheel_dir = posixpath.join(self._dir, 'wheels')
        self._fs.mkdir(wheel_dir)
        for wheel in wheels:
            target = posixpath.join(wheel_dir, wheel.name)
            if self._fs.size(target) != wheel.stat().st_size:
                with open(wheel, 'rb') as stream:
                    self._fs.put_stream(stream, target)

    def _upload_code(self) -> None:
        package = posixpath.join(self._dir, 'cerise_runner')
        self._fs.mkdir(package)
        for name, path in _runner_files():
            self._fs.write_bytes(posixpath.join(package, name), path.read_bytes())

    def _make_venv(self, wheels: List[Path]) -> None:
        q = shlex.quote
        base = self._dir
        pip_wheel = next(w.name for w in wheels if w.name.startswith('pip-'))
        new, venv = posixpath.join(base, 'venv.new'), posixpath.join(base, 'venv')
        wheel_dir = posixpath.join(base, 'wheels')
        venv_args = ['-m', 'venv', '--without-pip', new]
        make = resource_python_command(self._prelude, self._python, venv_args)
        self._run(
            f'set -e\nrm -rf {q(new)}\n{make}\n'
            f'{q(new)}/bin/python {q(wheel_dir + "/" + pip_wheel)}/pip install --quiet '
            f'--no-index --find-links {q(wheel_dir)} --disable-pip-version-check '
            f'{" ".join(REQUIREMENTS)}\n'
            f'site=$({q(new)}/bin/python -c "import sysconfig; print(sysconfig.get_paths()[\'purelib\'])")\n'
            f'echo {q(base)} > "$site/cerise-runner.pth"\n'
            f'rm -rf {q(venv)}\nmv {q(new)} {q(venv)}\n'
            f'{q(venv)}/bin/python -c "import cwltool, py_mini_racer"\n',
            'making its Python environment',
        )
