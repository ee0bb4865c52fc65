"""A job that wakes the remote warm runner just as its server leaves unused.

The server says `idle`, then exits, and its channel closes. A job whose
command line is made between the two calls `wake()`: that is no failure of
the server (no warning an operator would take for a crash) and the next
server is started at once, not after the back-off's pause. A socket pair
stands in for the SSH channel (found by a review of 68131b2).
"""

import logging
import time

from cerise_actors.resource import remote_warm
from cerise_actors.resource.remote_warm import RemoteWarmRunner

from ..helpers import wait_for
from .socket_channel import SocketPairChannel

#: a pause the keeper must not wait before starting the next server
PAUSE = 30.0


class QuietChannel(SocketPairChannel):
    """A channel whose far end (`theirs`) the test writes as the server would."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = time.monotonic()

    def exit_status_ready(self):
        return True

    def recv_exit_status(self):
        return 0

    def close(self):
        super().close()
        self.theirs.close()


def test_a_wake_between_idle_and_the_channels_end_restarts_at_once_without_a_warning(
    caplog, monkeypatch
):
    monkeypatch.setattr(remote_warm, 'FIRST_PAUSE', PAUSE)  # a pause would show
    channels = []

    def open_channel():
        channels.append(QuietChannel())
        return channels[-1]

    warm = RemoteWarmRunner(open_channel, 'x', '/no/socket', '/no/log', max_backoff=PAUSE)
    warm.start()
    try:
        with caplog.at_level(logging.INFO, logger='cerise_actors.resource.remote_warm'):
            warm.runner_installed()
            wait_for(lambda: channels, 30, message='the first channel')
            channels[0].theirs.sendall(b'pid 1\nready\n')
            assert warm.wait_ready(30)
            channels[0].theirs.sendall(b'idle\n')  # the server leaves unused...
            wait_for(lambda: warm.asleep, 30, message='the idle line to be read')
            warm.wake()  # ...a job's command line is made just then...
            woke = time.monotonic()
            channels[0].theirs.close()  # ...and the server's exit ends the channel
            wait_for(lambda: len(channels) == 2, 2 * PAUSE, message='a second channel')
        assert channels[1].opened - woke < PAUSE / 2, 'the keeper waited out its pause'
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert warnings == []
        assert not warm.asleep
    finally:
        warm.close()
