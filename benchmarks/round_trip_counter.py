"""Counts the SFTP requests, SFTP round trips and SSH commands of a running service, by phase.

Used by remote_round_trips.py. `install()` wraps a few of paramiko's and the
service's methods (class attributes, so it works on any version of the code
that has them) and charges what each thread does to the phase it is in:

- stage-in: `StageIn.run`; submit: `RunnerActor._start` (run.sh and the
  submission); poll: `PollerActor.poll_hinted` and `_poll_tracked`;
  stage-out: `StageOut.run`; cleanup: `StagerActor._delete`;
- anything else is "other": per job, the poller's first look at a job it
  starts to follow (its workflow and log, for progress lines).

An SFTP round trip is counted each time a client starts waiting for an
answer after sending requests: N requests sent one by one and each waited
for are N round trips, N requests sent at once and then read are one. An
SSH command is one `exec` channel (channel open, exec, its answer: about
three round trips of its own); an SFTP session is a new SFTP channel (about
three more). Seconds are the wall time spent in the
phase's methods (the outermost one when they nest).
"""

import collections
import contextlib
import functools
import threading
import time

PHASES = ('stage-in', 'submit', 'poll', 'stage-out', 'cleanup')
FIELDS = ('sftp_requests', 'sftp_round_trips', 'sftp_sessions', 'ssh_commands', 'seconds')

_local = threading.local()
_lock = threading.Lock()
_counts = collections.defaultdict(lambda: dict.fromkeys(FIELDS, 0))


def _phase(client=None) -> str:
    """The phase of this thread; paramiko's prefetch thread reads for the
    phase that last used its client."""
    phase = getattr(_local, 'phase', None)
    if phase is None and client is not None and 'prefetch' in threading.current_thread().name:
        phase = getattr(client, '_bench_phase', None)
    return phase or 'other'


def _add(phase: str, field: str, amount=1) -> None:
    with _lock:
        _counts[phase][field] += amount


def take() -> dict:
    """The counts since the last take, by phase, and start again."""
    with _lock:
        counts = {phase: dict(_counts[phase]) for phase in (*PHASES, 'other')}
        _counts.clear()
    return counts


@contextlib.contextmanager
def _in_phase(name: str):
    if getattr(_local, 'phase', None):  # nested: the outer phase counts
        yield
        return
    _local.phase = name
    start = time.perf_counter()
    try:
        yield
    finally:
        _local.phase = None
        _add(name, 'seconds', time.perf_counter() - start)


def _phased(name: str, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with _in_phase(name):
            return function(*args, **kwargs)

    return wrapper


def _wrap_paramiko() -> None:
    import paramiko
    from paramiko.sftp import BaseSFTP

    async_request = paramiko.SFTPClient._async_request
    read_packet = BaseSFTP._read_packet
    exec_command = paramiko.Channel.exec_command
    send_version = BaseSFTP._send_version

    def counted_request(self, fileobj, t, *args):
        phase = _phase(self)
        self._bench_phase = phase
        self._bench_waiting = False
        self._bench_sent = True
        _add(phase, 'sftp_requests')
        return async_request(self, fileobj, t, *args)

    def counted_read(self):
        if getattr(self, '_bench_sent', False) and isinstance(self, paramiko.SFTPClient):
            self._bench_sent = False
            _add(_phase(self), 'sftp_round_trips')
        return read_packet(self)

    def counted_exec(self, command):
        _add(_phase(), 'ssh_commands')
        return exec_command(self, command)

    def counted_session(self):
        _add(_phase(), 'sftp_sessions')
        return send_version(self)

    paramiko.SFTPClient._async_request = counted_request
    BaseSFTP._send_version = counted_session
    BaseSFTP._read_packet = counted_read
    paramiko.Channel.exec_command = counted_exec


def install() -> None:
    """Wrap paramiko and the service's phases; call once, before the service starts."""
    from cerise_actors.actors.poller import PollerActor
    from cerise_actors.actors.runner import RunnerActor
    from cerise_actors.actors.stager import StagerActor
    from cerise_actors.staging.stage_in import StageIn
    from cerise_actors.staging.stage_out import StageOut

    _wrap_paramiko()
    StageIn.run = _phased('stage-in', StageIn.run)
    RunnerActor._start = _phased('submit', RunnerActor._start)
    PollerActor.poll_hinted = _phased('poll', PollerActor.poll_hinted)
    PollerActor._poll_tracked = _phased('poll', PollerActor._poll_tracked)
    StageOut.run = _phased('stage-out', StageOut.run)
    StagerActor._delete = _phased('cleanup', StagerActor._delete)
