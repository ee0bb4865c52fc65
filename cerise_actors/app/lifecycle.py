"""Running the service as a long-lived process: logging, pid file, signals.

`serve()` is what `cerise-actors serve` does: it refuses to start twice on
one pid file, writes the pid and the address it listens on (the `.url`
file next to the pid file, handy with `port: 0`), and on SIGTERM or SIGINT shuts down
cleanly so that every job is left in a state the next start resumes from.

The `.url` file doubles as a readiness signal, so it must never point at a
port nobody answers on: one left by a process that was killed is removed
when the pid file is claimed, and the new one is written (atomically) only
once start-up is done and the API answers.
"""

import logging
import os
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import List, Optional

from ..config import ApiConfig, ServiceConfig
from ..errors import AlreadyRunning
from .access import url_with_token
from .listen import CannotListen
from .memory import keep_malloc_lean
from .system import CeriseService

logger = logging.getLogger('cerise_actors')

LOG_FORMAT = '%(asctime)s %(levelname)s %(name)s: %(message)s'


def setup_logging(config: ServiceConfig) -> None:
    handlers: List[logging.Handler] = [logging.StreamHandler()]
    if config.log_file is not None:
        config.log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers = [logging.FileHandler(config.log_file)]
    formatter = logging.Formatter(LOG_FORMAT, datefmt='%Y-%m-%dT%H:%M:%SZ')
    formatter.converter = time.gmtime  # the same clock as the job logs
    for handler in handlers:
        handler.setFormatter(formatter)
    logging.basicConfig(level=config.log_level, handlers=handlers, force=True)
    # LOG_FORMAT names no process or thread: a record need not look them up
    # (a getpid call and two look-ups per line, seven lines a job; issue 21)
    logging.logProcesses = logging.logThreads = logging.logMultiprocessing = False
    # a burst of requests is normal here, not worth a warning per request
    logging.getLogger('waitress.queue').setLevel(logging.ERROR)
    # cwltool and friends are imported by nobody here, but keep chatty libraries quiet
    for name in ('waitress', 'pykka'):
        logging.getLogger(name).setLevel(max(config.log_level, logging.WARNING))


def url_file(pid_file: Path) -> Path:
    return pid_file.with_suffix('.url')


def claim_pid_file(pid_file: Optional[Path]) -> None:
    """Make the pid file ours, or raise AlreadyRunning if its process lives.

    A `.url` file left by a dead process is removed here, before anything
    else starts, so readiness loops wait for the new one.
    """
    if pid_file is None:
        return
    if pid_file.exists():
        try:
            other = int(pid_file.read_text().strip())
        except ValueError:
            other = None
        if other and other != os.getpid() and _alive(other) and _is_cerise(other):
            raise AlreadyRunning(
                f'another cerise-actors (pid {other}) uses {pid_file}; '
                f'stop it first or choose another pidfile'
            )
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f'{os.getpid()}\n')
    url_file(pid_file).unlink(missing_ok=True)


def write_url_file(pid_file: Optional[Path], url: str) -> None:
    """Write the `.url` file by rename, so no reader sees it half-written."""
    if pid_file is None:
        return
    path = url_file(pid_file)
    partial = path.with_name(f'{path.name}.{os.getpid()}.tmp')
    partial.write_text(url + '\n')
    os.replace(partial, path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f'/proc/{pid}/stat') as stat:
            return stat.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return True


def _is_cerise(pid: int) -> bool:
    """Whether `pid` runs cerise-actors (a PID in a stale pid file may be reused)."""
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as cmdline:
            return b'cerise' in cmdline.read()
    except OSError:
        return True


def release_pid_file(pid_file: Optional[Path]) -> None:
    if pid_file is None:
        return
    for path in (pid_file, url_file(pid_file)):
        try:
            if path == pid_file and path.read_text().strip() != str(os.getpid()):
                continue
            path.unlink()
        except OSError:
            pass


def serve(config: ServiceConfig, api_config: ApiConfig, api_dir: Optional[Path]) -> int:
    """Run until SIGTERM/SIGINT; returns the process exit code."""
    keep_malloc_lean()  # before any thread: freed memory goes back (app/memory.py)
    if config.auth != 'none':  # what the service makes is its own (Access.keep_private)
        os.umask(0o077)
    setup_logging(config)
    claim_pid_file(config.pid_file)
    stop = threading.Event()

    def on_signal(signum: int, frame: Optional[FrameType]) -> None:
        logger.info('received %s, shutting down', signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        # binds the port first, then builds the rest; undoes itself if it fails
        try:
            service = CeriseService(config, api_config, api_dir)
        except CannotListen as exc:
            logger.error('%s', exc)
            raise
        try:
            service.start()  # returns once the API answers
            write_url_file(config.pid_file, service.http.url)
            logger.info('cerise-actors started, pid %d, serving %s', os.getpid(), service.base_url)
            where = f', log in {config.log_file}' if config.log_file else ''
            print(
                f'cerise-actors: serving {service.http.url} (pid {os.getpid()}{where}); '
                f'stop with Ctrl-C',
                flush=True,
            )
            _print_access(service)
            while not stop.wait(1.0):
                pass
        finally:
            service.stop()
    finally:
        release_pid_file(config.pid_file)
        logger.info('cerise-actors stopped')
    return 0


def _print_access(service: CeriseService) -> None:
    """How to get in, on the terminal (as Jupyter does); the log file gets
    where the token is, never the token."""
    access = service.access
    logger.info('access: %s', access.description)
    if access.token is not None:
        print(
            f'  with its token: {url_with_token(service.http.url, access.token)}\n'
            f'  ({access.description}; the cerise-actors client commands beside it find it)',
            flush=True,
        )
    else:
        print(f'  {access.description}', flush=True)
