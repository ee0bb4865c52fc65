"""The completion watcher's protocol, its channel keeper, and the poller's use of its hints.

The watcher (runner/watcher.py) runs here as a subprocess; a socket pair
stands in for the SSH session channel, so CompletionWatch runs unchanged.
"""

import json
import os
import select
import subprocess
import sys
import threading
import time

import pytest

from cerise_actors.actors.poller import PollerActor
from cerise_actors.jobs.states import JobState as S
from cerise_actors.resource.completion_watch import CompletionWatch, bash_command, watcher_argv
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.runner.watcher import Watcher

from ..fakes import ScriptedScheduler
from ..helpers import wait_for
from .actor_fixtures import ask, new_job, state_of
from .socket_channel import SocketPairChannel


def _touch(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, 'w').close()


def test_scan_reports_a_start_and_an_end_once_and_ignores_odd_names(tmp_path):
    watcher = Watcher(str(tmp_path))
    watcher.handle({'op': 'watch', 'jobs': ['a', 'b', '../etc', '', 7]})
    assert len(watcher) == 2 and watcher.scan() == []
    _touch(tmp_path / 'a' / 'claim')
    assert watcher.scan() == [('started', 'a')]
    assert watcher.scan() == []
    _touch(tmp_path / 'a' / 'exit_code')
    _touch(tmp_path / 'b' / 'claim')
    _touch(tmp_path / 'b' / 'exit_code')  # a short job: both in one round
    assert sorted(watcher.scan()) == [('ended', 'a'), ('ended', 'b'), ('started', 'b')]
    assert len(watcher) == 0 and watcher.scan() == []
    watcher.handle({'op': 'watch', 'jobs': ['c']})
    watcher.handle({'op': 'forget', 'jobs': ['c']})
    assert len(watcher) == 0


def _lines(stream, count, timeout=10.0):
    out, deadline = [], time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        if select.select([stream], [], [], 0.1)[0]:
            out.append(json.loads(stream.readline()))
    return out


def test_the_program_speaks_json_lines_and_leaves_when_its_input_closes(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, '-m', 'cerise_actors.runner.watcher', str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert _lines(proc.stdout, 1)[0]['event'] == 'hello'
        proc.stdin.write(b'{"op": "watch", "jobs": ["j1"]}\nnot json\n')
        proc.stdin.flush()
        _touch(tmp_path / 'j1' / 'claim')
        assert _lines(proc.stdout, 1) == [{'event': 'started', 'job': 'j1'}]
        started = time.monotonic()
        _touch(tmp_path / 'j1' / 'exit_code')
        assert _lines(proc.stdout, 1) == [{'event': 'ended', 'job': 'j1'}]
        assert time.monotonic() - started < 1.0, 'within a fraction of a second'
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()


def test_the_watcher_runs_from_the_deployed_runner_or_as_source_in_bash():
    python = '/b/api/.cerise-runner/venv/bin/python'
    assert watcher_argv('/b/jobs', python, deployed=True) == [
        python,
        '-m',
        'cerise_runner.watcher',
        '/b/jobs',
    ]
    argv = watcher_argv('/b/jobs', 'python3', deployed=False)
    assert argv[:2] == ['python3', '-c'] and argv[3] == '/b/jobs'
    assert argv[2].startswith('# cerise-actors completion watcher')
    assert bash_command("exec python3 -c 'x'") == "bash -c 'exec python3 -c '\"'\"'x'\"'\"''"


class SocketChannel(SocketPairChannel):
    """A session channel made of a socket pair, its far end the watcher's stdio."""

    def __init__(self, jobs_dir, log):
        super().__init__()
        self._jobs_dir, self._log = jobs_dir, log
        self.proc = None

    def exec_command(self, command):
        self._log.append(command)
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'cerise_actors.runner.watcher', self._jobs_dir],
            stdin=self.theirs,
            stdout=self.theirs,
        )
        self.theirs.close()

    def close(self):
        super().close()
        if self.proc is not None:
            self.proc.wait(timeout=10)


@pytest.fixture
def channels(tmp_path):
    made, log = [], []

    def open_channel():
        made.append(SocketChannel(str(tmp_path), log))
        return made[-1]

    yield made, open_channel
    for channel in made:
        if channel.proc is not None and channel.proc.poll() is None:
            channel.proc.kill()


def test_events_flow_and_a_killed_watcher_is_replaced_with_the_jobs_it_watched(tmp_path, channels):
    made, open_channel = channels
    events, ready = [], []
    watch = CompletionWatch(open_channel, 'watch', heartbeat=0.5, dead_after=5)
    watch.start(lambda kind, job: events.append((kind, job)), lambda: ready.append(1))
    try:
        watch.watch('j1')
        watch.watch('j1')  # twice is once
        wait_for(lambda: ready, message='the first channel')
        _touch(tmp_path / 'j1' / 'claim')
        wait_for(lambda: ('started', 'j1') in events, message='the start')
        made[0].proc.kill()  # the watcher dies on the resource
        wait_for(lambda: len(ready) == 2, timeout=15, message='a new channel and a full poll')
        assert watch.opened == 2
        _touch(tmp_path / 'j1' / 'exit_code')
        wait_for(lambda: ('ended', 'j1') in events, message='the end, seen by the new watcher')
        watch.forget('j1')
    finally:
        watch.stop()
    assert all(channel.proc.poll() is not None for channel in made), 'no watcher left behind'


class SilentChannel(SocketChannel):
    """A channel whose far end says nothing (a half-open connection)."""

    def exec_command(self, command):
        self._log.append(command)


def test_a_silent_channel_is_given_up_and_opened_again(tmp_path):
    opened = []

    def open_channel():
        opened.append(SilentChannel(str(tmp_path), []))
        return opened[-1]

    watch = CompletionWatch(open_channel, 'watch', heartbeat=0.2, dead_after=0.5, max_backoff=0.2)
    watch.start(lambda kind, job: None)
    try:
        wait_for(lambda: len(opened) >= 2, timeout=10, message='a second channel')
    finally:
        watch.stop()


def test_a_failing_open_backs_off_and_retry_now_cuts_the_wait():
    calls = []

    def open_channel():
        calls.append(time.monotonic())
        raise OSError('no route')

    watch = CompletionWatch(open_channel, 'watch', max_backoff=60)
    watch.start(lambda kind, job: None)
    try:
        wait_for(lambda: len(calls) >= 2, timeout=5, message='the second try, after 1 s')
        time.sleep(0.3)
        assert len(calls) == 2, 'backing off (2 s now)'
        watch.retry_now()
        wait_for(lambda: len(calls) == 3, timeout=1, message='a try at once')
    finally:
        watch.stop()


class FakeHints:
    """Stands in for CompletionWatch: records what the poller says, reports on demand."""

    def __init__(self):
        self.watched = set()
        self.stopped = threading.Event()

    def start(self, on_event, on_ready=None):
        self.report, self.ready = on_event, on_ready

    def watch(self, job_id):
        self.watched.add(job_id)

    def forget(self, job_id):
        self.watched.discard(job_id)

    def stop(self):
        self.stopped.set()


def test_a_hint_polls_only_that_job_at_once_and_a_false_one_changes_nothing(store, tmp_path):
    scheduler, hints = ScriptedScheduler(), FakeHints()
    polled = []
    poll = scheduler.poll
    scheduler.poll = lambda jobs: polled.append(sorted(j.job_id for j in jobs)) or poll(jobs)
    layout = ResourceLayout(str(tmp_path))
    ref = PollerActor.start(store, scheduler, layout, 3600.0, hints=hints)
    poller = ref.proxy()
    try:
        first = new_job(store, S.STAGING_IN, S.WAITING)
        second = new_job(store, S.STAGING_IN, S.WAITING)
        ask(poller.track(first, '1:1'))
        ask(poller.track(second, '2:2'))
        assert hints.watched == {first, second}
        scheduler.answer = 'running'
        hints.report('ended', first)  # not true: the poll says it runs
        # the stand-in scheduler notes a poll before it answers: wait for its effect
        wait_for(lambda: state_of(store, first) is S.RUNNING, message='a poll after the hint')
        assert polled == [[first]]
        scheduler.answer = 'done'
        hints.report('ended', first)
        hints.report('ended', first)  # a repeated report
        wait_for(lambda: state_of(store, first) is S.FINISHED, message='the job finished')
        assert all(batch == [first] for batch in polled)
        # the poller forgets it just after the transition the wait above saw
        wait_for(lambda: hints.watched == {second}, message='a finished job to be forgotten')
        hints.report('ended', 'unknown-job')  # a job not tracked: no poll at all
        count = len(polled)
        hints.ready()  # a channel opened again: one full round
        wait_for(lambda: state_of(store, second) is S.FINISHED, message='the full round')
        assert len(polled) == count + 1 and polled[-1] == [second]
    finally:
        ref.stop()
    assert hints.stopped.is_set()
