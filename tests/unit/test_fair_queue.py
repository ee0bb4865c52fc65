"""FairQueue: the order in which staged jobs of several users get free slots."""

import pytest

from cerise_actors.actors.fair_queue import FairQueue


def _queue(*jobs):
    """A queue of (job id, owner) pairs, added in this order."""
    queue = FairQueue()
    for job_id, owner in jobs:
        queue.add(job_id, owner)
    return queue


def test_one_owner_is_first_in_first_out():
    queue = _queue(*((f'a{i}', 'alice') for i in range(5)))
    assert len(queue) == 5 and 'a3' in queue and 'b0' not in queue
    assert queue.drain() == [f'a{i}' for i in range(5)]
    assert not queue and len(queue) == 0


def test_owners_take_turns_one_job_each():
    queue = _queue(
        ('a1', 'alice'), ('a2', 'alice'), ('a3', 'alice'), ('b1', 'bob'), ('b2', 'bob'), ('c1', '')
    )
    assert queue.drain() == ['a1', 'b1', 'c1', 'a2', 'b2', 'a3']


def test_a_burst_does_not_hold_back_another_owners_first_job():
    queue = _queue(*((f'a{i}', 'alice') for i in range(1000)))
    assert queue.pop() == 'a0'
    queue.add('b1', 'bob')  # bob had nothing queued: his job is next
    assert queue.pop() == 'b1'
    assert queue.pop() == 'a1'


def test_an_owner_whose_jobs_started_at_once_has_had_a_turn():
    """Jobs that started without waiting (the front lane) still count as a turn,
    as the runner marks them served: a second owner's first job goes next."""
    queue = FairQueue()
    for i in range(3):
        queue.push_front(f'now{i}')
        assert queue.pop() == f'now{i}'
        queue.mark_served('alice')
    queue.add('a1', 'alice')
    queue.add('a2', 'alice')
    queue.add('b1', 'bob')
    assert queue.drain() == ['b1', 'a1', 'a2']


def test_the_least_recently_served_owner_goes_first():
    """No starvation: an owner who keeps one job queued at a time still lets
    the others have their turns."""
    queue = _queue(('a1', 'alice'), ('a2', 'alice'), ('a3', 'alice'))
    started = []
    queue.add('b1', 'bob')
    for n in range(2, 5):
        started.append(queue.pop())
        started.append(queue.pop())
        queue.add(f'b{n}', 'bob')  # bob queues his next once the last started
    assert started[:6] == ['a1', 'b1', 'a2', 'b2', 'a3', 'b3']


def test_owners_never_served_go_in_the_order_they_queued():
    queue = _queue(('a1', 'alice'))
    queue.mark_served('alice')
    queue.add('c1', 'carol')
    queue.add('b1', 'bob')
    assert queue.drain() == ['c1', 'b1', 'a1']


def test_the_front_lane_comes_first_in_its_own_order():
    queue = _queue(('a1', 'alice'), ('b1', 'bob'))
    queue.push_front('retry1')
    queue.push_front('retry2')
    assert queue.drain() == ['retry1', 'retry2', 'a1', 'b1']


def test_pushing_a_queued_job_to_the_front_moves_it():
    queue = _queue(('a1', 'alice'), ('a2', 'alice'))
    queue.push_front('a2')
    assert len(queue) == 2
    assert queue.drain() == ['a2', 'a1']


def test_adding_a_queued_job_again_keeps_its_place():
    queue = _queue(('a1', 'alice'), ('a2', 'alice'))
    queue.add('a1', 'alice')
    queue.push_front('x')
    queue.add('x', 'bob')
    assert len(queue) == 3
    assert queue.drain() == ['x', 'a1', 'a2']


def test_remove_takes_a_job_out_of_any_lane():
    queue = _queue(('a1', 'alice'), ('b1', 'bob'), ('a2', 'alice'))
    queue.push_front('f1')
    assert queue.remove('b1') and queue.remove('f1')
    assert not queue.remove('b1') and not queue.remove('never-queued')
    assert 'b1' not in queue and len(queue) == 2
    assert queue.drain() == ['a1', 'a2']
    queue.add('b2', 'bob')  # bob's emptied lane opens again
    assert queue.drain() == ['b2']


def test_an_empty_queue_cannot_be_popped():
    queue = FairQueue()
    with pytest.raises(IndexError):
        queue.pop()
    assert queue.drain() == []
