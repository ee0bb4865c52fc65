"""The CWL v1.2 conformance tests: where they are, and which ones this service can take.

A test is *eligible* if its tool document (`tool`, with a `#fragment` for
packed documents) is a `class: Workflow`, it is not `should_fail`, and
neither the workflow nor anything it runs has a `DockerRequirement` under
`requirements` (under `hints` it is fine: jobs run with `--no-container`).
The `docker` tag is only reported, since a tag is no requirement.
"""

import dataclasses
import os
import tarfile
from pathlib import Path
from typing import Any, List, Optional
from urllib.parse import unquote, urlsplit

from . import documents

REPO_DIR = Path(__file__).resolve().parents[2]
TARBALL_NAME = 'cwl-v1.2-551d58d.tar.gz'
#: the CWL v1.2 spec repository at commit 551d58d (Apache-2.0, its LICENSE.txt inside),
#: shipped with the tests so a clone of this repository alone runs them
DEFAULT_TARBALL = Path(__file__).resolve().parent / 'data' / TARBALL_NAME
INDEX = 'conformance_tests.yaml'


@dataclasses.dataclass(frozen=True)
class ConformanceTest:
    id: str
    tool: Path
    fragment: str  # '' unless the tool is `file.cwl#name`
    job: Optional[Path]
    output: Any
    tags: tuple
    doc: str
    should_fail: bool


@dataclasses.dataclass
class Selection:
    total: int
    eligible: List[ConformanceTest]
    excluded: dict  # test id -> reasons, the first one decided
    docker_tagged_kept: List[str]  # tagged `docker`, but Docker is no requirement
    docker_hinted: List[str]  # eligible, with DockerRequirement as a hint somewhere


def unpack(tarball: Path, dest: Path) -> Path:
    """Unpack the spec repository's tarball into `dest`; returns the checkout."""
    if not Path(tarball).is_file():
        raise FileNotFoundError(
            f'{tarball} not found: the CWL v1.2 repository is expected at '
            f'tests/conformance/data/{TARBALL_NAME}; give --cwl-repo DIR or --tarball FILE'
        )
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        if hasattr(tarfile, 'data_filter'):
            archive.extractall(dest, filter='data')
        else:  # Python < 3.11.4
            archive.extractall(dest)  # noqa: S202 (our own file, shipped with the tests)
    return find_checkout(dest)


def find_checkout(folder: Path) -> Path:
    """The folder holding conformance_tests.yaml: `folder` or one below it."""
    folder = Path(folder).resolve()
    if (folder / INDEX).is_file():
        return folder
    for child in sorted(folder.iterdir()):
        if (child / INDEX).is_file():
            return child
    raise FileNotFoundError(f'no {INDEX} in {folder} or the folders in it')


def _local(uri: Optional[str]) -> Optional[Path]:
    if not uri:
        return None
    return Path(unquote(urlsplit(uri).path))


def load_tests(checkout: Path) -> List[ConformanceTest]:
    """Every test of the index, following its `$import`s (cwltest's own loader)."""
    from cwltest.utils import load_and_validate_tests

    previous = os.getcwd()
    os.chdir(checkout)  # the index names its files relative to itself
    try:
        raw, _ = load_and_validate_tests(str(checkout / INDEX))
    finally:
        os.chdir(previous)
    tests = []
    for entry in raw:
        tool = urlsplit(entry['tool'])
        tests.append(
            ConformanceTest(
                id=str(entry.get('id', entry['tool'])).rsplit('#', 1)[-1],
                tool=_local(entry['tool']),
                fragment=tool.fragment,
                job=_local(entry.get('job')),
                output=entry.get('output', {}),
                tags=tuple(entry.get('tags') or ()),
                doc=str(entry.get('doc', '')).strip(),
                should_fail=bool(entry.get('should_fail')),
            )
        )
    return tests


def tool_class(test: ConformanceTest) -> str:
    try:
        process = documents.graph_entry(documents.load(test.tool), test.fragment)
    except Exception as error:  # unreadable: not something to run
        return f'unreadable ({error})'
    return str(process.get('class')) if isinstance(process, dict) else 'no process'


def _mentions_docker(requirements: Any) -> bool:
    if isinstance(requirements, dict):
        return 'DockerRequirement' in requirements
    if isinstance(requirements, list):
        return any(
            isinstance(item, dict) and item.get('class') == 'DockerRequirement'
            for item in requirements
        )
    return False


def docker_use(test: ConformanceTest, section: str) -> Optional[str]:
    """Where the workflow or a process it runs has DockerRequirement in `section`."""
    for file, process in documents.processes_reachable(test.tool, test.fragment):
        for path, node in documents.walk(process):
            if path and path[-1] == section and _mentions_docker(node):
                where = '.'.join(str(part) for part in path)
                return f'{file.name}: {where}'
    return None


def select(tests: List[ConformanceTest]) -> Selection:
    eligible, excluded, kept, hinted = [], {}, [], []
    for test in tests:
        reasons = []
        cls = tool_class(test)
        if cls != 'Workflow':
            reasons.append(f'not a Workflow: {cls}')
        if test.should_fail:
            reasons.append('should_fail')
        docker = docker_use(test, 'requirements')
        if docker:
            reasons.append(f'DockerRequirement as a requirement ({docker})')
        if reasons:
            excluded[test.id] = reasons
            continue
        if 'docker' in test.tags:
            kept.append(test.id)
        if docker_use(test, 'hints'):
            hinted.append(test.id)
        eligible.append(test)
    return Selection(len(tests), eligible, excluded, kept, hinted)


def reason_kind(reason: str) -> str:
    """A reason without its details, for counting."""
    return reason.split(' (', 1)[0]


def describe_selection(selection: Selection) -> List[str]:
    """Lines saying how many tests were kept, and why the others were not."""
    counts = {}
    for reasons in selection.excluded.values():
        kind = reason_kind(reasons[0])
        counts[kind] = counts.get(kind, 0) + 1
    all_reasons = {}
    for reasons in selection.excluded.values():
        for reason in reasons:
            kind = reason_kind(reason)
            all_reasons[kind] = all_reasons.get(kind, 0) + 1
    lines = [
        f'{selection.total} tests in the index; {len(selection.eligible)} eligible '
        f'(class Workflow, not should_fail, no DockerRequirement as a requirement); '
        f'{len(selection.excluded)} excluded:'
    ]
    for kind, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        total = all_reasons[kind]
        also = (
            f' ({total} in all, counting tests excluded for an earlier reason)'
            if total != count
            else ''
        )
        lines.append(f'  {count:4d}  {kind}{also}')
    for kind, total in sorted(all_reasons.items()):
        if kind not in counts:
            lines.append(f'     0  {kind} ({total} in all, all excluded for an earlier reason)')
    if 'DockerRequirement as a requirement' not in all_reasons:
        lines.append(
            '     0  DockerRequirement as a requirement (in the workflow or any tool it runs)'
        )
    if selection.docker_hinted:
        lines.append(
            f'  {len(selection.docker_hinted)} eligible tests have DockerRequirement as a hint '
            f'only (run without containers): {", ".join(selection.docker_hinted)}'
        )
    if selection.docker_tagged_kept:
        lines.append(
            f'  kept although tagged docker (Docker only as a hint): '
            f'{", ".join(selection.docker_tagged_kept)}'
        )
    return lines
