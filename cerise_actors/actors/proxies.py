"""The actors' proxies as their callers see them, so mypy checks every call.

pykka's `ref.proxy()` is an `ActorProxy`, whose attributes are all `Any`
(it answers any name through `__getattr__`): a misspelt method or a wrong
argument in a call on a proxy would only show when that call runs. Each
class here declares, with pykka.typing's `proxy_method`, the methods other
code calls on one actor's proxy: the actor's own signature, answered with a
`pykka.Future` of its return value. Unlike pykka's example they do not
derive from `ActorProxy`, whose `__getattr__` would let a misspelt name
pass unnoticed; they are never made, only named: `store_proxy(ref)` and
its kind give `ref.proxy()` the type that describes it.

A proxy is held as one of these wherever it is kept (the actors'
constructors, the web front end, app/); the actors' modules name them for
mypy only, since this module imports those modules.
"""

from typing import cast

import pykka
from pykka.typing import ActorMemberMixin, proxy_method

from ..store.actor import StoreActor
from .installer import ApiInstallerActor
from .poller import PollerActor
from .runner import RunnerActor
from .stager import StagerActor


class StoreProxy(ActorMemberMixin):
    """What the workers, the front end and the service ask of the StoreActor."""

    subscribe = proxy_method(StoreActor.subscribe)
    stopping_view = proxy_method(StoreActor.stopping_view)
    create_job = proxy_method(StoreActor.create_job)
    get_job = proxy_method(StoreActor.get_job)
    list_jobs_page = proxy_method(StoreActor.list_jobs_page)
    jobs_page_end = proxy_method(StoreActor.jobs_page_end)
    list_runs = proxy_method(StoreActor.list_runs)
    get_run = proxy_method(StoreActor.get_run)
    state_counts = proxy_method(StoreActor.state_counts)
    jobs_in = proxy_method(StoreActor.jobs_in)
    job_log = proxy_method(StoreActor.job_log)
    transition = proxy_method(StoreActor.transition)
    claim = proxy_method(StoreActor.claim)
    cancel_job = proxy_method(StoreActor.cancel_job)
    delete_job = proxy_method(StoreActor.delete_job)
    delete_expired = proxy_method(StoreActor.delete_expired)
    republish = proxy_method(StoreActor.republish)
    update_job = proxy_method(StoreActor.update_job)
    add_log = proxy_method(StoreActor.add_log)
    note = proxy_method(StoreActor.note)
    remove_job = proxy_method(StoreActor.remove_job)
    recover_interrupted = proxy_method(StoreActor.recover_interrupted)
    deletable_jobs = proxy_method(StoreActor.deletable_jobs)
    ping = proxy_method(StoreActor.ping)


class PollerProxy(ActorMemberMixin):
    """What the runner, the stagers, the service and the poller's own timer tell it."""

    track = proxy_method(PollerActor.track)
    poll_now = proxy_method(PollerActor.poll_now)
    call_later = proxy_method(PollerActor.call_later)
    tracked_count = proxy_method(PollerActor.tracked_count)
    reachable = proxy_method(PollerActor.reachable)
    tick = proxy_method(PollerActor.tick)
    poll_hinted = proxy_method(PollerActor.poll_hinted)


class RunnerProxy(ActorMemberMixin):
    """What the store's notifications, the installer and the service tell the runner."""

    api_ready = proxy_method(RunnerActor.api_ready)
    api_failed = proxy_method(RunnerActor.api_failed)
    installed = proxy_method(RunnerActor.installed)
    install_when_idle = proxy_method(RunnerActor.install_when_idle)
    adopt = proxy_method(RunnerActor.adopt)
    enqueue = proxy_method(RunnerActor.enqueue)
    job_ended = proxy_method(RunnerActor.job_ended)
    retry_queued = proxy_method(RunnerActor.retry_queued)
    cancel = proxy_method(RunnerActor.cancel)


class StagerProxy(ActorMemberMixin):
    """What the stager pool hands one stager."""

    stage_in = proxy_method(StagerActor.stage_in)
    stage_out = proxy_method(StagerActor.stage_out)
    delete = proxy_method(StagerActor.delete)


class ApiInstallerProxy(ActorMemberMixin):
    """What the service asks the installer at start-up, and what it tells itself."""

    outdated_projects = proxy_method(ApiInstallerActor.outdated_projects)
    start_up = proxy_method(ApiInstallerActor.start_up)
    install_now = proxy_method(ApiInstallerActor.install_now)


# The proxy of an actor's ref has that actor's methods, each answering a
# Future: what the classes above declare, so each cast below holds by construction.


def store_proxy(ref: 'pykka.ActorRef[StoreActor]') -> StoreProxy:
    return cast(StoreProxy, ref.proxy())


def poller_proxy(ref: 'pykka.ActorRef[PollerActor]') -> PollerProxy:
    return cast(PollerProxy, ref.proxy())


def runner_proxy(ref: 'pykka.ActorRef[RunnerActor]') -> RunnerProxy:
    return cast(RunnerProxy, ref.proxy())


def stager_proxy(ref: 'pykka.ActorRef[StagerActor]') -> StagerProxy:
    return cast(StagerProxy, ref.proxy())


def installer_proxy(ref: 'pykka.ActorRef[ApiInstallerActor]') -> ApiInstallerProxy:
    return cast(ApiInstallerProxy, ref.proxy())
