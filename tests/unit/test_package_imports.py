"""The import rules between the packages of cerise_actors, checked on the source.

Every module is parsed with `ast`; every import counts, wherever it is (inside
functions, under `if TYPE_CHECKING:`), relative (`from ..store import x`) or
absolute (`import cerise_actors.store`, `from cerise_actors.store import x`).
Each import is reduced to the package it reaches, and the rules below are
checked on those package edges. Whether the client can run without the
service's dependencies is checked at run time in test_client_standalone.py.
"""

from collections import defaultdict
from typing import Dict, List, Set, Tuple

from ..import_graph import (
    ROOT,
    Import,
    all_modules,
    collect_imports,
    group_of,
    imports_in,
    package_edges,
)

CLIENT = 'client'
#: the CWL runner: copied alone to compute resources, so it imports nothing of the service
RUNNER = 'runner'

#: the layers, bottom first: a package may import the packages of lower layers
LAYERS: List[Set[str]] = [
    {'boundary', 'auth'},  # the trust boundary and who is asking: standard library only
    {ROOT, 'errors', 'defaults'},
    {'jobs'},
    {'config', 'cwl', 'resource', 'store'},
    {'staging'},
    {'actors'},
    {'web'},
    {'app'},
    {'cli'},  # cli.py and __main__.py
]
LEVEL = {package: level for level, layer in enumerate(LAYERS) for package in layer}

#: imports the layers alone would refuse, each with the reason it is allowed
ALLOWED: Dict[Tuple[str, str], str] = {
    # same layer: resource/ssh_connection.py takes its SshConfig and
    # Credentials from config (config imports nothing of resource: no cycle)
    ('resource', 'config'): 'the SSH connection is configured by config.SshConfig',
    # the client stands apart from the server; it reads only the version
    # string of the top-level package (for its User-Agent)
    (CLIENT, ROOT): 'cerise_actors.__version__',
    # the one command line offers both the service and the client commands
    ('cli', CLIENT): 'the cerise-actors command includes the client commands',
    # the runner confines itself with the boundary's own rules; it is deployed
    # with copies of exactly these modules (staging/runner_install.BOUNDARY_COPIES)
    (RUNNER, 'boundary'): 'boundary.locations and boundary.workflow_policy, shipped with it',
}
#: the boundary modules the runner may import (it is deployed with copies of them)
RUNNER_SHIPS = {'cerise_actors.boundary.locations', 'cerise_actors.boundary.workflow_policy'}


IMPORTS = collect_imports()
EDGES = package_edges(IMPORTS)


def _show(imports: List[Import]) -> str:
    return '\n'.join(f'  {imp}' for imp in imports)


# --- the scanner itself ---------------------------------------------------------


def test_the_scanner_finds_every_form_of_import():
    known = {
        'cerise_actors',
        'cerise_actors.defaults',
        'cerise_actors.web',
        'cerise_actors.web.app',
        'cerise_actors.web.backend',
        'cerise_actors.store',
        'cerise_actors.store.actor',
    }
    source = '\n'.join(
        [
            'import os',
            'import cerise_actors.store.actor',
            'from cerise_actors import defaults',
            'from .. import __version__',
            'from . import backend',
            'from .backend import JobsBackend',
            'from ..store.actor import StoreActor',
            'def late():',
            '    from ..store import actor',
            '    import importlib',
            "    importlib.import_module('cerise_actors.store')",
            'if TYPE_CHECKING:',
            '    from cerise_actors.store.actor import StoreActor',
        ]
    )
    found = list(imports_in(source, 'cerise_actors.web.app', False, known, 'app.py'))
    assert sorted((imp.line, imp.target) for imp in found) == [
        (2, 'cerise_actors.store.actor'),
        (3, 'cerise_actors.defaults'),
        (4, 'cerise_actors'),
        (5, 'cerise_actors.web.backend'),
        (6, 'cerise_actors.web.backend'),
        (7, 'cerise_actors.store.actor'),
        (9, 'cerise_actors.store.actor'),
        (11, 'cerise_actors.store'),
        (13, 'cerise_actors.store.actor'),
    ]
    assert {imp.source for imp in found if imp.line == 7} == {
        'from ..store.actor import StoreActor'
    }
    # in a package's __init__, `.` is the package itself
    found = list(imports_in('from .app import x', 'cerise_actors.web', True, known))
    assert [imp.target for imp in found] == ['cerise_actors.web.app']


def test_the_scanner_sees_the_whole_package():
    modules = all_modules()
    assert {'cerise_actors.web.app', 'cerise_actors.cli', 'cerise_actors.__main__'} <= set(modules)
    assert len(modules) > 50
    # a few imports known to be there, among them ones inside functions
    seen = {(imp.importer, imp.target) for imp in IMPORTS}
    assert ('cerise_actors.web.app', 'cerise_actors.errors') in seen
    assert ('cerise_actors.cli', 'cerise_actors.app.lifecycle') in seen  # in main()
    assert ('cerise_actors.config.model', 'cerise_actors.defaults') in seen  # from .. import


def test_every_package_has_a_place_in_the_layering():
    groups = {group_of(module) for module in all_modules()}
    unplaced = groups - set(LEVEL) - {CLIENT, RUNNER}
    assert not unplaced, f'packages not in LAYERS (add them where they belong): {unplaced}'


# --- the rules -------------------------------------------------------------------


def test_packages_import_each_other_without_cycles():
    graph = defaultdict(set)
    for a, b in EDGES:
        graph[a].add(b)
    cycle = _find_cycle(graph)
    assert cycle is None, (
        'import cycle between packages '
        + ' -> '.join(cycle)
        + ':\n'
        + '\n'.join(_show(EDGES[(a, b)][:3]) for a, b in zip(cycle, cycle[1:]))
    )


def _find_cycle(graph):
    """A list [a, b, ..., a] of packages forming a cycle, or None (the graph is a DAG)."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = defaultdict(int)
    stack = []

    def visit(node):
        colour[node] = GREY
        stack.append(node)
        for nxt in sorted(graph[node]):
            if colour[nxt] == GREY:
                return stack[stack.index(nxt) :] + [nxt]
            if colour[nxt] == WHITE:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        colour[node] = BLACK
        return None

    for node in sorted(list(graph)):
        if colour[node] == WHITE:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_cycles():
    assert _find_cycle({'a': {'b'}, 'b': {'c'}, 'c': set()}) is None
    assert _find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert _find_cycle({'a': {'b'}, 'b': {'b'}}) == ['b', 'b']


def _allowed(a: str, b: str) -> bool:
    if (a, b) in ALLOWED:
        return True
    if RUNNER in (a, b):
        return False
    if a == CLIENT or b == CLIENT:
        return False
    return LEVEL[b] < LEVEL[a]


def test_each_package_imports_only_packages_below_it():
    bad = [imp for (a, b), imps in sorted(EDGES.items()) if not _allowed(a, b) for imp in imps]
    assert not bad, 'imports against the layering (see LAYERS and ALLOWED):\n' + _show(bad)


def test_errors_and_defaults_import_nothing_of_cerise_actors():
    bad = [imp for imp in IMPORTS if group_of(imp.importer) in ('errors', 'defaults', ROOT)]
    bad += [imp for imp in IMPORTS if imp.importer == ROOT]
    assert not bad, _show(bad)


def test_the_client_imports_only_itself():
    bad = [
        imp
        for imp in IMPORTS
        if group_of(imp.importer) == CLIENT and group_of(imp.target) not in (CLIENT, ROOT)
    ]
    assert not bad, 'the client imports the server:\n' + _show(bad)


def test_the_runner_imports_nothing_of_the_service_and_nothing_imports_it():
    bad = [
        imp
        for imp in IMPORTS
        if (group_of(imp.importer) == RUNNER) != (group_of(imp.target) == RUNNER)
        and not (group_of(imp.importer) == RUNNER and imp.target in RUNNER_SHIPS)
    ]
    assert not bad, 'the runner must stand alone (it is copied to resources):\n' + _show(bad)
    from cerise_actors.staging.runner_install import BOUNDARY_COPIES

    shipped = {f'cerise_actors.boundary.{source[:-3]}' for source in BOUNDARY_COPIES.values()}
    assert shipped == RUNNER_SHIPS, 'the runner imports what is deployed with it'
    for module in RUNNER_SHIPS:  # a copy alone must import nothing of ours
        assert not [imp for imp in IMPORTS if imp.importer == module], module
    assert any(group_of(imp.importer) == RUNNER for imp in IMPORTS), 'the runner was scanned'


def test_only_the_command_line_imports_the_client():
    bad = [
        imp
        for imp in IMPORTS
        if group_of(imp.target) == CLIENT and group_of(imp.importer) not in (CLIENT, 'cli')
    ]
    assert not bad, 'the server imports the client:\n' + _show(bad)


def test_web_does_not_import_store():
    bad = EDGES.get(('web', 'store'), [])
    assert not bad, 'the front end reaches the job store directly:\n' + _show(bad)


def test_actors_does_not_import_app():
    bad = EDGES.get(('actors', 'app'), [])
    assert not bad, 'an actor imports the application that builds it:\n' + _show(bad)


def test_only_app_imports_actors_store_and_web_together():
    wiring = {'actors', 'store', 'web'}
    reached = defaultdict(dict)
    for (a, b), imps in EDGES.items():
        if b in wiring:
            reached[a][b] = imps[0]
    wirers = sorted(a for a, targets in reached.items() if set(targets) == wiring)
    assert wirers == ['app'], 'packages importing actors, store and web together:\n' + '\n'.join(
        f'{a}:\n' + _show(list(reached[a].values())) for a in wirers if a != 'app'
    )


def test_every_allowance_is_still_used():
    unused = {edge: why for edge, why in ALLOWED.items() if edge not in EDGES}
    assert not unused, f'remove these allowances, nothing needs them any more: {unused}'
