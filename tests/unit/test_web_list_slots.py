"""ListSlots (web/list_slots.py): lists beyond the server's budget are refused at once."""

import falcon
import pytest

from cerise_actors.web.dispatch import BUDGET_KEY, RETRY_AFTER, ThreadBudget
from cerise_actors.web.list_slots import ListSlots


class _Req:
    def __init__(self, budget):
        self.env = {BUDGET_KEY: budget} if budget else {}


def _chunks(log):
    try:
        yield b'['
        yield b']'
    finally:
        log.append('closed')


def test_a_list_beyond_the_slots_is_503_and_a_closed_one_frees_its_slot():
    slots, req, log = ListSlots(), _Req(ThreadBudget(2)), []
    first = slots.answer(req, _chunks(log))
    second = slots.answer(req, _chunks(log))
    with pytest.raises(falcon.HTTPServiceUnavailable) as refused:
        slots.answer(req, _chunks(log))
    assert 'too many job lists' in refused.value.description
    assert refused.value.headers['Retry-After'] == str(RETRY_AFTER)
    assert b''.join(first) == b'[]'
    first.close()
    first.close()  # once only
    assert log == ['closed']
    third = slots.answer(req, _chunks(log))
    del second  # dropped unclosed: the slot comes back too
    fourth = slots.answer(req, _chunks(log))
    third.close()
    fourth.close()


def test_a_first_page_that_fails_gives_its_slot_back():
    slots, req = ListSlots(), _Req(ThreadBudget(1))

    def failing():
        raise RuntimeError('the store is gone')
        yield b''

    for _ in range(3):
        with pytest.raises(RuntimeError):
            slots.answer(req, failing())
    slots.answer(req, iter([b'[]'])).close()


def test_without_a_budget_there_is_no_limit():
    answers = [ListSlots().answer(_Req(None), iter([b'[]'])) for _ in range(50)]
    assert all(list(answer) == [b'[]'] for answer in answers)
