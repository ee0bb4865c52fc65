"""The imports between cerise_actors' modules, read from the source with `ast`.

Shared by the layering test (tests/unit/test_package_imports.py) and by the
generator of docs/design.md's import table (tests/design_tables.py), so the
rules and the document are read from the same scan. Every import counts,
wherever it is (inside functions, under `if TYPE_CHECKING:`), relative or
absolute, and `importlib.import_module('cerise_actors....')` too.
"""

import ast
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, NamedTuple, Set, Tuple

import cerise_actors

PACKAGE_DIR = Path(cerise_actors.__file__).resolve().parent
TOP = 'cerise_actors'
#: the package's own __init__ (it only holds __version__)
ROOT = TOP


class Import(NamedTuple):
    """One import statement of one module, reduced to the module it reaches."""

    path: str  # the importing file, relative to the repository
    line: int
    source: str  # the statement as written (ast.unparse)
    importer: str  # the importing module, e.g. cerise_actors.web.app
    target: str  # the module reached, e.g. cerise_actors.errors
    in_function: bool = False  # made only when a function runs, not on import

    def __str__(self):
        return (
            f'{self.path}:{self.line}: {self.source}  '
            f'({group_of(self.importer)} -> {group_of(self.target)})'
        )


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def all_modules() -> Dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob('*.py'))}


def group_of(module: str) -> str:
    """The package of the layering a module belongs to."""
    parts = module.split('.')
    if len(parts) == 1:
        return ROOT
    if parts[1] in ('cli', '__main__'):
        return 'cli'
    return parts[1]


def _is_ours(module: str) -> bool:
    return module == TOP or module.startswith(TOP + '.')


def _inside_functions(tree: ast.AST) -> Set[int]:
    """The ids of the nodes in the body of some function (or lambda) of `tree`."""
    inside: Set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inside.update(id(sub) for sub in ast.walk(node) if sub is not node)
    return inside


def imports_in(source: str, module: str, is_package: bool, known: Set[str], path: str = '?'):
    """Every cerise_actors module that `source` (module `module`) imports."""
    tree = ast.parse(source, filename=path)
    in_functions = _inside_functions(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.split('.') if is_package else module.split('.')[:-1]
                if node.level - 1 > len(package) - 1:
                    raise AssertionError(f'{path}:{node.lineno}: relative import beyond {TOP}')
                base = '.'.join(package[: len(package) - (node.level - 1)])
                base = f'{base}.{node.module}' if node.module else base
            else:
                base = node.module
            # `from x import y` reaches x.y if that is a module, else x
            targets = [
                f'{base}.{alias.name}' if f'{base}.{alias.name}' in known else base
                for alias in node.names
            ]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, 'attr', getattr(node.func, 'id', None))
            in ('import_module', '__import__')
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            targets = [node.args[0].value]
        else:
            continue
        for target in dict.fromkeys(targets):
            if _is_ours(target):
                yield Import(
                    path, node.lineno, ast.unparse(node), module, target, id(node) in in_functions
                )


def collect_imports() -> List[Import]:
    modules = all_modules()
    known = set(modules)
    found = []
    for module, path in modules.items():
        found.extend(
            imports_in(
                path.read_text(encoding='utf-8'),
                module,
                path.name == '__init__.py',
                known,
                str(path.relative_to(PACKAGE_DIR.parent)),
            )
        )
    return found


def package_edges(imports: List[Import]) -> Dict[Tuple[str, str], List[Import]]:
    """(importer package, imported package) -> the imports that make the edge."""
    edges = defaultdict(list)
    for imp in imports:
        a, b = group_of(imp.importer), group_of(imp.target)
        if a != b:
            edges[(a, b)].append(imp)
    return dict(edges)
