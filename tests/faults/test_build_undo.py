"""A part that fails to build leaves nothing of the parts built before it.

`CeriseService._build` starts the parts in order (app/parts.py), each
registering its own undo. Here each part in turn fails as it is built, in
the real service on a real folder and port: the constructor raises the
part's error, no actor is left running, no thread of the service lingers,
the port is free again and the local warm runner's socket is gone. (The
completion watcher is made only for SSH resources and starts nothing.)
"""

import socket
import threading

import pykka
import pytest

from cerise_actors.app import system
from cerise_actors.app.system import CeriseService
from cerise_actors.config import service_config_from_dict

from ..helpers import TEST_API_DIR, wait_for
from ..service_setup import api_config_for_tests, service_config_dict

#: the parts of _build in the order they are built (each after the one before)
PARTS = [
    'open_resource',
    'start_store',
    'start_poller',
    'start_warm',
    'start_runner',
    'start_stagers',
    'start_installer',
    'subscribe_workers',
    'build_api',
]


class PartFailed(Exception):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(('127.0.0.1', port))
        except OSError:
            return False
        return True


@pytest.mark.parametrize('part', PARTS)
def test_a_part_that_fails_undoes_every_part_built_before_it(tmp_path, monkeypatch, part):
    threads_before = set(threading.enumerate())
    port = _free_port()
    built = []

    def fails(*args, **kwargs):
        built.append(part)
        raise PartFailed(part)

    monkeypatch.setattr(system, part, fails)
    config_dict = service_config_dict(tmp_path)
    config_dict['rest-service']['port'] = port
    config = service_config_from_dict(config_dict, env={})
    api_config = api_config_for_tests(tmp_path)
    # the local warm runner is made by the part before the runner: make it start
    # for real, so its process is there to be stopped
    assert api_config.jobs.warm_runner

    with pytest.raises(PartFailed):
        CeriseService(config, api_config, TEST_API_DIR)

    assert built == [part]  # the part was reached: every part before it was built
    assert pykka.ActorRegistry.get_all() == []
    assert _port_is_free(port), f'port {port} still bound after {part} failed'
    wait_for(
        lambda: (
            not [
                t
                for t in set(threading.enumerate()) - threads_before
                if t.is_alive() and not t.daemon
            ]
        ),
        timeout=30,
        message=f'the threads started before {part} failed to end',
    )
    warm_sockets = list(tmp_path.rglob('*.sock'))
    assert not warm_sockets, f'the warm runner left {warm_sockets}'
