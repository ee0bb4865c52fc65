"""The HTML of the jobs page (`ui.py`): pure functions from values to text.

Users asked for something to look at besides JSON and a file listing, so
the page is plain server-rendered HTML: no front-end framework, no
JavaScript, one inline stylesheet. Everything a user controls (job names,
ids from the URL, workflow URLs, log lines, output names and locations,
step docs) goes through `esc`, and only http(s) URLs become links, so a
job named `<script>` or an output at `javascript:` shows as text. The
stylesheet is allowed by its hash in `CSP`, which allows nothing else.
Kept free of falcon and the store, so each page can be tested as a string.
"""

import base64
import hashlib
import html
import json
import time
from typing import Any, Iterator, NamedTuple, Optional, Sequence, Tuple
from urllib.parse import quote, urlsplit

from .ui_progress import Progress

STYLE = (
    'body{font-family:sans-serif;margin:1.5em auto;max-width:60em;padding:0 1em;color:#222}'
    'table{border-collapse:collapse;width:100%}'
    'th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #ddd;vertical-align:top}'
    'code,pre{font-size:.9em}pre{background:#f6f6f6;padding:.8em;overflow-x:auto;'
    'white-space:pre-wrap;word-break:break-all}'
    '.state{font-weight:bold}.Success{color:#176117}.Running{color:#1b4f9c}'
    '.Waiting{color:#6b6b6b}.Cancelled{color:#8a6d00}'
    '.PermanentFailure,.TemporaryFailure,.SystemError{color:#a31515}'
    'nav a{margin-right:1em}.muted{color:#6b6b6b}'
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
#: the page's Content-Security-Policy: its own stylesheet, nothing else at all
CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
#: the API states a page shows with a colour (a CSS class), the only classes
#: taken from data; anything else gets none
_STATES = {
    'Waiting',
    'Running',
    'Success',
    'Cancelled',
    'SystemError',
    'TemporaryFailure',
    'PermanentFailure',
}
#: seconds after which a page with an unfinished job reloads itself (no JavaScript)
REFRESH_SECONDS = 15


def esc(value: Any) -> str:
    """Text safe in HTML content and in quoted attributes."""
    return html.escape('' if value is None else str(value), quote=True)


class JobRow(NamedTuple):
    """A job in the list: what the page shows of it."""

    id: str
    name: str
    state: str  # the API state (Waiting, Running, Success, ...)
    progress: Progress


class JobDetails(NamedTuple):
    """A job on its own page."""

    id: str
    name: str
    state: str
    workflow: str
    created_at: float
    updated_at: float


class Paging(NamedTuple):
    page: int  # 1: the newest jobs
    pages: int
    total: int


def page(title: str, body: str, refresh: bool = False) -> str:
    """A whole HTML document."""
    meta = f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">' if refresh else ''
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'{meta}<title>{esc(title)} · cerise-actors</title><style>{STYLE}</style></head>'
        f'<body>{body}</body></html>\n'
    )


def link(url: str, text: Any) -> str:
    """An <a> to `url` if it is http(s), else the text alone."""
    if not _linkable(url):
        return esc(text)
    return f'<a href="{esc(url)}">{esc(text)}</a>'


def _linkable(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ('http', 'https')


def job_url(base: str, job_id: str) -> str:
    return f'{base}/ui/jobs/{quote(job_id, safe="")}'


def _state(state: str) -> str:
    css = f' {state}' if state in _STATES else ''
    return f'<span class="state{css}">{esc(state)}</span>'


def _progress(progress: Progress) -> str:
    bar = ''
    if progress.total:
        bar = f'<progress value="{progress.done}" max="{progress.total}"></progress> '
    return f'{bar}<span class="progress">{esc(progress.summary())}</span>'


def _nav(base: str) -> str:
    return (
        f'<nav><a href="{esc(base)}/ui">Jobs</a><a href="{esc(base)}/ui#steps">Steps</a>'
        f'<a href="{esc(base)}/">API index</a><a href="{esc(base)}/files/">Files</a></nav>'
    )


def jobs_page(base: str, rows: Sequence[JobRow], paging: Paging, steps: Sequence[dict]) -> str:
    """The user's jobs, newest first, one page of them, and the steps offered."""
    parts = [_nav(base), '<h1>Jobs</h1>']
    if not rows:
        parts.append(
            '<p id="no-jobs">No jobs yet. Submit one with <code>POST /jobs</code>, '
            '<code>cerise-actors submit</code> or WES.</p>'
            if paging.total == 0
            else f'<p id="no-jobs">No jobs on this page. <a href="{esc(base)}/ui">Newest jobs</a></p>'
        )
    else:
        parts.append(
            '<table id="jobs"><thead><tr><th>Name</th><th>State</th><th>Progress</th>'
            '<th>Id</th></tr></thead><tbody>'
        )
        for row in rows:
            parts.append(
                f'<tr class="job" data-id="{esc(row.id)}">'
                f'<td><a href="{esc(job_url(base, row.id))}">{esc(row.name) or "(no name)"}</a></td>'
                f'<td>{_state(row.state)}</td><td>{_progress(row.progress)}</td>'
                f'<td><code>{esc(row.id)}</code></td></tr>'
            )
        parts.append('</tbody></table>')
    parts.append(_pager(base, paging))
    parts.append(steps_section(steps))
    unfinished = any(row.state in ('Waiting', 'Running') for row in rows)
    return page('Jobs', ''.join(parts), refresh=unfinished)


def _pager(base: str, paging: Paging) -> str:
    links = []
    if paging.page > 1:
        links.append(f'<a rel="prev" href="{esc(base)}/ui?page={paging.page - 1}">Newer</a>')
    if paging.page < paging.pages:
        links.append(f'<a rel="next" href="{esc(base)}/ui?page={paging.page + 1}">Older</a>')
    count = f'{paging.total} job{"" if paging.total == 1 else "s"}'
    where = f'page {paging.page} of {paging.pages}, {count}'
    return f'<p class="pager muted">{where} {" ".join(links)}</p>'


def steps_section(steps: Sequence[dict]) -> str:
    """The installed steps a workflow may name in `run:` (GET /steps)."""
    parts = ['<h2 id="steps">Steps offered</h2>']
    if not steps:
        return parts[0] + '<p class="muted">No steps are installed.</p>'
    parts.append(
        '<table><thead><tr><th>Step</th><th>Version</th><th>Inputs</th><th>Outputs</th>'
        '</tr></thead><tbody>'
    )
    for step in steps:
        about = step.get('label') or (step.get('doc') or '').strip().split('\n', 1)[0]
        about_html = f'<br><span class="muted">{esc(about)}</span>' if about else ''
        parts.append(
            f'<tr class="step"><td><code>{esc(step.get("name"))}</code>{about_html}</td>'
            f'<td>{esc(step.get("version") or "")}</td>'
            f'<td>{_parameters(step.get("inputs"))}</td>'
            f'<td>{_parameters(step.get("outputs"))}</td></tr>'
        )
    parts.append('</tbody></table>')
    return ''.join(parts)


def _parameters(parameters: Any) -> str:
    if not parameters:
        return '<span class="muted">none</span>'
    return '<br>'.join(
        f'<code>{esc(p.get("name"))}: {esc(_type(p.get("type")))}</code>'
        for p in parameters
        if isinstance(p, dict)
    )


def _type(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def job_page(
    base: str,
    job: JobDetails,
    output: Any,
    progress: Progress,
    log_text: str,
) -> str:
    """One job: its state, progress by step, outputs as links (`output` as
    GET /jobs/{id} gives it, signed), and its log."""
    title = job.name or job.id
    rows = [
        ('Id', f'<code>{esc(job.id)}</code>'),
        ('State', _state(job.state)),
        ('Progress', _progress(progress)),
        ('Workflow', link(job.workflow, job.workflow)),
        ('Submitted', esc(_when(job.created_at))),
        ('Last change', esc(_when(job.updated_at))),
        ('As JSON', link(f'{base}/jobs/{quote(job.id, safe="")}', 'GET /jobs/{id}')),
    ]
    parts = [
        _nav(base),
        f'<h1>{esc(title)}</h1>',
        '<table id="job">',
        *(f'<tr><th>{name}</th><td>{value}</td></tr>' for name, value in rows),
        '</table>',
        _steps_of(progress),
        '<h2>Outputs</h2>',
        _outputs(output),
        '<h2>Log</h2>',
        f'<pre id="log">{esc(log_text) or "(empty)"}</pre>',
    ]
    return page(title, ''.join(parts), refresh=job.state in ('Waiting', 'Running'))


def _when(seconds: float) -> str:
    return time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(seconds))


def _steps_of(progress: Progress) -> str:
    if not progress.steps:
        return ''
    parts = [
        '<h2>Steps</h2><table id="steps-run"><thead><tr><th>Step</th><th>State</th>'
        '<th>Started</th><th>Ended</th></tr></thead><tbody>'
    ]
    for step in progress.steps:
        state = step.state + (f' ({step.status})' if step.status else '')
        started = _when(step.started) if step.started is not None else ''
        ended = _when(step.ended) if step.ended is not None else ''
        parts.append(
            f'<tr><td><code>{esc(step.name)}</code></td><td>{esc(state)}</td>'
            f'<td>{esc(started)}</td><td>{esc(ended)}</td></tr>'
        )
    parts.append('</tbody></table>')
    return ''.join(parts)


def _outputs(output: Any) -> str:
    entries = list(output_entries(output))
    if not entries:
        return '<p class="muted" id="no-outputs">No outputs (yet).</p>'
    parts = ['<table id="outputs"><thead><tr><th>Output</th><th>Value</th></tr></thead><tbody>']
    for name, text, url in entries:
        if url and not _linkable(url):  # file:// and the like: where it is, as text
            value = f'{esc(text)} <code>{esc(url)}</code>'
        else:
            value = link(url, text) if url else f'<code>{esc(text)}</code>'
        parts.append(f'<tr class="output"><td><code>{esc(name)}</code></td><td>{value}</td></tr>')
    parts.append('</tbody></table>')
    return ''.join(parts)


def output_entries(output: Any) -> Iterator[Tuple[str, str, Optional[str]]]:
    """(output name, text, URL or None) of each value in a CWL output object:
    Files and Directories (and their secondary files and listings) with
    their location, other values as JSON text."""
    if not isinstance(output, dict):
        return
    for name, value in output.items():
        yield from _entries(str(name), value)


def _entries(name: str, value: Any) -> Iterator[Tuple[str, str, Optional[str]]]:
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _entries(f'{name}[{i}]', item)
        return
    if isinstance(value, dict) and value.get('class') in ('File', 'Directory'):
        location = value.get('location')
        text = value.get('basename') or (location or '').rsplit('/', 1)[-1].split('?', 1)[0]
        if isinstance(value.get('size'), int):
            text = f'{text} ({_size(value["size"])})'
        yield name, text, location if isinstance(location, str) else None
        for key in ('secondaryFiles', 'listing'):
            for i, item in enumerate(value.get(key) or []):
                yield from _entries(f'{name}.{key}[{i}]', item)
        return
    yield name, json.dumps(value), None


def _size(size: float) -> str:
    for unit in ('bytes', 'kB', 'MB', 'GB'):
        if size < 1000 or unit == 'GB':
            return f'{size} {unit}' if unit == 'bytes' else f'{size:.1f} {unit}'
        size /= 1000
    return f'{size} bytes'  # not reached


def not_found_page(base: str, job_id: str) -> str:
    """Another user's job and a made-up id get the very same page."""
    body = (
        f'{_nav(base)}<h1>No such job</h1><p>There is no job with id '
        f'<code>{esc(job_id[:100])}</code>. <a href="{esc(base)}/ui">Your jobs</a></p>'
    )
    return page('No such job', body)
