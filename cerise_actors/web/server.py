"""Serving the WSGI app with waitress in a background thread.

Used both by `cerise-actors serve` and by the in-process context manager, so
tests exercise the same real HTTP server over loopback that users meet.

Waitress settings, and why (see docs/operations.md, "Many clients at once"):

- `connection_limit` (limits.http-connections, 1000) and `channel_timeout`
  (limits.http-idle-seconds, 30 s): waitress's 100 connections were filled
  by 100 idle clients, after which no one got in for two minutes. Idle and
  half-sent requests cost a socket, not a thread: waitress reads requests
  in its event loop and hands only complete ones to a thread. `poll()`
  instead of `select()`, which cannot watch more than 1024 sockets; and the
  soft limit of open files is raised to fit the connections.
- `threads` (limits.http-threads) are shared by /jobs and /files, but
  /files may hold only some of them at once (the `dispatch.ThreadBudget`
  offered to every request), and its downloads hold none while the client
  reads (`files_downloads.py` hands them to the event loop), so 8 slow
  downloads no longer starve the API.
- Stopping is graceful: stop accepting, close idle connections, let the
  requests being served finish for up to `grace` seconds, then close what
  is left and end the event loop. Waitress's own `close()` closed the
  trigger pipe its threads still used, which logged `OSError: [Errno 9]`
  tracebacks on every stop under load, and it left the event loop serving
  kept-alive connections.
"""

import logging
import resource
import threading
import time
from typing import Optional

import waitress.channel
import waitress.server
import waitress.wasyncore

from ..config.model import Limits
from ..defaults import HTTP_STOP_SECONDS
from .dispatch import ThreadBudget

logger = logging.getLogger(__name__)

#: open files beyond the connections: database, logs, files being copied
SPARE_FILES = 256


def bulk_slots(threads: int) -> int:
    """How many threads /files may hold at once: all but a quarter (at least one)."""
    return max(1, threads - max(1, threads // 4))


class _Channel(waitress.channel.HTTPChannel):
    """A connection that reads no new request once the server is stopping."""

    def readable(self):
        return not self.server.draining and super().readable()


class HttpServer:
    def __init__(
        self,
        app,
        host: str,
        port: int,
        threads: Optional[int] = None,
        limits: Optional[Limits] = None,
    ):
        limits = limits or Limits()
        threads = threads or limits.http_threads
        _fit_open_files(limits.http_connections + SPARE_FILES)
        app = ThreadBudget(bulk_slots(threads)).offered_to(app)
        self._server = waitress.server.create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            connection_limit=limits.http_connections,
            channel_timeout=limits.http_idle_seconds,
            cleanup_interval=max(1, min(30, limits.http_idle_seconds / 2)),
            asyncore_use_poll=True,
            ident='cerise-actors',
            clear_untrusted_proxy_headers=True,
        )
        self._server.channel_class = _Channel
        self._server.draining = False
        self.host = host
        self.port = self._server.effective_port
        self._thread = threading.Thread(target=self._serve, name='cerise-http', daemon=True)
        self._stopped = False

    def _serve(self) -> None:
        try:
            self._server.run()
        except OSError:  # closed while stopping
            pass

    def start(self) -> None:
        self._thread.start()

    @property
    def url(self) -> str:
        host = self.host
        if host in ('0.0.0.0', '', '::'):
            host = '127.0.0.1'
        if ':' in host:
            host = f'[{host}]'
        return f'http://{host}:{self.port}'

    def stop(self, grace: float = HTTP_STOP_SECONDS) -> None:
        """Stop accepting, let running requests finish for up to `grace` s, then close.

        Calling it again does nothing.
        """
        if self._stopped:
            return
        self._stopped = True
        server = self._server
        if not self._thread.is_alive():  # never started: nothing runs yet
            server.close()
            server.task_dispatcher.shutdown(timeout=grace)
            return
        deadline = time.monotonic() + grace
        busy = self._in_loop(self._stop_accepting)
        while busy and time.monotonic() < deadline:
            time.sleep(0.05)
            busy = self._in_loop(self._close_idle)
        if busy:
            logger.warning('HTTP: %d answers cut off by the stop after %g s', busy, grace)
        self._in_loop(self._close_all)
        self._thread.join(max(1.0, deadline - time.monotonic()))
        dispatcher = server.task_dispatcher
        dispatcher.shutdown(timeout=max(0.5, deadline - time.monotonic()))
        if dispatcher.threads:  # a request stuck in the app; its thread is a daemon
            logger.warning(
                'HTTP: %d requests still running after the stop', len(dispatcher.threads)
            )
        else:  # only now can no thread write to the trigger any more
            server.trigger.close()

    # --- run in the event loop's thread ------------------------------------------

    def _in_loop(self, function, timeout: float = 10.0) -> int:
        """What `function()` returns, called in the event loop's thread (0 if it is gone)."""
        done = threading.Event()
        result = []

        def call():
            try:
                result.append(function())
            finally:
                done.set()

        self._server.trigger.pull_trigger(call)
        deadline = time.monotonic() + timeout
        while not done.wait(0.05):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                return 0
        return result[0] if result else 0

    def _stop_accepting(self) -> int:
        self._server.draining = True
        waitress.wasyncore.dispatcher.close(self._server)  # the listening socket only
        return self._close_idle()

    def _close_idle(self) -> int:
        """Close connections with nothing to answer; the number of the others."""
        busy = 0
        for channel in list(self._server.active_channels.values()):
            if channel.requests or channel.total_outbufs_len:
                busy += 1
            else:
                channel.handle_close()
        return busy

    def _close_all(self) -> int:
        for channel in list(self._server.active_channels.values()):
            channel.handle_close()  # a thread still writing to it stops there
        self._server.trigger.del_channel()  # the map is empty: the event loop ends
        return 0


def _fit_open_files(wanted: int) -> None:
    """Raise the soft limit of open files to `wanted`, as far as the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < wanted:
        logger.warning(
            'HTTP: only %d files may be open at once, fewer than the %d connections need',
            target,
            wanted,
        )
