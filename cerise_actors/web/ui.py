"""The jobs page for browsers: `/ui` lists the user's jobs, `/ui/jobs/{id}` shows one.

Users who want to see their jobs at a glance had JSON and a file listing
only. These routes read the same things the API does, through the same
`JobsBackend` calls with the same owner (the user the auth gate let in),
so a user sees only their own jobs, and sign output links with the same
`Downloads` as GET /jobs/{id}, so a link opens without the token. The HTML
is `ui_render.py`'s; every answer carries a Content-Security-Policy that
allows its one stylesheet and nothing else, no sniffing, no framing.

The list is newest first, `PAGE_SIZE` jobs a page (`?page=2` for older).
The store pages oldest first, by (created_at, id), so a page is found by
counting: the user's number of jobs (one ask), where the page starts (one
ask of keys only, `JobsBackend.list_jobs(limit=...)`), then the page itself.
Each job on it costs one more ask, for its log (its step progress).
"""

import math
from typing import Optional, Sequence, Tuple

import falcon

from ..errors import JobNotFound
from ..jobs.states import JobState
from .backend import JobsBackend, base_url_of, format_log_line
from .identity import user_of
from .signed_outputs import Downloads
from .ui_progress import progress_of
from .ui_render import (
    CSP,
    JobDetails,
    JobRow,
    Paging,
    job_page,
    jobs_page,
    not_found_page,
)

#: jobs on one page of the list
PAGE_SIZE = 20
_CWL_STATE = {state.value: state.cwl_state for state in JobState}
HEADERS = {
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
}


def page_span(total: int, page: int, size: int = PAGE_SIZE) -> Tuple[int, int, int]:
    """(jobs to skip, jobs to show, number of pages) for page `page` (1: the
    newest) of `total` jobs in the store's oldest-first order."""
    pages = max(1, math.ceil(total / size))
    end = total - (page - 1) * size
    start = max(0, end - size)
    return start, max(0, end - start), pages


def page_number(params: dict) -> int:
    raw = params.get('page', '1')
    try:
        number = int(raw) if isinstance(raw, str) and raw.isdigit() else 0
    except ValueError:
        number = 0
    if number < 1:
        raise falcon.HTTPBadRequest(
            title='Invalid query', description='"page" must be a whole number from 1'
        )
    return number


def _html(resp, text: str, status=falcon.HTTP_200) -> None:
    resp.status = status
    resp.content_type = 'text/html; charset=utf-8'
    resp.set_headers(HEADERS)
    resp.text = text


class JobsPage:
    def __init__(self, backend: JobsBackend, base_url: Optional[str], steps: Sequence[dict]):
        self._backend = backend
        self._base_url = base_url
        self._steps = list(steps)

    def on_get(self, req, resp):
        user = user_of(req)
        number = page_number(req.params)
        total = sum(self._backend.state_counts(owner=user).values())
        skip, count, pages = page_span(total, number, PAGE_SIZE)  # read now: tests lower it
        jobs = self._newest_first(skip, count, user)
        rows = [
            JobRow(
                job.id,
                job.name,
                _CWL_STATE.get(job.state, job.state),
                self._progress(job.id, user),
            )
            for job in jobs
        ]
        base = base_url_of(req, self._base_url)
        _html(resp, jobs_page(base, rows, Paging(number, pages, total), self._steps))

    def _newest_first(self, skip: int, count: int, user: str) -> list:
        if count == 0:
            return []
        after = None
        if skip:
            _, after = self._backend.list_jobs(limit=skip, owner=user)
            if after is None:  # jobs were deleted since they were counted
                return []
        pages, _ = self._backend.list_jobs(limit=count, after=after, owner=user)
        return [job for rows in pages for job in rows][::-1]

    def _progress(self, job_id: str, user: str):
        try:
            return progress_of(self._backend.log_lines(job_id, owner=user))
        except JobNotFound:  # deleted since the page was read
            return progress_of(())


class JobPage:
    def __init__(self, backend: JobsBackend, base_url: Optional[str], downloads: Downloads):
        self._backend = backend
        self._base_url = base_url
        self._downloads = downloads

    def on_get(self, req, resp, job_id):
        user = user_of(req)
        base = base_url_of(req, self._base_url)
        try:
            job = self._backend.get(job_id, owner=user)
            lines = self._backend.log_lines(job_id, owner=user)
        except JobNotFound:  # another user's job too: the same page as a made-up id
            _html(resp, not_found_page(base, job_id), falcon.HTTP_404)
            return
        details = JobDetails(
            job.id, job.name, job.state.cwl_state, job.workflow_url, job.created_at, job.updated_at
        )
        output = self._downloads.signed(job.output, job_id, user)
        log_text = ''.join(format_log_line(*line) for line in lines)
        _html(resp, job_page(base, details, output, progress_of(lines), log_text))


def install_ui(
    app,
    backend: JobsBackend,
    base_url: Optional[str],
    steps: Sequence[dict],
    downloads: Downloads,
) -> None:
    """Add the jobs page's routes to the falcon `app`."""
    app.add_route('/ui', JobsPage(backend, base_url, steps))
    app.add_route('/ui/jobs/{job_id}', JobPage(backend, base_url, downloads))
