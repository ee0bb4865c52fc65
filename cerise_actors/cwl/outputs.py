"""Publishing the runner's outputs, and deciding how a run ended.

The runner reports output files by their location on the compute resource.
We copy them back and publish them under the job's output URL, so the output
object the user sees is rewritten to point there. Only files inside the
job's work dir are published: the runner's report is not trusted to point
anywhere else. Its locations are read by `boundary/locations.py` and
checked as text (they are paths on the resource, which no realpath here can
see); stage-out then reads them without following any link below the work
dir (see `resource/filesystem.ConfinedPath`).

cwltool's exit code is not reliable (3.x exits 0 even when the workflow
fails validation), so the outcome is read from its log first. The output
object is read only up to a size (`defaults.MAX_OUTPUT_JSON`): a larger one
comes from what the user handed in or asked for (a Directory of very many
files, a huge string), so a run that succeeded with it ends in
PermanentFailure saying so, never in SystemError.
"""

import copy
import json
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any, List, Optional, Set, Tuple
from urllib.parse import quote

from ..boundary import locations
from ..errors import InvalidOutput
from ..jobs.states import JobState

_FILE_CLASSES = ('File', 'Directory')
_ANSI = re.compile(r'\x1b\[[0-9;?]*[A-Za-z]')


def strip_ansi(text: str) -> str:
    """`text` without terminal colour codes (cwltool colours its log)."""
    return _ANSI.sub('', text)


_FINAL_STATUS = re.compile(r'Final process status is (\w+)')
_VALIDATION_MARKERS = (
    'Tool definition failed validation',
    'Workflow error',
    'Input object failed validation',
)


@dataclass(frozen=True)
class OutputFile:
    """One output file or directory to copy back and publish."""

    source: str  # absolute path on the resource, dot segments resolved
    relative: str  # relative to the work dir, without dot segments; published under that name
    is_directory: bool
    output: str = field(default='', compare=False)  # the output that names it, for messages


class _Publisher:
    def __init__(self, work_dir: str, publish_url: str) -> None:
        self.work_dir = locations.normalise(work_dir)
        self.publish_url = publish_url.rstrip('/')
        self.files: List[OutputFile] = []
        self.seen: Set[str] = set()

    def walk(self, value: Any, name: str, listed: bool = True) -> Any:
        if isinstance(value, list):
            return [self.walk(item, name, listed) for item in value]
        if isinstance(value, dict):
            if value.get('class') in _FILE_CLASSES:
                return self.file_object(value, name, listed)
            return {key: self.walk(item, name, listed) for key, item in value.items()}
        return value

    def file_object(self, obj: dict, name: str, listed: bool) -> dict:
        is_directory = obj['class'] == 'Directory'
        source, relative = self.local_path(obj, name)
        if listed and source not in self.seen:
            self.seen.add(source)
            self.files.append(OutputFile(source, relative, is_directory, name))
        result = copy.deepcopy(obj)
        result.pop('path', None)
        result['location'] = f'{self.publish_url}/{quote(relative)}'
        if 'secondaryFiles' in obj:
            result['secondaryFiles'] = self.walk(obj['secondaryFiles'], name, listed)
        if is_directory and 'listing' in obj:
            # Published with the directory; rewritten so links work.
            result['listing'] = self.walk(obj['listing'], name, False)
        return result

    def local_path(self, obj: dict, name: str) -> Tuple[str, str]:
        """The path on the resource a File or Directory names, and its name
        relative to the work dir; InvalidOutput unless it is below it."""
        location = obj.get('location')
        if isinstance(location, str):
            try:
                path = locations.local_path(location)
            except locations.NotLocal:
                path = None
            if path is None:
                raise InvalidOutput(
                    f"output '{name}': location {location!r} is not a file in the job's work dir"
                )
        elif isinstance(obj.get('path'), str):
            path = obj['path']
        else:
            raise InvalidOutput(
                f"output '{name}': the workflow runner gave a {obj['class']} without a location"
            )
        relative = locations.relative_below(path, self.work_dir)
        if not relative:  # outside, or the work dir itself
            raise InvalidOutput(
                f"output '{name}': {locations.normalise(path)!r} is outside the job's work dir, "
                f'so it will not be published'
            )
        return posixpath.join(self.work_dir, relative), relative


def plan_outputs(output_doc: dict, work_dir: str, publish_url: str) -> Tuple[dict, list]:
    """Return the output object as published, and the files to copy back.

    ``publish_url`` is where the job's work dir contents are published
    (e.g. ``http://host/files/output/<job id>``). Raises InvalidOutput if the
    runner reports a file outside ``work_dir``.
    """
    if not isinstance(output_doc, dict):
        raise InvalidOutput('the workflow runner did not produce an output object')
    publisher = _Publisher(work_dir, publish_url)
    result = {key: publisher.walk(value, str(key)) for key, value in output_doc.items()}
    return result, publisher.files


@dataclass(frozen=True)
class RunnerResult:
    """How a run ended, as far as the runner's output tells."""

    state: JobState  # SUCCESS, PERMANENT_/TEMPORARY_FAILURE, SYSTEM_ERROR
    reason: str  # one sentence for the job log
    output: Optional[dict]
    detail: str = field(default='', compare=False)  # the technical reason, for the service log


def _parse_output(stdout: str) -> Tuple[Optional[dict], str]:
    """The JSON object the runner printed, tolerating text before it; or
    None and why not, for the service log."""
    text = (stdout or '').strip()
    if not text:
        return None, 'stdout is empty'
    candidates = [text]
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.startswith('{') and number > 0:
            candidates.append('\n'.join(lines[number:]))
            break
    problem = ''
    for candidate in candidates:
        try:
            output = json.loads(candidate)
        except (ValueError, RecursionError) as exc:
            problem = problem or f'{type(exc).__name__}: {exc}'
            continue
        if isinstance(output, dict):
            return output, ''
        problem = problem or f'a JSON {type(output).__name__}, not an object'
    return None, f'stdout ({len(text)} characters) is not a JSON object: {problem}'


def size_text(size: int) -> str:
    """`size` bytes in words: '178.3 MiB', '12.0 KiB', '512 bytes'."""
    if size >= 1 << 20:
        return f'{size / (1 << 20):.1f} MiB'
    if size >= 1 << 10:
        return f'{size / (1 << 10):.1f} KiB'
    return f'{size} bytes'


def _too_large(size: int, limit: int) -> RunnerResult:
    return RunnerResult(
        JobState.PERMANENT_FAILURE,
        f"the workflow's output object is {size_text(size)}, more than the service reads "
        f'({size_text(limit)}): a Directory output of very many files, or a very large '
        'string or array, makes it so; return fewer, larger files (an archive, say)',
        None,
        f"the runner's stdout is {size} bytes, more than MAX_OUTPUT_JSON ({limit}); not read",
    )


def interpret_runner_result(
    exit_code: Optional[int],
    stdout: str,
    stderr: str,
    timed_out: bool = False,
    stdout_size: Optional[int] = None,
    max_stdout: Optional[int] = None,
) -> RunnerResult:
    """Decide the job's outcome from the runner's exit code and output.

    The last 'Final process status is X' line in stderr decides; failing
    that, validation errors mean a permanent failure; failing that, exit
    code 0 with a JSON object on stdout is a success. A successful run whose
    output object (`stdout_size` bytes in all) is larger than `max_stdout`
    is a permanent failure that says so: its output is not read. A
    successful run with output unreadable otherwise, or anything
    unrecognisable, is a system error.
    """
    log = strip_ansi(stderr or '')
    too_large = None  # the answer for an output object too large to read, if it is
    if stdout_size is not None and max_stdout is not None and stdout_size > max_stdout:
        too_large = _too_large(stdout_size, max_stdout)
    output, problem = (None, '') if too_large is not None else _parse_output(stdout)
    statuses = _FINAL_STATUS.findall(log)
    status = statuses[-1] if statuses else None

    if status == 'success' and output is not None:
        return RunnerResult(JobState.SUCCESS, 'the workflow finished successfully', output)
    if timed_out:
        return RunnerResult(
            JobState.PERMANENT_FAILURE, 'the job exceeded its time limit and was stopped', output
        )
    if status == 'success' and too_large is not None:
        return too_large
    if status == 'success':
        return RunnerResult(
            JobState.SYSTEM_ERROR,
            'the workflow runner reported success, but its output could not be read',
            None,
            problem,
        )
    if status == 'permanentFail':
        return RunnerResult(
            JobState.PERMANENT_FAILURE, 'the workflow runner reported permanentFail', output
        )
    if status == 'temporaryFail':
        return RunnerResult(
            JobState.TEMPORARY_FAILURE, 'the workflow runner reported temporaryFail', output
        )
    if status is not None:
        return RunnerResult(
            JobState.SYSTEM_ERROR,
            f'the workflow runner reported an unknown status {status!r}',
            output,
        )
    for marker in _VALIDATION_MARKERS:
        if marker in log:
            return RunnerResult(
                JobState.PERMANENT_FAILURE,
                f'the workflow runner could not run the workflow ({marker}; its log says why)',
                output,
            )
    if exit_code == 0 and output is not None:
        return RunnerResult(JobState.SUCCESS, 'the workflow finished successfully', output)
    if exit_code == 0 and too_large is not None:
        return too_large
    code = 'none' if exit_code is None else exit_code
    return RunnerResult(
        JobState.SYSTEM_ERROR,
        f'the workflow runner produced no usable result (exit code {code})',
        output,
        problem,
    )
