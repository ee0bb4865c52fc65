"""Step progress from the runner's log: parsing, and reading only what is new."""

import json

from cerise_actors.cwl.progress import StepEvent, describe, step_count, step_events
from cerise_actors.resource.filesystem import LocalFileSystem
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.staging.progress import ProgressReader

CWLTOOL_LOG = """INFO /x/cerise_actors/runner/__main__.py 3.3
INFO [workflow ] starting step s
INFO [step s] start
INFO [job s] /tmp/x$ sleep 1
INFO [job s] completed success
INFO [step s] completed success
INFO [step other step] start
INFO [step other step] completed permanentFail
"""


def test_step_lines_are_found_among_the_runner_log():
    assert step_events(CWLTOOL_LOG.splitlines()) == [
        StepEvent('s', True),
        StepEvent('s', False, 'success'),
        StepEvent('other step', True),
        StepEvent('other step', False, 'permanentFail'),
    ]


def test_lines_for_users():
    assert describe(StepEvent('s', True), 0, 2) == "Step 's' started."
    assert (
        describe(StepEvent('s', False, 'success'), 1, 2) == "Step 's' finished; 1 of 2 steps done."
    )
    assert describe(StepEvent('t', False, 'permanentFail'), 2, None) == (
        "Step 't' ended (permanentFail); 2 steps done."
    )
    assert step_count(json.dumps({'steps': [{}, {}, {}]}).encode()) == 3
    assert step_count(json.dumps({'steps': {'a': {}}}).encode()) == 1
    assert step_count(b'not json') is None


def test_the_reader_reads_only_new_whole_lines(tmp_path):
    layout = ResourceLayout(str(tmp_path))
    paths = layout.job('j')
    (tmp_path / 'jobs' / 'j').mkdir(parents=True)
    with open(paths.workflow, 'w') as f:
        json.dump({'steps': [{'id': 's'}, {'id': 'other step'}]}, f)
    reader = ProgressReader(LocalFileSystem(), layout)
    reader.follow('j')
    assert reader.read('j') == []  # no log yet
    first, rest = CWLTOOL_LOG[:90], CWLTOOL_LOG[90:]
    with open(paths.stderr, 'w') as f:
        f.write(first)  # ends inside the '[step s] start' line
    assert reader.read('j') == []
    with open(paths.stderr, 'a') as f:
        f.write(rest)
    assert reader.read('j') == [
        "Step 's' started.",
        "Step 's' finished; 1 of 2 steps done.",
        "Step 'other step' started.",
        "Step 'other step' ended (permanentFail); 2 of 2 steps done.",
    ]
    assert reader.read('j') == []


def test_a_job_resumed_after_a_restart_is_followed_from_the_end(tmp_path):
    layout = ResourceLayout(str(tmp_path))
    paths = layout.job('j')
    (tmp_path / 'jobs' / 'j').mkdir(parents=True)
    with open(paths.stderr, 'w') as f:
        f.write(CWLTOOL_LOG)
    reader = ProgressReader(LocalFileSystem(), layout)
    reader.follow('j', from_start=False)
    assert reader.read('j') == []  # logged before the restart
    with open(paths.stderr, 'a') as f:
        f.write('INFO [step late] start\n')
    assert reader.read('j') == ["Step 'late' started."]
    reader.forget('j')
    assert reader.read('j') == []


def test_output_without_newlines_does_not_pile_up(tmp_path, monkeypatch):
    from cerise_actors.staging import progress

    layout = ResourceLayout(str(tmp_path))
    paths = layout.job('j')
    (tmp_path / 'jobs' / 'j').mkdir(parents=True)
    reader = ProgressReader(LocalFileSystem(), layout)
    reader.follow('j')
    with open(paths.stderr, 'w') as f:
        f.write('\r' + 'x' * (3 * progress.READ_LIMIT))  # a progress bar, never a newline
    for _ in range(4):
        assert reader.read('j') == []
    assert len(reader._jobs['j'].partial) <= progress.MAX_LINE


def test_the_last_steps_are_read_to_the_end_when_the_job_ends(tmp_path, monkeypatch):
    from cerise_actors.staging import progress

    monkeypatch.setattr(progress, 'READ_LIMIT', 64)
    layout = ResourceLayout(str(tmp_path))
    paths = layout.job('j')
    (tmp_path / 'jobs' / 'j').mkdir(parents=True)
    reader = ProgressReader(LocalFileSystem(), layout)
    reader.follow('j')
    with open(paths.stderr, 'w') as f:
        f.write('INFO noise\n' * 50 + 'INFO [step s] start\nINFO [step s] completed success')
    assert reader.read('j') == []  # 64 bytes a round: still in the noise
    assert reader.read('j', final=True) == [
        "Step 's' started.",
        "Step 's' finished; 1 steps done.",
    ]


def test_the_step_lines_the_service_writes_are_what_wes_and_the_client_read():
    from cerise_actors.client.progress import step_progress
    from cerise_actors.jobs.step_lines import ended_line, parse_step_line, started_line

    assert parse_step_line(started_line('s')) == ('s', True, '')
    assert parse_step_line(ended_line('s', 'success', 1, 2)) == ('s', False, '')
    assert parse_step_line(ended_line('s', 'permanentFail', 2, None)) == (
        's',
        False,
        'permanentFail',
    )
    assert parse_step_line('Running on the compute resource.') is None
    log = f'{started_line("a")}\n{started_line("b")}\n{ended_line("b", "success", 1, 2)}\n'
    assert step_progress(log) == '1 of 2 steps done, step a running'
