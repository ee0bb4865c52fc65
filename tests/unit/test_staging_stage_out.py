"""StageOut as a plain class: judging what the runner left in the job folder
(real local file system under tmp_path) and publishing it to the exchange."""

import json
from pathlib import Path

import pytest

from cerise_actors.errors import StagingAborted, StopReason
from cerise_actors.jobs.states import JobState as S
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.scheduler import TIMEOUT_EXIT_CODE
from cerise_actors.staging import stage_out
from cerise_actors.staging.exchange import Exchange
from cerise_actors.staging.stage_out import StageOut

from ..fakes import FaultyFileSystem

SUCCESS = 'INFO Final process status is success\n'
FAIL = 'WARNING Final process status is permanentFail\n'


class World:
    def __init__(self, root: Path):
        self.fs = FaultyFileSystem()
        self.layout = ResourceLayout(str(root / 'resource'))
        self.exchange = Exchange(root / 'files', 'http://files.example')
        self.stage_out = StageOut(self.fs, self.layout, self.exchange)
        self.paths = self.layout.job('j1')
        self.work = Path(self.paths.work)
        self.work.mkdir(parents=True)
        self.stops = []

    def left(self, files=(), report=None, stderr=SUCCESS):
        """The runner wrote `files` (relative path -> text) and printed `report`."""
        for rel, text in dict(files).items():
            (self.work / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.work / rel).write_text(text)
        if report is not None:
            Path(self.paths.stdout).write_text(
                report if isinstance(report, str) else json.dumps(report)
            )
        if stderr is not None:
            Path(self.paths.stderr).write_text(stderr)

    def entry(self, cls, rel):
        return {'class': cls, 'location': (self.work / rel).as_uri()}

    def should_stop(self):
        return self.stops.pop(0) if self.stops else None

    def run(self, exit_code=0, time_limit=0):
        return self.stage_out.run('j1', exit_code, time_limit, self.should_stop)

    def published(self, rel):
        return (self.exchange.output_dir('j1') / rel).read_text()


@pytest.fixture
def w(tmp_path):
    return World(tmp_path)


def test_files_and_folders_are_published_with_client_urls(w):
    report = {
        'out': w.entry('File', 'out.txt'),
        'dir': w.entry('Directory', 'results'),
        'count': 3,
    }
    w.left({'out.txt': 'o', 'results/a.txt': 'a', 'results/deep/b.txt': 'b'}, report)
    result = w.run()
    assert (result.state, result.files, result.runner_log_tail) == (S.SUCCESS, 2, '')
    assert result.output == {
        'out': {'class': 'File', 'location': 'http://files.example/output/j1/out.txt'},
        'dir': {'class': 'Directory', 'location': 'http://files.example/output/j1/results'},
        'count': 3,
    }
    assert w.published('out.txt') == 'o'
    assert w.published('results/a.txt') == 'a' and w.published('results/deep/b.txt') == 'b'


def test_a_failed_run_keeps_its_outputs_and_the_useful_end_of_its_log(w, monkeypatch):
    monkeypatch.setattr(stage_out, 'STDERR_TAIL_LINES', 2)
    stderr = (
        '\x1b[1;30mINFO\x1b[0m step s started\n'
        'ERROR [job s] wc: cannot open\n\n'
        "INFO Resolved 'wf.cwl' to 'file:///x/wf.cwl'\n" + FAIL
    )
    w.left({'part.txt': 'p'}, {'part': w.entry('File', 'part.txt')}, stderr)
    result = w.run(exit_code=1)
    assert result.state is S.PERMANENT_FAILURE
    assert result.reason == 'the workflow runner reported permanentFail'
    assert result.runner_log_tail == 'ERROR [job s] wc: cannot open\n' + FAIL.strip()
    assert result.files == 1 and w.published('part.txt') == 'p'


def test_only_the_end_of_a_long_log_is_read(w, monkeypatch):
    monkeypatch.setattr(stage_out, 'STDERR_TAIL_BYTES', 80)
    w.left(stderr='x' * 5000 + '\nERROR the real problem\n' + FAIL)
    result = w.run(exit_code=1)
    assert result.state is S.PERMANENT_FAILURE and result.output is None
    assert 'x' * 100 not in result.runner_log_tail
    assert result.runner_log_tail.endswith('ERROR the real problem\n' + FAIL.strip())


def test_a_runner_that_left_nothing_is_a_system_error(w):
    result = w.run(exit_code=None)
    assert result == stage_out.StageOutResult(
        S.SYSTEM_ERROR,
        'the workflow runner produced no usable result (exit code none)',
        None,
        0,
        '',
    )


def test_a_job_stopped_at_its_time_limit_is_a_permanent_failure(w):
    w.left(stderr='INFO [job s] started\n')
    result = w.run(exit_code=TIMEOUT_EXIT_CODE, time_limit=60)
    assert result.state is S.PERMANENT_FAILURE
    assert result.reason == 'the job exceeded its time limit and was stopped'
    assert result.runner_log_tail == 'INFO [job s] started'


def test_an_output_outside_the_work_dir_is_not_published(w):
    w.left(report={'leak': {'class': 'File', 'location': 'file:///etc/passwd'}})
    result = w.run()
    assert result.state is S.SYSTEM_ERROR and result.output is None and result.files == 0
    assert result.reason.startswith("unusable runner output: output 'leak': '/etc/passwd'")
    published = w.exchange.output_dir('j1')
    assert {p.name for p in published.iterdir()} <= {'cerise-runner.log'}  # no 'passwd'


@pytest.mark.parametrize('reason', list(StopReason))
def test_a_stop_request_aborts_between_files(w, reason):
    w.stops = [None, reason]
    w.left(
        {'a.txt': 'a', 'b.txt': 'b'}, {'a': w.entry('File', 'a.txt'), 'b': w.entry('File', 'b.txt')}
    )
    with pytest.raises(StagingAborted) as info:
        w.run()
    assert info.value.reason is reason
    assert w.published('a.txt') == 'a'
    assert not (w.exchange.output_dir('j1') / 'b.txt').exists()


def test_the_runners_whole_log_is_published_for_every_job(w):
    w.left(report={}, stderr='INFO [step s] start\nINFO [step s] completed success\n')
    result = w.run()
    assert result.state is S.SUCCESS
    log = w.exchange.output_dir('j1') / 'cerise-runner.log'
    assert log.read_text() == 'INFO [step s] start\nINFO [step s] completed success\n'
    assert result.runner_log_url == f'{w.exchange.output_url("j1")}/cerise-runner.log'


# --- what one job publishes is bounded ---------------------------------------


def test_more_output_files_than_one_job_publishes_are_refused_before_any_is_copied(w, monkeypatch):
    monkeypatch.setattr(stage_out, 'MAX_OUTPUT_FILES', 10)
    files = {f'many/{n}.txt': str(n) for n in range(10)}  # 11 with the folder, 12 with one.txt
    w.left(
        {**files, 'one.txt': '1'},
        {'one': w.entry('File', 'one.txt'), 'many': w.entry('Directory', 'many')},
    )
    result = w.run()
    assert result.state is S.PERMANENT_FAILURE
    assert result.reason.startswith(
        "the outputs hold more than 10 files and folders (output 'many' reached the count)"
    )
    assert (result.output, result.files) == (None, 0)
    published = w.exchange.output_dir('j1')
    assert {p.name for p in published.iterdir()} == {'cerise-runner.log'}


def test_as_many_output_files_as_one_job_publishes_are_published(w, monkeypatch):
    monkeypatch.setattr(stage_out, 'MAX_OUTPUT_FILES', 11)
    files = {f'many/{n}.txt': str(n) for n in range(9)}
    w.left(
        {**files, 'one.txt': '1'},
        {'one': w.entry('File', 'one.txt'), 'many': w.entry('Directory', 'many')},
    )
    result = w.run()
    assert result.state is S.SUCCESS, result.reason
    assert w.published('many/8.txt') == '8'


def test_counting_a_huge_output_folder_still_hears_a_stop(w, monkeypatch):
    monkeypatch.setattr(stage_out, '_STOP_EVERY', 5)
    w.stops = [StopReason.CANCEL]
    w.left({f'many/{n}.txt': str(n) for n in range(20)}, {'many': w.entry('Directory', 'many')})
    with pytest.raises(StagingAborted):
        w.run()
    assert not (w.exchange.output_dir('j1') / 'many').exists()


def test_an_output_object_larger_than_is_read_is_a_permanent_failure(w, monkeypatch):
    monkeypatch.setattr(stage_out, 'MAX_OUTPUT_JSON', 100)
    listing = [w.entry('File', f'many/{n}.txt') for n in range(10)]
    report = {'many': {**w.entry('Directory', 'many'), 'listing': listing}}
    w.left({f'many/{n}.txt': str(n) for n in range(10)}, report)
    result = w.run()
    assert result.state is S.PERMANENT_FAILURE
    assert "the workflow's output object is " in result.reason
    assert 'more than the service reads (100 bytes)' in result.reason
    assert not (w.exchange.output_dir('j1') / 'many').exists()
