"""Folder listings of /files: HTML for browsers, JSON for programs.

WsgiDAV answers GET on a folder with 403 ("add WsgiDavDirBrowser to the
middleware_stack option"), which tells a user nothing they can act on, and
its own browser brings templates, assets and options we do not want. Here
a GET or HEAD of a folder is answered with a small listing instead:

- `Accept: application/json` (preferred over text/html) gives
  `{"path", "url", "entries": [{"name", "url", "folder", "size", "modified"}]}`,
  with absolute URLs built from the request, so they can be downloaded or
  named in a job as they are;
- anything else (a browser, curl's `*/*`) gives an HTML table with links.

The listing shows what PROPFIND shows (`files_members.py`): no symbolic
links, no FIFOs, sockets or devices, no hidden `.cerise-upload-*` files of
uploads still being written, and no names that are not UTF-8; a folder
that shows more than MAX_LISTING_ENTRIES is answered 403 with the reason
(a listing of 200,000 files took 60 s and gigabytes). The folder is opened below
the root without following any symbolic link (`boundary/confined.py`: a
link on the way is not a folder here, and WsgiDAV then answers it as
usual). The path is the one `files.py` resolved: no dot segments are left.
"""

import html
import json
import os
import stat
import time
from urllib.parse import quote
from wsgiref.util import application_uri

from ..boundary.confined import ConfinedRoot, Refused
from .files_members import TooManyEntries, members


def listings(app, root: bytes):
    """`app`, with GET and HEAD of a folder below `root` answered by a listing."""
    confined = ConfinedRoot(os.fsdecode(root))

    def serve(environ, start_response):
        if environ.get('REQUEST_METHOD') not in ('GET', 'HEAD'):
            return app(environ, start_response)
        try:
            names = [n.decode('utf-8') for n in _path_bytes(environ).split(b'/') if n]
            entries = _entries(confined, '/'.join(names))
        except TooManyEntries as exc:
            return _too_many(start_response, str(exc))
        except (OSError, ValueError, Refused):  # not a folder we serve: WsgiDAV decides
            return app(environ, start_response)
        folder = '/' + ''.join(name + '/' for name in names)
        base = application_uri(environ).rstrip('/')
        script = environ.get('SCRIPT_NAME', '')
        if _wants_json(environ.get('HTTP_ACCEPT', '')):
            body, content_type = _json(base, script, folder, entries), 'application/json'
        else:
            body, content_type = _html(script, folder, entries), 'text/html; charset=utf-8'
        start_response(
            '200 OK',
            [
                ('Content-Type', content_type),
                ('Content-Length', str(len(body))),
                ('Cache-Control', 'no-cache'),
                ('Vary', 'Accept'),
            ],
        )
        return [b''] if environ['REQUEST_METHOD'] == 'HEAD' else [body]

    return serve


def _entries(confined: ConfinedRoot, name: str) -> list:
    """(name, is folder, size, mtime) of what the folder `name` shows, sorted;
    TooManyEntries if that is more than one listing answers."""
    with confined.folder(name) as fd:
        found = [_entry(entry, info) for entry, info in members(fd, name)]
    return sorted(found, key=lambda item: (not item[1], item[0]))


def _entry(name: str, info):
    if stat.S_ISDIR(info.st_mode):
        return name, True, None, info.st_mtime
    return name, False, info.st_size, info.st_mtime


def _too_many(start_response, reason: str):
    """403, in words (files_answers.py turns it into the API's JSON)."""
    body = f'Forbidden: {reason}\n'.encode()
    start_response(
        '403 Forbidden',
        [('Content-Type', 'text/plain; charset=utf-8'), ('Content-Length', str(len(body)))],
    )
    return [body]


def _wants_json(accept: str) -> bool:
    """Whether `accept` prefers application/json to text/html."""
    quality = {}
    for part in accept.split(','):
        kind, _, params = part.strip().partition(';')
        q = 1.0
        for param in params.split(';'):
            key, _, value = param.strip().partition('=')
            if key == 'q':
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[kind.strip().lower()] = q
    return quality.get('application/json', 0.0) > quality.get('text/html', 0.0)


def _modified(mtime: float) -> str:
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(mtime))


def _json(base: str, script: str, folder: str, entries: list) -> bytes:
    url = base + quote(folder)
    listed = [
        {
            'name': name,
            'url': url + quote(name) + ('/' if is_folder else ''),
            'folder': is_folder,
            'size': size,
            'modified': _modified(mtime),
        }
        for name, is_folder, size, mtime in entries
    ]
    answer = {'path': script + folder, 'url': url, 'entries': listed}
    return (json.dumps(answer) + '\n').encode()


def _html(script: str, folder: str, entries: list) -> bytes:
    script = quote(script)
    here = script + quote(folder)
    title = html.escape(f'{script}{folder}')
    rows = []
    if folder != '/':
        parent = html.escape(script + quote(folder.rstrip('/').rsplit('/', 1)[0] + '/'))
        rows.append(f'<tr><td><a href="{parent}">../</a></td><td></td><td></td></tr>')
    for name, is_folder, size, mtime in entries:
        shown = name + ('/' if is_folder else '')
        href = html.escape(here + quote(shown), quote=True)
        rows.append(
            f'<tr><td><a href="{href}">{html.escape(shown)}</a></td>'
            f'<td class="n">{"" if size is None else size}</td><td>{_modified(mtime)}</td></tr>'
        )
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif}}td{{padding:0 1em}}.n{{text-align:right}}</style>
</head><body><h1>{title}</h1>
<table><tr><th>name</th><th>size (bytes)</th><th>modified (UTC)</th></tr>
{chr(10).join(rows)}
</table>
<p>{len(entries)} {'entry' if len(entries) == 1 else 'entries'}. The same as JSON: send <code>Accept: application/json</code>.</p>
</body></html>
"""
    return page.encode('utf-8')


def _path_bytes(environ: dict) -> bytes:
    """The bytes of PATH_INFO (PEP 3333 carries them as latin-1)."""
    path = environ.get('PATH_INFO', '')
    try:
        return path.encode('latin-1')
    except UnicodeEncodeError:
        return path.encode('utf-8', 'surrogateescape')
