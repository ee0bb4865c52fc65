"""The falcon resources of GA4GH WES 1.1 under /ga4gh/wes/v1, on the jobs of /jobs.

A run is a job: these resources ask the same JobsBackend as /jobs (and so
the same StoreActor), and a run is created through the same create_job as
POST /jobs, so stage-in applies the same rules (installed steps only, the
workflow policy) to both. Errors under /ga4gh/wes/ are WES ErrorResponse
bodies, `{"msg": ..., "status_code": ...}`; the rest of the app keeps its own.
"""

import contextlib
import dataclasses
import json
import logging
import uuid
from pathlib import Path
from typing import Callable, Optional, Tuple

import falcon
import yaml
from falcon.app_helpers import default_serialize_error

from ...boundary.confined import ConfinedRoot, Refused
from ...boundary.exchange_names import ExchangeNames
from ...defaults import MAX_PAGE_SIZE, WES_PAGE_SIZE
from ..backend import JobsBackend, base_url_of
from ..identity import maybe_user_of, user_of
from ..list_slots import ListSlots
from ..paging import decode_cursor, page_size
from ..signed_outputs import Downloads
from . import views
from .form import multipart_handler, read_run_form
from .submission import BadRun, Place, build_submission
from .tasks import runner_log_url, task_logs

logger = logging.getLogger(__name__)

PREFIX = '/ga4gh/wes/v1'
OPENAPI_FILE = Path(__file__).resolve().parent / 'openapi.yaml'
#: the folder of the exchange area under which each run's attachments go
ATTACHMENTS_FOLDER = 'input/wes'


@dataclasses.dataclass(frozen=True)
class WesSettings:
    facts: views.ServiceFacts
    exchange_dir: Path  # store-location-service
    exchange_url: str  # store-location-client
    #: which URLs and paths name the area, as stage-in reads them (the Exchange's own)
    exchange_names: Optional[ExchangeNames] = None
    #: with a users file: a user's area as (folder, client URL, names) (Exchange.for_user)
    area_of: Optional[Callable[[str], Tuple[Path, str, ExchangeNames]]] = None

    def for_user(self, user: str) -> 'WesSettings':
        """These settings with `user`'s own file area, where their run's
        attachments go and their URLs are read from."""
        if self.area_of is None:
            return self
        folder, url, names = self.area_of(user)
        return dataclasses.replace(
            self, exchange_dir=folder, exchange_url=url, exchange_names=names, area_of=None
        )

    def names(self) -> ExchangeNames:
        if self.exchange_names is not None:
            return self.exchange_names
        return ExchangeNames((self.exchange_url,), (str(self.exchange_dir),))


def _bad(message: str) -> falcon.HTTPBadRequest:
    return falcon.HTTPBadRequest(title='Bad request', description=message)


class _Base:
    def __init__(self, backend: JobsBackend, settings: WesSettings, base_url: Optional[str]):
        self._backend = backend
        self._settings = settings
        self._base_url = base_url

    def _base(self, req) -> str:
        return base_url_of(req, self._base_url)

    # a missing run raises JobNotFound, answered by the app's one handler of
    # errors (web/app.py, from jobs/outcomes.py) as a 404 ErrorResponse
    def _run(self, req, run_id: str):
        return self._backend.get_run(run_id, owner=user_of(req))

    def _log_lines(self, req, run_id: str):
        return self._backend.log_lines(run_id, owner=user_of(req))


class ServiceInfo(_Base):
    def on_get(self, req, resp):
        user = maybe_user_of(req)  # public: without credentials, no counts
        counts = {} if user is None else self._backend.state_counts(owner=user)
        resp.media = views.service_info(self._settings.facts, counts, self._base(req))


class Runs(_Base):
    def __init__(
        self,
        backend,
        settings,
        base_url,
        text_limit: int,
        slots: ListSlots,
        max_active: Optional[int] = None,
    ):
        super().__init__(backend, settings, base_url)
        self._text_limit = text_limit
        self._slots = slots
        self._max_active = max_active

    def on_get(self, req, resp):
        try:
            size = page_size(req.get_param('page_size'), WES_PAGE_SIZE, MAX_PAGE_SIZE, 'page_size')
            token = req.get_param('page_token')
            after = decode_cursor(token) if token else None
        except ValueError as exc:
            raise _bad(str(exc)) from None
        resp.content_type = falcon.MEDIA_JSON
        pages = self._backend.list_runs(size, after, owner=user_of(req))
        resp.stream = self._slots.answer(req, views.run_list_chunks(pages))

    def on_post(self, req, resp):
        """Make a run. Its attachments go to `input/wes/<run id>/`, made, written
        and (on a refusal) removed through the exchange area's ConfinedRoot,
        never by path: a shell user who made `input/wes` a link to a folder
        elsewhere gets a 400, and nothing is written or removed there."""
        run_id = str(uuid.uuid4())
        user = user_of(req)
        settings = self._settings.for_user(user)
        exchange = ConfinedRoot(settings.exchange_dir)
        run_name = f'{ATTACHMENTS_FOLDER}/{run_id}'
        place = Place(
            run_url=f'{settings.exchange_url.rstrip("/")}/{run_name}',
            exchange_url=settings.exchange_url.rstrip('/'),
            names=settings.names(),
        )
        try:
            fields, attachments = read_run_form(req, exchange, run_name, self._text_limit)
            run = build_submission(fields, attachments, place, settings.facts.engine)
            notes = [f'Submitted through GA4GH WES; attachments: {len(attachments)}.', *run.notes]
            self._backend.create(
                run.name,
                run.workflow_url,
                run.input,
                run_id,
                run.request,
                notes,
                owner=user,
                max_active=self._max_active,
            )
        except BadRun as exc:
            _remove(exchange, run_name)
            raise _bad(str(exc)) from None
        except BaseException:
            _remove(exchange, run_name)
            raise
        resp.media = {'run_id': run_id}


def _remove(exchange: ConfinedRoot, run_name: str) -> None:
    """Remove a refused run's folder through descriptors (no link followed);
    what cannot be removed is only clutter, and is logged."""
    with contextlib.suppress(FileNotFoundError):
        try:
            exchange.remove(run_name)
        except (OSError, Refused) as exc:
            logger.warning('could not remove the refused run folder %s: %s', run_name, exc)


class RunItem(_Base):
    def __init__(self, backend, settings, base_url, downloads: Downloads):
        super().__init__(backend, settings, base_url)
        self._downloads = downloads

    def on_get(self, req, resp, run_id):
        run = self._run(req, run_id)
        lines = self._log_lines(req, run_id)
        base = self._base(req)
        answer = views.run_log(run, base, base + PREFIX, lines)
        answer['outputs'] = self._downloads.signed(answer['outputs'], run_id, user_of(req))
        resp.media = answer


class RunStatus(_Base):
    def on_get(self, req, resp, run_id):
        resp.media = views.run_status(self._run(req, run_id))


class RunCancel(_Base):
    def on_post(self, req, resp, run_id):
        self._backend.cancel(run_id, owner=user_of(req))
        resp.media = {'run_id': run_id}


class RunTasks(_Base):
    def on_get(self, req, resp, run_id):
        try:
            page_size(req.get_param('page_size'), WES_PAGE_SIZE, MAX_PAGE_SIZE, 'page_size')
        except ValueError as exc:
            raise _bad(str(exc)) from None
        if req.get_param('page_token'):
            raise _bad('page_token: not a page token this service handed out')
        resp.media = views.task_list(self._tasks(req, run_id))

    def on_get_task(self, req, resp, run_id, task_id):
        for task in self._tasks(req, run_id):
            if task['id'] == task_id:
                resp.media = task
                return
        raise falcon.HTTPNotFound(
            title='Task not found',
            description=f'run {run_id} has no task {task_id[:100]!r}; tasks are the '
            "workflow's steps, listed once they have started",
        )

    def _tasks(self, req, run_id) -> list:
        self._run(req, run_id)
        lines = self._log_lines(req, run_id)
        log_url = f'{self._base(req)}/jobs/{run_id}/log'
        return task_logs(lines, log_url, runner_log_url(lines))


class OpenApi:
    """The WES 1.1 OpenAPI document (api_specs/ga4gh-wes-1.1), as JSON."""

    def __init__(self):
        self._text: Optional[str] = None

    def on_get(self, req, resp):
        if self._text is None:
            self._text = json.dumps(yaml.safe_load(OPENAPI_FILE.read_text()))
        resp.content_type = falcon.MEDIA_JSON
        resp.text = self._text


def _serialize_error(req, resp, exc: falcon.HTTPError) -> None:
    """ErrorResponse bodies under the WES prefix, falcon's elsewhere."""
    if not (req.path == PREFIX or req.path.startswith(PREFIX + '/')):
        default_serialize_error(req, resp, exc)
        return
    resp.content_type = falcon.MEDIA_JSON
    resp.text = json.dumps(
        {'msg': exc.description or exc.title or str(exc.status), 'status_code': exc.status_code}
    )


def install_wes(
    app: falcon.App,
    backend: JobsBackend,
    settings: WesSettings,
    base_url: Optional[str],
    text_limit: int,
    slots: ListSlots,
    downloads: Optional[Downloads] = None,
    max_active: Optional[int] = None,
) -> None:
    """Add the WES routes, the multipart parser and the ErrorResponse bodies to
    `app`; GET /runs is written in the `slots` of the app's lists."""
    app.req_options.media_handlers[falcon.MEDIA_MULTIPART] = multipart_handler(text_limit)
    app.add_route(f'{PREFIX}/service-info', ServiceInfo(backend, settings, base_url))
    runs = Runs(backend, settings, base_url, text_limit, slots, max_active)
    app.add_route(f'{PREFIX}/runs', runs)
    run_item = RunItem(backend, settings, base_url, downloads or Downloads(None, None))
    app.add_route(f'{PREFIX}/runs/{{run_id}}', run_item)
    app.add_route(f'{PREFIX}/runs/{{run_id}}/status', RunStatus(backend, settings, base_url))
    app.add_route(f'{PREFIX}/runs/{{run_id}}/cancel', RunCancel(backend, settings, base_url))
    tasks = RunTasks(backend, settings, base_url)
    app.add_route(f'{PREFIX}/runs/{{run_id}}/tasks', tasks)
    app.add_route(f'{PREFIX}/runs/{{run_id}}/tasks/{{task_id}}', tasks, suffix='task')
    openapi = OpenApi()
    app.add_route(f'{PREFIX}/openapi.json', openapi)
    app.add_route('/openapi-wes.json', openapi)
    app.set_error_serializer(_serialize_error)
