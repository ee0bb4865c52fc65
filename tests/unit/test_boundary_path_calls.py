"""Only boundary/ opens, lists, resolves or removes files by path where the
exchange area is reached (issue 18), checked on the source with `ast`.

Everything else reaches exchange files through `boundary.confined.ConfinedRoot`,
which no link can lead out of; the few calls by path left elsewhere are listed
in PATH_CALLS_ALLOWED, each with the reason it does not touch the exchange.
"""

import ast
from collections import defaultdict
from typing import Dict, Tuple

from ..import_graph import PACKAGE_DIR, all_modules, group_of
from .test_package_imports import CLIENT, RUNNER

#: calls that open, list, resolve or remove a file by its path
_OS_PATH_CALLS = {'open', 'walk', 'fwalk', 'scandir', 'listdir'}
_PATH_METHODS = {'resolve', 'rglob', 'glob', 'iterdir'}
#: packages that never see the exchange: the runner and the client run elsewhere
_ELSEWHERE = {RUNNER, CLIENT}

#: (file below cerise_actors/, call) -> why it is not a path of the exchange, or why it
#: may stay for now. Everything else that opens or resolves by path goes through
#: boundary/ (confined.ConfinedRoot, locations), which no link can lead out of.
PATH_CALLS_ALLOWED: Dict[Tuple[str, str], str] = {
    ('cli.py', 'glob'): 'counts the wheels `cerise-actors wheels` downloaded',
    ('auth/secret_files.py', 'os.open'): 'the token and URL key in the run folder, O_NOFOLLOW',
    ('auth/users.py', 'os.open'): 'the users file named in the config, O_NOFOLLOW',
    ('cwl/steps.py', 'rglob'): 'the installed steps of the specialisation, not the exchange',
    ('staging/api_install.py', 'rglob'): 'the specialisation being installed',
    ('staging/api_install.py', 'iterdir'): 'the projects of the specialisation',
    ('staging/api_install.py', 'resolve'): 'the built-in API next to the module',
    ('staging/runner_install.py', 'resolve'): 'the runner package and the wheelhouse',
    ('staging/runner_install.py', 'glob'): 'the wheels of the wheelhouse',
    ('staging/wheelhouse.py', 'glob'): 'the wheels of the wheelhouse',
    ('staging/wheelhouse.py', 'shutil.rmtree'): (
        'a wheelhouse folder being built on first need (hidden until renamed), not the exchange'
    ),
    ('staging/validate.py', 'resolve'): 'the installed steps (the API folder), not the exchange',
    ('staging/exchange.py', 'resolve'): "the exchange's root itself, configured, resolved once",
    ('web/app.py', 'resolve'): 'the OpenAPI document next to the module',
    ('resource/completion_watch.py', 'resolve'): 'the watcher program next to the package',
    ('web/wes/resources.py', 'resolve'): 'the OpenAPI document next to the module',
    ('web/files.py', 'realpath'): 'the WebDAV root itself, configured, resolved once',
    ('resource/filesystem.py', 'shutil.rmtree'): (
        'LocalFileSystem.remove on the resource, not the exchange; rmtree removes a link, '
        'never what it points to'
    ),
}


def _fd_relative(node: ast.Call) -> bool:
    """A call that reaches only below a descriptor the caller holds (`dir_fd=`,
    or a scan of a descriptor), which comes from a ConfinedRoot."""
    if any(keyword.arg == 'dir_fd' for keyword in node.keywords):
        return True
    first = node.args[0] if node.args else None
    return isinstance(first, ast.Name) and first.id.endswith('fd')


def path_calls(source: str, path: str = '?'):
    """(line, call) of every call in `source` that opens, lists, resolves or
    removes a file by its path."""
    for node in ast.walk(ast.parse(source, filename=path)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        attr, base = node.func.attr, ast.unparse(node.func.value)
        if attr == 'realpath':
            yield node.lineno, 'realpath'
        elif attr in _OS_PATH_CALLS and base == 'os' and not _fd_relative(node):
            yield node.lineno, f'os.{attr}'
        elif attr == 'rmtree' and base == 'shutil':
            yield node.lineno, 'shutil.rmtree'
        elif attr in _PATH_METHODS and base != 'glob':
            yield node.lineno, attr


def _path_calls_outside_boundary():
    found = defaultdict(list)
    for module, path in all_modules().items():
        if group_of(module) in _ELSEWHERE | {'boundary'}:
            continue
        rel = path.relative_to(PACKAGE_DIR).as_posix()
        for line, call in path_calls(path.read_text(encoding='utf-8'), rel):
            found[(rel, call)].append(line)
    return dict(found)


PATH_CALLS = _path_calls_outside_boundary()


def test_the_path_call_scanner_sees_what_opens_by_path_and_lets_descriptors_be():
    source = '\n'.join(
        [
            'os.path.realpath(p)',
            'Path(p).resolve()',
            'os.open(p, flags)',
            'os.open(name, flags, dir_fd=fd)',
            'os.scandir(path)',
            'os.scandir(fd)',
            'folder.rglob("*")',
            'shutil.rmtree(p)',
            'os.walk(p)',
            'open(p)',
        ]
    )
    assert [call for _, call in path_calls(source)] == [
        'realpath',
        'resolve',
        'os.open',
        'os.scandir',
        'rglob',
        'shutil.rmtree',
        'os.walk',
    ]
    assert ('staging/stage_in.py', 'rglob') not in PATH_CALLS  # it walks a ConfinedRoot


def test_only_the_boundary_opens_or_resolves_exchange_paths():
    """Opening by path after a check (realpath, resolve, a walk) is how a
    folder swapped for a link leaked /etc/passwd (issue 18): staging, stage-out
    and the file exchange reach files only through boundary/."""
    bad = {key: lines for key, lines in PATH_CALLS.items() if key not in PATH_CALLS_ALLOWED}
    assert not bad, (
        'calls that open or resolve files by path outside boundary/ (use '
        'boundary.confined.ConfinedRoot, or add the call to PATH_CALLS_ALLOWED with why '
        'it never sees the exchange):\n'
        + '\n'.join(f'  cerise_actors/{f}:{lines}: {call}' for (f, call), lines in bad.items())
    )
    for staging in ('exchange.py', 'sources.py', 'stage_in.py', 'stage_out.py'):
        opened = [key for key in PATH_CALLS if key[0] == f'staging/{staging}']
        assert opened in ([], [('staging/exchange.py', 'resolve')]), opened


def test_every_path_call_allowance_is_still_used():
    unused = [key for key in PATH_CALLS_ALLOWED if key not in PATH_CALLS]
    assert not unused, f'remove these allowances, nothing needs them any more: {unused}'
