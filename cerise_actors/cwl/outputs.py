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
fails validation), so the outcome is read from its log first.
"""

import copy
import json
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple
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
        self.seen = set()

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


def _parse_output(stdout: str) -> Optional[dict]:
    """The JSON object the runner printed, tolerating text before it."""
    text = (stdout or '').strip()
    candidates = [text]
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.startswith('{') and number > 0:
            candidates.append('\n'.join(lines[number:]))
            break
    for candidate in candidates:
        try:
            output = json.loads(candidate)
        except (ValueError, RecursionError):
            continue
        if isinstance(output, dict):
            return output
    return None


def interpret_runner_result(
    exit_code: Optional[int], stdout: str, stderr: str, timed_out: bool = False
) -> RunnerResult:
    """Decide the job's outcome from the runner's exit code and output.

    The last 'Final process status is X' line in stderr decides; failing
    that, validation errors mean a permanent failure; failing that, exit
    code 0 with a JSON object on stdout is a success. A successful run with
    unreadable output, or anything unrecognisable, is a system error.
    """
    log = strip_ansi(stderr or '')
    output = _parse_output(stdout)
    statuses = _FINAL_STATUS.findall(log)
    status = statuses[-1] if statuses else None

    if status == 'success' and output is not None:
        return RunnerResult(JobState.SUCCESS, 'the workflow finished successfully', output)
    if timed_out:
        return RunnerResult(
            JobState.PERMANENT_FAILURE, 'the job exceeded its time limit and was stopped', output
        )
    if status == 'success':
        return RunnerResult(
            JobState.SYSTEM_ERROR,
            'the workflow runner reported success, but its output could not be read',
            None,
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
    code = 'none' if exit_code is None else exit_code
    return RunnerResult(
        JobState.SYSTEM_ERROR,
        f'the workflow runner produced no usable result (exit code {code})',
        output,
    )
