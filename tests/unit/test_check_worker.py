"""The workflow check's own process (staging/check_worker.py, validate_worker.py):
started on need, retired when unused, fed every document by the service, and
failing closed whatever it does (issue 21, item 4)."""

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading

import pytest

from cerise_actors.errors import InvalidInput, InvalidWorkflow, SourceUnavailable
from cerise_actors.staging.api_install import local_projects
from cerise_actors.staging.check_worker import CheckWorker
from cerise_actors.staging.validate import WorkflowValidator

from ..helpers import REPO_DIR, TEST_API_DIR, wait_for
from ..workflows import ECHO, IMPORTED_TYPES, INCLUDED_LIBRARY, importing

URL = 'file:///srv/files/input/job/mine.cwl'
FOLDER = URL.rsplit('/', 1)[0]


def refuse(url):
    raise InvalidWorkflow(f'{url} is not in the exchange area')


def alive(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


@pytest.fixture
def worker():
    started = CheckWorker()
    yield started
    started.close()


def checker(worker, api=TEST_API_DIR):
    return WorkflowValidator(local_projects(api), worker=worker)


def fake_worker(program, **kwargs):
    """A worker that is a small Python program instead of the real one."""
    return CheckWorker([sys.executable, '-c', program], **kwargs)


# --- the process -------------------------------------------------------------------
def test_the_service_never_imports_cwltool():
    program = (
        'import sys\n'
        'from cerise_actors.staging.api_install import local_projects\n'
        'from cerise_actors.staging.validate import WorkflowValidator, _worker\n'
        f'v = WorkflowValidator(local_projects({str(TEST_API_DIR)!r}))\n'
        f'v.check({URL!r}, {ECHO!r}.encode(), {{"text": "x"}}, print)\n'
        'print(sorted(m for m in sys.modules if m.split(".")[0] in ("cwltool", "schema_salad")))\n'
        'print(_worker.pid is not None and _worker.pid != __import__("os").getpid())\n'
    )
    out = subprocess.run(
        [sys.executable, '-c', program], capture_output=True, text=True, cwd=REPO_DIR, timeout=300
    )
    assert out.stdout.splitlines() == ['[]', 'True'], out.stderr


def test_the_worker_reads_no_document_itself(tmp_path):
    """Every document the loader wants (installed steps, exchange imports) is
    served by the service; the worker's own opens, seen by an audit hook in
    it, are of Python's installation only."""
    opened = tmp_path / 'opened.txt'
    audited = (
        'import sys\n'
        'log = open(sys.argv[1], "a", buffering=1)\n'
        'sys.addaudithook(lambda event, args: event == "open" and isinstance(args[0], str)'
        ' and log.write(args[0] + "\\n"))\n'
        'from cerise_actors.staging.validate_worker import main\n'
        'sys.exit(main())\n'
    )
    audited_worker = CheckWorker([sys.executable, '-c', audited, str(opened)])
    served = {f'{FOLDER}/lib.js': INCLUDED_LIBRARY, f'{FOLDER}/types.yml': IMPORTED_TYPES}
    asked = []

    def read(url):
        asked.append(url)
        return served[url].encode()

    try:
        assert (
            checker(audited_worker).check(URL, importing().encode(), {'colour': 'red'}, read) == ()
        )
        with pytest.raises(InvalidInput, match='colour'):
            checker(audited_worker).check(URL, importing().encode(), {'colour': 'pink'}, read)
    finally:
        audited_worker.close()
    assert sorted(set(asked)) == sorted(served)
    paths = [os.path.realpath(p) for p in opened.read_text().split()]
    assert paths, 'the audit hook saw the imports of the worker'
    for path in paths:
        assert not path.startswith((str(TEST_API_DIR), '/srv', str(tmp_path) + '/x')), path
    assert not [p for p in paths if p.endswith(('.cwl', 'types.yml', 'lib.js'))], paths


def test_an_unused_worker_leaves_and_the_next_check_starts_another(tmp_path):
    worker = CheckWorker(idle_seconds=0.5)
    try:
        validator = checker(worker)
        validator.check(URL, ECHO.encode(), {'text': 'a'}, refuse)
        first = worker.pid
        wait_for(lambda: worker.pid is None and not alive(first), 60, message='it to leave')
        with pytest.raises(InvalidInput, match="'text'"):  # a new input: asked again
            validator.check(URL, ECHO.encode(), {'text': 2}, refuse)
        assert worker.starts == 2 and worker.pid not in (None, first)
    finally:
        worker.close()


# --- failing closed ----------------------------------------------------------------
@pytest.mark.parametrize(
    'program, words',
    [
        ('pass', r'WorkerFailed: the workflow check process ended \(exit code 0\)'),
        (
            'import os; os.kill(os.getpid(), 9)',
            r'WorkerFailed: the workflow check process ended \(exit code -9\)',
        ),
        (
            'import sys, time; sys.stdin.buffer.read(4)\n'
            'sys.stdout.buffer.write(b"garbage!" * 8); sys.stdout.flush(); time.sleep(30)',
            r'WorkerFailed: the workflow check answered garbage \(a frame of \d+ bytes',
        ),
        (
            'import sys, time, struct\n'
            'from cerise_actors.staging.validate_worker import read_frame, write_frame\n'
            'read_frame(sys.stdin.buffer); write_frame(sys.stdout.buffer, {"what": 1})\n'
            'time.sleep(30)',
            r"WorkerFailed: the workflow check answered \{'what': 1",
        ),
    ],
)
def test_a_worker_that_ends_or_answers_garbage_refuses_the_job(program, words, caplog):
    broken = fake_worker(program)
    try:
        with pytest.raises(InvalidWorkflow, match=rf'could not be checked \({words}'):
            checker(broken).check(URL, ECHO.encode(), {'text': 'x'}, refuse)
    finally:
        broken.close()
    assert 'could not check' in caplog.text


def test_a_worker_that_does_not_answer_is_killed_and_the_job_refused():
    silent = fake_worker('import time; time.sleep(120)', answer_seconds=1)
    try:
        with pytest.raises(InvalidWorkflow, match=r'did not answer within 1 s'):
            checker(silent).check(URL, ECHO.encode(), {'text': 'x'}, refuse)
        assert silent.pid is None
    finally:
        silent.close()


def test_a_worker_that_stops_reading_is_killed_and_the_job_refused():
    """A request larger than the pipe's buffer to a worker that reads nothing
    would block the write, and every check behind the lock, forever."""
    deaf = fake_worker('import time; time.sleep(120)', answer_seconds=1)
    big = ECHO.encode() + b'\n# ' + b'x' * 1_000_000 + b'\n'
    outcome = []

    def check():
        try:
            checker(deaf).check(URL, big, {'text': 'x'}, refuse)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            outcome.append(exc)

    thread = threading.Thread(target=check, daemon=True)
    thread.start()
    thread.join(60)
    try:
        assert not thread.is_alive(), 'the check still waits on a worker that reads nothing'
        assert isinstance(outcome[0], InvalidWorkflow)
        assert 'could not be checked' in str(outcome[0])
    finally:
        deaf.close()


def test_a_worker_killed_during_a_load_refuses_that_job_only(worker):
    validator = checker(worker)

    def read_and_kill(url):
        os.kill(worker.pid, signal.SIGKILL)
        return IMPORTED_TYPES.encode()

    with pytest.raises(InvalidWorkflow, match=r'could not be checked \(WorkerFailed'):
        validator.check(URL, importing().encode(), {'colour': 'red'}, read_and_kill)
    served = {f'{FOLDER}/lib.js': INCLUDED_LIBRARY, f'{FOLDER}/types.yml': IMPORTED_TYPES}
    assert (
        validator.check(URL, importing().encode(), {'colour': 'red'}, lambda u: served[u].encode())
        == ()
    )
    assert worker.starts == 2


def test_a_readers_error_is_the_checks_as_in_the_service(worker):
    """A refusal reaches cwltool as it did ('cannot read'); any other error of
    the reader ends the check with that very error, which refuses the job."""
    validator = checker(worker)
    with pytest.raises(InvalidWorkflow, match=rf'cannot read {FOLDER}/lib.js: .*exchange area'):
        validator.check(URL, importing().encode(), {'colour': 'red'}, refuse)

    def unavailable(url):
        raise SourceUnavailable(f'{url} timed out')

    with pytest.raises(
        InvalidWorkflow, match=rf'could not be checked \(SourceUnavailable: {FOLDER}/lib.js timed'
    ):
        validator.check(URL, importing().encode(), {'colour': 'red'}, unavailable)


# --- what is kept ------------------------------------------------------------------
def test_an_answer_is_kept_per_loaded_workflow_and_input(worker, monkeypatch):
    validator = checker(worker)
    asked = []
    real = worker.converse
    monkeypatch.setattr(worker, 'converse', lambda *a: asked.append(1) or real(*a))
    extra = {'text': 'x', 'txet': 1}
    first = validator.check(URL, ECHO.encode(), extra, refuse)
    assert validator.check(URL, ECHO.encode(), dict(extra), refuse) == first and len(asked) == 1
    for _ in range(2):
        with pytest.raises(InvalidInput, match="input 'text': got the number 3"):
            validator.check(URL, ECHO.encode(), {'text': 3}, refuse)
    assert len(asked) == 2
    validator.check(URL, ECHO.encode(), {'text': 'y'}, refuse)
    assert len(asked) == 3


def test_validators_of_other_steps_share_the_worker_but_not_their_workflows(worker, tmp_path):
    api = tmp_path / 'api'
    shutil.copytree(TEST_API_DIR, api)
    step = api / 'test' / 'steps' / 'test' / 'echo.cwl'
    step.write_text(step.read_text().replace('text: {type: string', 'text: {type: int'))
    ours, theirs = checker(worker), checker(worker, api)
    for _ in range(2):
        ours.check(URL, ECHO.encode(), {'text': 'a'}, refuse)
        with pytest.raises(InvalidWorkflow):  # their step wants an int: wired wrong
            theirs.check(URL, ECHO.encode(), {'text': 'a'}, refuse)
    assert worker.starts == 1


def test_what_the_libraries_log_goes_to_the_service_log_not_the_job(worker, caplog):
    caplog.set_level(logging.WARNING)
    schemas = ECHO + '$schemas: [other.rdf]\n'
    warnings = checker(worker).check(URL, schemas.encode(), {'text': 'x', 'txet': 1}, refuse)
    assert warnings == (
        "Warning about the input object: invalid field 'txet', expected one of: 'text' "
        "(did you mean 'text'?)",
    )
    logged = [r.getMessage() for r in caplog.records if r.name == 'cerise_actors.staging.validate']
    assert any('Could not load extension schema' in line for line in logged), logged
    assert json.dumps(logged).count('txet') == 0
