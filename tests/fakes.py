"""Scripted stand-ins for the compute resource and for neighbouring actors.

Unit tests of the actors run a real StoreActor on a SQLite file and the real
LocalFileSystem under tmp_path; only what would touch a real scheduler, run
commands, or needs an error injected at a chosen moment is faked here. Every
fake records what it was asked, so tests can assert on the calls made.

Fakes are called from actor threads and read from the test's thread; they
only append to lists and pop from them, which is safe in CPython, and tests
wait for what they expect with `tests.helpers.wait_for`.
"""

import collections
import threading
from typing import Callable, Dict, List, Optional, Union

from cerise_actors.resource.filesystem import LocalFileSystem
from cerise_actors.resource.layout import JobPaths
from cerise_actors.resource.scheduler import (
    PollRequest,
    RemoteState,
    RemoteStatus,
    Scheduler,
    SubmitRequest,
)
from cerise_actors.resource.shell import Shell, ShellResult


def _next_or_default(script: collections.deque, default):
    """The next scripted answer (raised if it is an exception), or `default`."""
    answer = script.popleft() if script else default
    if isinstance(answer, BaseException):
        raise answer
    return answer


class ScriptedScheduler(Scheduler):
    """A scheduler that starts nothing.

    - `submit` records the request in `submits` and answers the next entry of
      `submit_script` (a remote id, or an exception to raise); without one it
      answers `remote-<n>`.
    - `poll` counts itself in `polls` and answers `answer` for every job: a
      RemoteState value ('waiting', 'running', 'done', 'gone', with
      `exit_code` for 'done') or an exception to raise.
    - `cancel` records `(remote_id, paths)` in `cancels` and raises the next
      entry of `cancel_script` if there is one.

    The job script itself is the real one (`Scheduler.script`).
    """

    def __init__(self):
        super().__init__(shell=None)
        self.submits: List[SubmitRequest] = []
        self.submit_script = collections.deque()
        self.cancels: List[tuple] = []
        self.cancel_script = collections.deque()
        self.answer: Union[str, Exception] = 'running'
        self.exit_code = 0
        self.polls = 0

    @property
    def submitted_ids(self) -> List[str]:
        """Job ids in the order they were submitted (failed attempts included)."""
        return [req.job_id for req in self.submits]

    def submit(self, req: SubmitRequest) -> str:
        self.submits.append(req)
        return _next_or_default(self.submit_script, f'remote-{len(self.submits)}')

    def poll(self, jobs: List[PollRequest]) -> Dict[str, RemoteStatus]:
        self.polls += 1
        if isinstance(self.answer, BaseException):
            raise self.answer
        state = RemoteState(self.answer)
        code = self.exit_code if state is RemoteState.DONE else None
        return {job.job_id: RemoteStatus(state, code) for job in jobs}

    def cancel(self, remote_id: str, paths: JobPaths) -> None:
        self.cancels.append((remote_id, paths))
        _next_or_default(self.cancel_script, None)


class FaultyFileSystem(LocalFileSystem):
    """The real local file system, with faults injected into chosen calls.

    `inject(method, fault, match)` arranges that the next call of `method`
    (mkdir, put_stream, open_read, size, walk, remove) whose path contains
    `match` first raises `fault` if it is an exception, or else calls
    `fault(path)` (which may itself raise, or cancel a job, or set an
    event) and then does the real work. Each fault is used once. `calls`
    records every `(method, path)`.
    """

    def __init__(self):
        self.calls: List[tuple] = []
        self._faults: List[tuple] = []
        self._lock = threading.Lock()

    def inject(self, method: str, fault: Union[Exception, Callable[[str], None]], match=''):
        with self._lock:
            self._faults.append((method, match, fault))

    def _call(self, method: str, path: str) -> None:
        with self._lock:
            self.calls.append((method, path))
            found = [
                index
                for index, (name, match, _) in enumerate(self._faults)
                if name == method and match in path
            ]
            if not found:
                return
            fault = self._faults.pop(found[0])[2]
        if isinstance(fault, BaseException):
            raise fault
        fault(path)

    def mkdir(self, path):
        self._call('mkdir', path)
        super().mkdir(path)

    def put_stream(self, stream, path, mode=None):
        self._call('put_stream', path)
        return super().put_stream(stream, path, mode)

    def open_read(self, path):
        self._call('open_read', path)
        return super().open_read(path)

    def size(self, path):
        self._call('size', path)
        return super().size(path)

    def walk(self, path):
        self._call('walk', path)
        return super().walk(path)

    def remove(self, path):
        self._call('remove', path)
        super().remove(path)


class FakeShell(Shell):
    """Runs nothing: records each command in `commands` and answers the next
    entry of `script` (a ShellResult, or an exception to raise), by default
    exit code 0 with no output."""

    def __init__(self, *script):
        self.commands: List[str] = []
        self.script = collections.deque(script)

    def run(self, command, timeout=60.0, env=None, retry_safe=True) -> ShellResult:
        self.commands.append(command)
        return _next_or_default(self.script, ShellResult(0, '', ''))


class FakePoller:
    """Stands in for the PollerActor's proxy as the runner and stagers use it.

    `track` and `poll_now` are recorded; `call_later` keeps the callback
    until the test plays the poller's next round with `run_later()`.
    """

    def __init__(self):
        self.tracked: List[tuple] = []
        self.started_running: List[str] = []  # tracked as already RUNNING
        self.polls_asked = 0
        self.later: List[Callable[[], None]] = []

    def track(self, job_id: str, remote_id: str, running: bool = False) -> None:
        self.tracked.append((job_id, remote_id))
        if running:
            self.started_running.append(job_id)

    def poll_now(self) -> None:
        self.polls_asked += 1

    def call_later(self, callback: Callable[[], None]) -> None:
        self.later.append(callback)

    def run_later(self) -> int:
        """Run the callbacks asked for so far, as a poll round does; returns how many."""
        due, self.later = self.later, []
        for callback in due:
            callback()
        return len(due)


class FakeRunner:
    """Stands in for the RunnerActor's proxy as the ApiInstallerActor uses it:
    records `api_ready`, `api_failed(message)` and `install_when_idle(install)`
    in `calls`, and keeps the last `install` callable in `pending_install`."""

    def __init__(self):
        self.calls: List[tuple] = []
        self.pending_install: Optional[Callable[[], None]] = None

    def api_ready(self) -> None:
        self.calls.append(('api_ready',))

    def api_failed(self, message: str) -> None:
        self.calls.append(('api_failed', message))

    def install_when_idle(self, install: Callable[[], None]) -> None:
        self.calls.append(('install_when_idle',))
        self.pending_install = install


class Recorder:
    """A callback that records its calls: the argument for one-argument calls
    (e.g. a job id from the store), else the tuple of arguments."""

    def __init__(self):
        self.calls: list = []

    def __call__(self, *args) -> None:
        self.calls.append(args[0] if len(args) == 1 else args)
