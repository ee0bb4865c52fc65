"""The SFTP pipeline against a stand-in for paramiko's request layer: answers
matched by number whatever their order, a bounded window, errors per request."""

import errno

import pytest
from paramiko.message import Message
from paramiko.sftp import CMD_DATA, CMD_LSTAT, CMD_READ, CMD_STATUS, SFTP_NO_SUCH_FILE, SFTP_OK

from cerise_actors.resource import sftp_pipeline
from cerise_actors.resource.sftp_pipeline import MAX_ANSWER_BYTES, MAX_IN_FLIGHT, Pipeline, Request


class Server:
    """paramiko's SFTPClient as the pipeline sees it. Answers the requests in
    flight last first; a path containing 'missing' is refused."""

    def __init__(self):
        self.in_flight = []  # (number, fileobj, command, args)
        self.number = 0
        self.most_in_flight = 0
        self.most_bytes = 0

    def _async_request(self, fileobj, command, *args):
        self.number += 1
        self.in_flight.append((self.number, fileobj, command, args))
        self.most_in_flight = max(self.most_in_flight, len(self.in_flight))
        asked = sum(a[2] for _, _, c, a in self.in_flight if c == CMD_READ)
        self.most_bytes = max(self.most_bytes, asked)
        return self.number

    def _read_response(self):
        number, fileobj, command, args = self.in_flight.pop()
        answer = Message()
        answer.add_int(number)
        if command == CMD_READ:
            kind = CMD_DATA
            answer.add_string(b'r' * args[2])
        else:
            kind = CMD_STATUS
            refused = 'missing' in str(args[0])
            answer.add_int(SFTP_NO_SUCH_FILE if refused else SFTP_OK)
            answer.add_string('No such file' if refused else '')
        answer.rewind()
        answer.get_int()  # paramiko reads the number before handing the answer on
        if fileobj is not type(None):
            fileobj._async_response(kind, answer, number)

    def _convert_status(self, message):
        if message.get_int() == SFTP_NO_SUCH_FILE:
            raise OSError(errno.ENOENT, message.get_text())


def test_answers_come_back_in_the_order_asked_whatever_order_they_arrive_in():
    server = Server()
    paths = [f'/p/{n}' if n % 7 else f'/p/missing-{n}' for n in range(200)]
    answers = Pipeline(server).run(Request(CMD_LSTAT, (path,)) for path in paths)
    assert len(answers) == 200
    for path, answer in zip(paths, answers):
        if 'missing' in path:
            assert isinstance(answer.error, FileNotFoundError), path
        else:
            assert answer.error is None and answer.kind == CMD_STATUS
    assert server.in_flight == []


def test_no_more_than_a_window_is_in_flight_in_requests_and_in_answer_bytes():
    server = Server()
    reads = [sftp_pipeline.read(b'h', offset, 32768) for offset in range(0, 8 << 20, 32768)]
    answers = Pipeline(server).run(reads)
    assert [len(a.data) for a in answers] == [32768] * len(reads)
    assert server.most_in_flight <= MAX_IN_FLIGHT
    assert server.most_bytes <= MAX_ANSWER_BYTES
    server = Server()
    Pipeline(server).run(Request(CMD_LSTAT, (f'/p/{n}',)) for n in range(1000))
    assert server.most_in_flight == MAX_IN_FLIGHT


def test_a_generator_is_read_only_as_the_window_allows():
    server = Server()
    made = []

    def requests():
        for n in range(500):
            made.append(n)
            assert len(made) - (server.number - len(server.in_flight)) <= MAX_IN_FLIGHT + 1
            yield Request(CMD_LSTAT, (f'/p/{n}',))

    assert len(Pipeline(server).run(requests())) == 500


def test_an_answer_of_the_wrong_kind_is_an_error_not_a_value():
    answer = sftp_pipeline.Answer(CMD_STATUS)
    with pytest.raises(OSError, match='unexpected SFTP answer'):
        answer.handle  # noqa: B018
