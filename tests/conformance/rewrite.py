"""Turning a conformance test into a workflow of installed steps, as a user would submit it.

For test `<key>`, everything the workflow's steps run goes into ONE project,
`api/conformance/steps/conformance/<key>/`, at its path in the spec
repository (`tests/...`), so references between those files keep working:

- a step's `run: file.cwl` is copied with all it refers to (tools, sub-
  workflows, `$import`ed and `$include`d files, File defaults);
- an inline `run:` of step `s` and a `run: "#name"` into a packed (`$graph`)
  document are written (as JSON) to files of their own next to the document,
  `<stem>.step_<s>.cwl` and `<stem>.<name>.cwl`;
- the workflow's `run:` entries become `conformance/<key>/<path>.cwl`.

The submitted workflow (as JSON), what it refers to itself (`$import`, File
defaults) and the job's input files go to the exchange area,
`input/conformance-<key>/`, at the same relative paths. The job input names
them by the exchange's client URLs. Next to the workflow, `<stem>.cwltool.cwl`
is the same workflow with each `run:` the local path of the installed step,
for the bare cwltool reference run.
"""

import copy
import dataclasses
import glob
import json
import re
import shutil
from pathlib import Path
from typing import Any, List, Optional
from urllib.parse import quote

import yaml

from . import documents
from .suite import ConformanceTest

PROJECT = 'conformance'
VERSION = '1.0.0.dev'


class RewriteError(Exception):
    """The test cannot be turned into a workflow of installed steps."""


@dataclasses.dataclass
class Prepared:
    test: ConformanceTest
    key: str
    job_name: str
    workflow_url: str  # what the job names as its workflow
    job: dict  # the job's input object, with exchange URLs
    reference_workflow: Optional[Path]  # for cwltool
    job_file: Optional[Path]
    steps: List[str]
    problem: Optional[str] = None  # why the service cannot be given the test


@dataclasses.dataclass(frozen=True)
class Layout:
    api_dir: Path
    exchange_dir: Path
    client_url: str  # the exchange's store-location-client
    spare_dir: Path  # steps that the installer would refuse go here instead

    @property
    def steps_root(self) -> Path:
        return self.api_dir / PROJECT / 'steps' / PROJECT

    def write_project(self) -> None:
        (self.api_dir / PROJECT).mkdir(parents=True, exist_ok=True)
        (self.api_dir / PROJECT / 'version').write_text(VERSION + '\n')
        self.steps_root.mkdir(parents=True, exist_ok=True)


def folder_name(test_id: str, taken: set) -> str:
    """A step folder name for the test: its id, made safe and unique."""
    name = re.sub(r'[^A-Za-z0-9_.-]', '_', test_id).strip('.') or 'test'
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f'{name}-{number}'
    taken.add(candidate)
    return candidate


class _Mirror:
    """Copies files of the spec repository under `root`, at their relative paths."""

    def __init__(self, checkout: Path, root: Path):
        self.checkout = checkout
        self.root = root
        self.done = set()

    def relative(self, path: Path) -> str:
        try:
            return Path(path).resolve().relative_to(self.checkout).as_posix()
        except ValueError:
            raise RewriteError(f'{path} lies outside the spec repository') from None

    def copy(self, path: Path) -> str:
        rel = self.relative(path)
        target = self.root / rel
        if rel in self.done or not path.exists():
            return rel  # a missing file stays missing, as in the original
        self.done.add(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.copytree(path, target, dirs_exist_ok=True)
        else:
            shutil.copyfile(path, target)
        return rel

    def copy_file(self, path: Path) -> str:
        """Copy a File, and the files next to it that may be its secondaryFiles.

        CWL finds secondary files by name next to the primary (`A.txt.idx`,
        `A.idx`), so every sibling whose name starts like the primary's comes along.
        """
        rel = self.copy(path)
        if path.is_file():
            stem = path.name.split('.', 1)[0]
            for sibling in path.parent.glob(f'{glob.escape(stem)}*'):
                if sibling != path and sibling.is_file():
                    self.copy(sibling)
        return rel

    def write(self, rel: str, text: str) -> None:
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding='utf-8')
        self.done.add(rel)

    def follow(self, node: Any, base: Path, skip_runs_of: Optional[dict] = None) -> None:
        """Copy what `node` (in the document at `base`) refers to, and on down."""
        for ref in documents.references(node, base, skip_runs_of):
            if ref.path is None:
                continue  # a fragment of this document, which is copied whole
            if ref.kind in ('run', 'yaml'):
                self.copy_document(ref.path)
            elif ref.kind == 'file':
                self.copy_file(ref.path)
            else:
                self.copy(ref.path)

    def copy_document(self, path: Path) -> str:
        rel = self.relative(path)
        if rel in self.done:
            return rel
        self.copy(path)
        if path.is_file():
            try:
                doc = documents.load(path)
            except Exception:  # not YAML: the runner will say so
                return rel
            self.follow(doc, path)
        return rel


class _Steps(_Mirror):
    """The installed steps of one test; `install` returns a step's path."""

    def install(self, step_id: str, run: Any, file: Path, root: Any) -> str:
        if isinstance(run, dict):
            return self.extract(inline=run, file=file, root=root, name=f'step_{step_id}')
        if not isinstance(run, str):
            raise RewriteError(f'step {step_id!r}: run is a {type(run).__name__}')
        target, fragment = documents.split_ref(run, file)
        if target is None and not run.startswith('#'):
            raise RewriteError(f'step {step_id!r}: run {run!r} is not a local file')
        target = target or file
        if fragment:
            return self.extract(file=target, root=documents.load(target), name=fragment)
        return self.copy_document(target)

    def extract(self, file: Path, root: Any, name: str, inline: Optional[dict] = None) -> str:
        """Write a process of `file` (inline, or `#name` of a graph) to a file of its own."""
        safe = re.sub(r'[^A-Za-z0-9_.-]', '_', name)
        folder = self.relative(file.parent)
        rel = f'{file.stem}.{safe}.cwl' if folder == '.' else f'{folder}/{file.stem}.{safe}.cwl'
        if rel in self.done:
            return rel
        entry = inline if inline is not None else documents.graph_entry(root, name)
        if not isinstance(entry, dict):
            raise RewriteError(f'{file.name}: no process #{name}')
        self.done.add(rel)
        doc = copy.deepcopy(documents.inherit_root(entry, root))
        self.localise_fragments(doc, file, root)
        self.write(rel, documents.dump_json(doc))
        self.follow(entry, file)
        return rel

    def localise_fragments(self, doc: dict, file: Path, root: Any) -> None:
        """`run: "#name"` inside a packed document -> the file it is extracted to."""
        if not (isinstance(root, dict) and '$graph' in root):
            return
        for path, node in documents.walk(doc):
            run = node.get('run') if isinstance(node, dict) else None
            if isinstance(run, str) and run.startswith('#') and len(path) >= 2:
                rel = self.extract(file=file, root=root, name=run[1:])
                node['run'] = Path(rel).name


def _process_document(test: ConformanceTest) -> tuple:
    root = documents.load(test.tool)
    process = documents.graph_entry(root, test.fragment)
    if not isinstance(process, dict):
        raise RewriteError(f'{test.tool.name}: no process #{test.fragment or "main"}')
    if process is root:
        return copy.deepcopy(root), root
    return copy.deepcopy(documents.inherit_root(process, root)), root


def _step_items(workflow: dict) -> list:
    steps = workflow.get('steps')
    if isinstance(steps, dict):
        return [(str(key), step) for key, step in steps.items() if isinstance(step, dict)]
    if isinstance(steps, list):
        return [
            (str(step.get('id', i)).rsplit('/', 1)[-1].lstrip('#'), step)
            for i, step in enumerate(steps)
            if isinstance(step, dict)
        ]
    return []


def installer_refuses(step_dir: Path) -> Optional[str]:
    """Why the service's installer would stop at a file in `step_dir` (its own rules)."""
    for path in sorted(step_dir.rglob('*.cwl')):
        try:
            doc = yaml.safe_load(path.read_text(encoding='utf-8'))
            if not isinstance(doc, dict):
                return f'{path.relative_to(step_dir)} is not a mapping'
            json.dumps(doc)
        except (yaml.YAMLError, UnicodeDecodeError, TypeError, ValueError) as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            return f'{path.relative_to(step_dir)}: {type(error).__name__}: {first}'
    return None


def _job_input(test: ConformanceTest, mirror: _Mirror, base_url: str) -> dict:
    """The job's input object, its files copied to the exchange and named by URL."""
    if test.job is None:
        return {}
    job = copy.deepcopy(documents.load(test.job)) or {}
    for _, node in documents.walk(job):
        if not (isinstance(node, dict) and node.get('class') in ('File', 'Directory')):
            continue
        location = node.get('location', node.get('path'))
        if not isinstance(location, str) or location.startswith('_:'):
            continue
        target, _ = documents.split_ref(location, test.job)
        if target is None:
            continue
        rel = mirror.copy_file(target)
        node.pop('path', None)
        node['location'] = f'{base_url}/{quote(rel)}'
    return job


def _share_imports(node: Any, tool: Path, inputs: _Mirror, installed: Path, as_name=None) -> Any:
    """The reference workflow, its `$import`s and `file#Type` names pointed at installed copies.

    Types from a `$import`ed file are named by the file's URL. In the original
    test the workflow and its tools import one file, so the names match; once
    the tools are installed elsewhere they would not (cwltool: "Source ... is
    incompatible with sink"). The submitted workflow names them as a user
    names the specialisation's files (`as_name(rel)`: `conformance/<key>/<rel>`),
    so the service points them at the same installed copies; steps (.cwl) are
    never named this way.
    """

    def shared(ref: str, named: bool) -> str:
        if not named and '#' not in ref:
            return ref
        target, fragment = documents.split_ref(ref, tool)
        if target is None or not ref.split('#', 1)[0]:
            return ref
        try:
            copy_ = installed / inputs.relative(target)
        except RewriteError:
            return ref
        if not copy_.is_file() or (as_name and copy_.suffix == '.cwl'):
            return ref
        target_name = as_name(copy_.relative_to(installed).as_posix()) if as_name else str(copy_)
        return target_name + (f'#{fragment}' if fragment else '')

    if isinstance(node, list):
        return [_share_imports(item, tool, inputs, installed, as_name) for item in node]
    if isinstance(node, dict):
        return {
            key: shared(value, True)
            if key in ('$import', '$mixin') and isinstance(value, str)
            else _share_imports(value, tool, inputs, installed, as_name)
            for key, value in node.items()
        }
    if isinstance(node, str):
        return shared(node, False)
    return node


def prepare(test: ConformanceTest, key: str, checkout: Path, layout: Layout) -> Prepared:
    """Write the test's installed steps and exchange files; see the module's doc."""
    job_name = f'{PROJECT}-{key}'
    step_dir = layout.steps_root / key
    inputs = _Mirror(checkout, layout.exchange_dir / 'input' / job_name)
    steps = _Steps(checkout, step_dir)
    workflow, root = _process_document(test)
    names = []
    for step_id, step in _step_items(workflow):
        if 'run' not in step:
            raise RewriteError(f'step {step_id!r} has no run')
        rel = steps.install(step_id, step['run'], test.tool, root)
        step['run'] = f'{PROJECT}/{key}/{rel}'
        names.append(step['run'])
    inputs.follow(workflow, test.tool, skip_runs_of=workflow)
    base_url = f'{layout.client_url}/input/{quote(job_name)}'
    job = _job_input(test, inputs, base_url)

    rel = inputs.relative(test.tool)
    submitted = workflow
    if step_dir.exists():
        submitted = _share_imports(
            workflow, test.tool, inputs, step_dir, lambda name: f'{PROJECT}/{key}/{name}'
        )
    inputs.write(rel, documents.dump_json(submitted))
    job_file = inputs.root / 'job.json'
    job_file.write_text(json.dumps(job, indent=2, default=str))

    problem = installer_refuses(step_dir) if step_dir.exists() else None
    installed = step_dir
    if problem:
        installed = layout.spare_dir / key
        installed.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(step_dir), str(installed))
        problem = f'the service could not install its steps: {problem}'
    reference = copy.deepcopy(workflow)
    prefix = f'{PROJECT}/{key}/'
    for _, step in _step_items(reference):
        step['run'] = str(installed / step['run'][len(prefix) :])
    reference = _share_imports(reference, test.tool, inputs, installed)
    reference_file = inputs.root / (rel[: -len(Path(rel).suffix)] + '.cwltool.cwl')
    inputs.write(reference_file.relative_to(inputs.root).as_posix(), documents.dump_json(reference))
    return Prepared(
        test=test,
        key=key,
        job_name=job_name,
        workflow_url=f'{base_url}/{quote(rel)}',
        job=job,
        reference_workflow=reference_file,
        job_file=job_file,
        steps=list(dict.fromkeys(names)),
        problem=problem,
    )


def prepare_all(tests: List[ConformanceTest], checkout: Path, layout: Layout) -> List[Prepared]:
    """Prepare every test; one that cannot be rewritten is kept with its problem."""
    layout.write_project()
    taken: set = set()
    prepared = []
    for test in tests:
        key = folder_name(test.id, taken)
        try:
            prepared.append(prepare(test, key, checkout, layout))
        except (RewriteError, OSError, ValueError) as error:
            shutil.rmtree(layout.steps_root / key, ignore_errors=True)
            prepared.append(
                Prepared(test, key, f'{PROJECT}-{key}', '', {}, None, None, [], f'rewrite: {error}')
            )
    return prepared
