"""ExitWatch: the poller's sleep ends when a watched local job ends, or when woken."""

import subprocess
import threading
import time

import pytest

from cerise_actors.resource.exit_watch import ENDED, TIMED_OUT, WOKEN, ExitWatch, _pidfds_work

MODES = [pytest.param(True, id='pidfd'), pytest.param(False, id='exit-files')]


@pytest.fixture(params=MODES)
def watch(request):
    if request.param and not _pidfds_work():
        pytest.skip(
            'pidfds are not available on this machine (Linux 5.3+): the exit-file mode is tested instead'
        )
    w = ExitWatch(use_pidfds=request.param)
    yield w
    w.close()


def test_times_out_without_events(watch):
    assert watch.wait(0.05, ()) == TIMED_OUT


def test_wake_from_another_thread(watch):
    threading.Timer(0.05, watch.wake).start()
    assert watch.wait(30, ()) == WOKEN
    watch.wake()
    watch.wake()  # two wake-ups are one
    assert watch.wait(30, ()) == WOKEN
    assert watch.wait(0.05, ()) == TIMED_OUT


def test_reports_the_end_of_a_job_once(watch, tmp_path):
    exit_file = tmp_path / 'exit_code'
    proc = subprocess.Popen(['bash', '-c', f'sleep 0.2; echo 0 >{exit_file}'])
    watched = [(proc.pid, str(exit_file))]
    started = time.monotonic()
    result = TIMED_OUT
    while result != ENDED and time.monotonic() - started < 30:
        result = watch.wait(30, watched)
    assert result == ENDED
    assert exit_file.exists(), 'reported before the job ended'
    assert watch.wait(0.05, watched) == TIMED_OUT  # said once, not again
    proc.wait()
    watch.wait(0, ())
    assert watch.open_fds() == 0  # nothing kept for jobs not watched


def test_a_job_without_a_pid_is_watched_by_its_file(tmp_path):
    """A batch scheduler's job on this machine: no process to wait on."""
    watch = ExitWatch()
    exit_file = tmp_path / 'exit_code'
    threading.Timer(0.1, exit_file.write_text, args=('0',)).start()
    started = time.monotonic()
    result = TIMED_OUT
    while result != ENDED and time.monotonic() - started < 30:
        result = watch.wait(30, [(None, str(exit_file))])
    assert result == ENDED and time.monotonic() - started < 10
    watch.close()


def test_wake_and_close_after_close_do_nothing():
    watch = ExitWatch()
    watch.close()
    watch.wake()
    watch.close()


def test_a_process_gone_before_the_wait_counts_as_ended(tmp_path):
    if not _pidfds_work():
        pytest.skip('pidfds are not available on this machine (Linux 5.3+)')
    proc = subprocess.Popen(['true'])
    proc.wait()
    watch = ExitWatch(use_pidfds=True)
    assert watch.wait(30, [(proc.pid, str(tmp_path / 'none'))]) == ENDED
    watch.close()
