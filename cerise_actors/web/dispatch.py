"""Mounting one WSGI app under a URL prefix of another.

`mount(main_app, '/files', files_app)` sends `/files` and `/files/...` to
`files_app` and everything else (also `/filesystem`) to `main_app`, so the
/jobs API and the file exchange share one server and port.

The prefix moves from PATH_INFO to the end of SCRIPT_NAME, as WSGI (PEP 3333)
requires of a mounted app: `/files/input/a.txt` reaches the sub-app with
SCRIPT_NAME `/files` and PATH_INFO `/input/a.txt`, and `/files` itself with
PATH_INFO ''. Nothing else in the environ changes; in particular dot segments
are not resolved here (the sub-app sees `/files/../x` as PATH_INFO `/../x`
and must refuse it itself).
"""


def mount(main_app, prefix: str, sub_app):
    """A WSGI app routing `prefix` and everything below it to `sub_app`."""
    if not prefix.startswith('/') or prefix.endswith('/'):
        raise ValueError(f'the prefix must start, and not end, with "/": {prefix!r}')

    def dispatch(environ, start_response):
        path = environ.get('PATH_INFO', '')
        if path == prefix or path.startswith(prefix + '/'):
            environ['SCRIPT_NAME'] = environ.get('SCRIPT_NAME', '') + prefix
            environ['PATH_INFO'] = path[len(prefix) :]
            return sub_app(environ, start_response)
        return main_app(environ, start_response)

    return dispatch
