"""LeanActor and LockFuture (store/mailbox.py): pykka's semantics on cheaper primitives."""

import threading
import time

import pykka
import pytest

from cerise_actors.store.mailbox import LeanActor, LockFuture


class Echo(LeanActor):
    def __init__(self):
        super().__init__()
        self.seen = []

    def say(self, value):
        self.seen.append(value)
        return value

    def fail(self):
        raise ValueError('no')

    def slow(self, seconds):
        time.sleep(seconds)
        return 'late'


@pytest.fixture
def echo():
    ref = Echo.start()
    yield ref.proxy()
    if ref.is_alive():
        ref.stop()


def test_asks_answer_and_tells_keep_their_order(echo):
    for i in range(100):
        echo.say(i)  # tells
    assert echo.say('last').get(timeout=10) == 'last'
    assert echo.seen.get(timeout=10) == list(range(100)) + ['last']


def test_an_exception_is_raised_to_every_reader(echo):
    future = echo.fail()
    for _ in range(2):
        with pytest.raises(ValueError, match='no'):
            future.get(timeout=10)


def test_a_value_is_read_any_number_of_times_from_any_thread(echo):
    future = echo.slow(0.2)
    got = []
    readers = [
        threading.Thread(target=lambda: got.append(future.get(timeout=10))) for _ in range(4)
    ]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert got == ['late'] * 4 and future.get(timeout=0) == 'late'


def test_a_timeout_raises_pykkas_timeout_and_the_answer_still_comes(echo):
    future = echo.slow(0.5)
    with pytest.raises(pykka.Timeout):
        future.get(timeout=0.05)
    assert future.get(timeout=10) == 'late'


def test_map_join_and_stop_use_get_hooks(echo):
    assert isinstance(echo.say(1), LockFuture)
    assert echo.say(2).map(lambda x: x * 10).get(timeout=10) == 20
    assert pykka.get_all([echo.say(3), echo.say(4)], timeout=10) == [3, 4]
    joined = echo.say(5).join(echo.say(6)).get(timeout=10)
    assert joined == [5, 6]
    assert echo.actor_ref.stop(timeout=10) is True


def test_a_future_is_set_once():
    future = LockFuture()
    future.set(1)
    with pytest.raises(Exception):  # noqa: B017 - pykka raises queue.Full
        future.set(2)
    assert future.get() == 1
