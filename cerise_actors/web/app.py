"""The falcon application: Cerise's /jobs API and the OpenAPI document.

`create_app` builds everything from explicit arguments (no globals, nothing
at import time). Errors are mapped to HTTP in one place: unknown jobs give
404, a store that does not answer 503, bad bodies 400 — each with a JSON
body `{"title": ..., "description": ...}` naming the problem.
"""

import json
import logging
from pathlib import Path
from typing import Optional, Sequence

import falcon
import yaml

from ..boundary.exchange_names import ExchangeNames
from ..defaults import MAX_REQUEST_BYTES
from ..errors import CeriseError
from ..jobs.outcomes import outcome_of
from .backend import JobsBackend, base_url_of, job_json, jobs_json_chunks
from .discovery import Index, StepList
from .identity import user_of
from .jobs_query import add_next_page, jobs_query
from .list_slots import ListSlots
from .own_urls import CredentialsInUrl, without_own_credentials
from .request_body import parse_json, read_body
from .signed_outputs import Downloads
from .ui import install_ui
from .wes import PREFIX as WES_PREFIX
from .wes import WesSettings, install_wes

logger = logging.getLogger(__name__)
OPENAPI_FILE = Path(__file__).resolve().parent / 'openapi.yaml'


def _parse_job_description(req, limit: int) -> tuple:
    body = parse_json(read_body(req, limit))
    if not isinstance(body, dict):
        raise falcon.HTTPBadRequest(
            title='Invalid job description',
            description='the body must be a JSON object with at least "workflow"',
        )
    workflow = body.get('workflow')
    if not isinstance(workflow, str) or not workflow.strip():
        raise falcon.HTTPBadRequest(
            title='Invalid job description',
            description='"workflow" is required and must be a string: the URL of the workflow',
        )
    name = body.get('name', '')
    if name is None:
        name = ''
    if not isinstance(name, str):
        raise falcon.HTTPBadRequest(
            title='Invalid job description', description='"name" must be a string'
        )
    input_doc = body.get('input', {})
    if input_doc is None:
        input_doc = {}
    if not isinstance(input_doc, dict):
        raise falcon.HTTPBadRequest(
            title='Invalid job description',
            description='"input" must be a JSON object (the CWL input object)',
        )
    return name, workflow, input_doc


class JobCollection:
    def __init__(
        self,
        backend: JobsBackend,
        base_url: Optional[str],
        body_limit: int,
        slots: ListSlots,
        max_active: Optional[int] = None,
        own_names: Optional[ExchangeNames] = None,
    ):
        self._backend = backend
        self._base_url = base_url
        self._body_limit = body_limit
        self._slots = slots
        self._max_active = max_active
        self._own_names = own_names

    def on_get(self, req, resp):
        """Every job, or a page with filters (jobs_query.py), written as the
        store hands them over a few at a time (paging.py), in a slot (list_slots.py)."""
        base = base_url_of(req, self._base_url)
        query = jobs_query(req.params) or ()
        pages, cursor = self._backend.list_jobs(*query, owner=user_of(req))
        add_next_page(resp, base, req.params, cursor)
        resp.content_type = falcon.MEDIA_JSON
        resp.stream = self._slots.answer(req, jobs_json_chunks(pages, base))

    def on_post(self, req, resp):
        name, workflow, input_doc = _parse_job_description(req, self._body_limit)
        if self._own_names is not None:  # the token a client put in our own URLs
            try:
                workflow, input_doc = without_own_credentials(workflow, input_doc, self._own_names)
            except CredentialsInUrl as exc:
                raise falcon.HTTPBadRequest(
                    title='Invalid job description', description=str(exc)
                ) from None
        job = self._backend.create(
            name, workflow, input_doc, owner=user_of(req), max_active=self._max_active
        )
        base = base_url_of(req, self._base_url)
        resp.status = falcon.HTTP_201
        resp.location = f'{base}/jobs/{job.id}'
        resp.media = job_json(job, base)


class JobItem:
    def __init__(self, backend: JobsBackend, base_url: Optional[str], downloads: Downloads):
        self._backend = backend
        self._base_url = base_url
        self._downloads = downloads

    def on_get(self, req, resp, job_id):
        user = user_of(req)
        answer = job_json(self._backend.get(job_id, owner=user), base_url_of(req, self._base_url))
        answer['output'] = self._downloads.signed(answer['output'], job_id, user)
        resp.media = answer

    def on_delete(self, req, resp, job_id):
        self._backend.delete(job_id, owner=user_of(req))
        resp.status = falcon.HTTP_204


class JobCancel:
    def __init__(self, backend: JobsBackend, base_url: Optional[str]):
        self._backend = backend
        self._base_url = base_url

    def on_post(self, req, resp, job_id):
        base = base_url_of(req, self._base_url)
        resp.media = job_json(self._backend.cancel(job_id, owner=user_of(req)), base)
        resp.location = f'{base}/jobs/{job_id}'


class JobLog:
    def __init__(self, backend: JobsBackend):
        self._backend = backend

    def on_get(self, req, resp, job_id):
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = self._backend.log_text(job_id, owner=user_of(req))


class OpenApiDocument:
    def __init__(self, path: Path = OPENAPI_FILE):
        self._path = path
        self._text: Optional[str] = None

    def on_get(self, req, resp):
        if self._text is None:
            self._text = json.dumps(yaml.safe_load(self._path.read_text()))
        resp.content_type = falcon.MEDIA_JSON
        resp.text = self._text


def _no_route(req, resp, ex, params):
    raise falcon.HTTPNotFound(
        title='Not found',
        description=f'there is nothing at {req.path}; the API is described at /openapi.json',
    )


def _internal_error(req, resp, ex, params):
    """Any other exception: the traceback goes to the service log, the client
    gets a JSON 500 without it."""
    logger.exception('internal error answering %s %s', req.method, req.path)
    raise falcon.HTTPInternalServerError(
        title='Internal error',
        description='the service failed to answer this request; its log has the details',
    )


def _under_wes(path: str) -> bool:
    return path == WES_PREFIX or path.startswith(WES_PREFIX + '/')


def _cerise_error(req, resp, ex, params):
    """An error of errors.py: the answer its outcome names (jobs/outcomes.py, looked
    up along its MRO), with the error's own words; without one, a 500."""
    outcome = outcome_of(ex)
    if outcome.http_status is None:
        _internal_error(req, resp, ex, params)
    headers = {} if outcome.retry_after is None else {'Retry-After': str(outcome.retry_after)}
    raise falcon.HTTPError(
        falcon.code_to_http_status(outcome.http_status),
        title=outcome.http_title,
        description=ex.words('run' if _under_wes(req.path) else 'job'),
        headers=headers,
    )


def create_app(
    backend: JobsBackend,
    base_url: Optional[str] = None,
    body_limit: int = MAX_REQUEST_BYTES,
    wes: Optional[WesSettings] = None,
    steps: Sequence[dict] = (),
    downloads: Optional[Downloads] = None,
    max_active: Optional[int] = None,
    own_names: Optional[ExchangeNames] = None,
):
    """The WSGI app of the Cerise REST API (/files is mounted beside it);
    `body_limit` bounds POST /jobs bodies (limits.request-bytes). With `wes`,
    GA4GH WES 1.1 is served on the same jobs at /ga4gh/wes/v1 (web/wes/).
    `steps` (cwl/step_info.py) is what GET /steps lists. Every route takes
    the user from the auth gate in front (`auth_gate.py`); `downloads` signs
    output URLs for them, `max_active` is limits.active-jobs-per-user;
    `own_names` (the exchange's) lets POST /jobs drop the credentials
    clients put in the service's own /files URLs (`own_urls.py`)."""
    downloads = downloads or Downloads(None, None)
    app = falcon.App()
    app.req_options.strip_url_path_trailing_slash = True
    slots = ListSlots()  # shared by GET /jobs and GET /runs
    jobs = JobCollection(backend, base_url, body_limit, slots, max_active, own_names)
    app.add_route('/jobs', jobs)
    app.add_route('/jobs/{job_id}', JobItem(backend, base_url, downloads))
    app.add_route('/jobs/{job_id}/cancel', JobCancel(backend, base_url))
    app.add_route('/jobs/{job_id}/log', JobLog(backend))
    links = {'ui': '/ui'}  # the jobs page for browsers (ui.py)
    if wes is not None:
        links['wes'] = f'{WES_PREFIX}/service-info'
    app.add_route('/', Index(base_url, links))
    app.add_route('/steps', StepList(steps))
    install_ui(app, backend, base_url, steps, downloads)
    openapi = OpenApiDocument()
    app.add_route('/openapi.json', openapi)
    app.add_route('/swagger.json', openapi)
    app.add_error_handler(Exception, _internal_error)  # falcon's HTTPErrors keep theirs
    app.add_error_handler(CeriseError, _cerise_error)
    app.add_error_handler(falcon.HTTPRouteNotFound, _no_route)
    if wes is not None:
        install_wes(app, backend, wes, base_url, body_limit, slots, downloads, max_active)
    return app
