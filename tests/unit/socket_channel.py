"""A stand-in for a paramiko session channel, made of a socket pair.

The service's end is the channel (`fileno`, `recv`, `sendall`); `theirs` is
the far end, the stdin and stdout of what the channel runs. Tests of the
completion watcher and the remote warm runner's keeper subclass it with
what their command does.
"""

import socket


class SocketPairChannel:
    def __init__(self):
        self._mine, self.theirs = socket.socketpair()

    def settimeout(self, seconds):
        self._mine.settimeout(seconds)

    def exec_command(self, command):
        pass

    def fileno(self):
        return self._mine.fileno()

    def recv(self, size):
        return self._mine.recv(size)

    def recv_stderr_ready(self):
        return False

    def recv_stderr(self, size):
        return b''

    def sendall(self, data):
        self._mine.sendall(data)

    def close(self):
        self._mine.close()
