"""Routing between the WSGI apps that share the server: mounting, and sharing threads.

`mount(main_app, '/files', files_app)` sends `/files` and `/files/...` to
`files_app` and everything else (also `/filesystem`) to `main_app`, so the
/jobs API and the file exchange share one server and port.

The prefix moves from PATH_INFO to the end of SCRIPT_NAME, as WSGI (PEP 3333)
requires of a mounted app: `/files/input/a.txt` reaches the sub-app with
SCRIPT_NAME `/files` and PATH_INFO `/input/a.txt`, and `/files` itself with
PATH_INFO ''. Nothing else in the environ changes; in particular dot segments
are not resolved here: the sub-app sees `/files/../x` as PATH_INFO `/../x`
and `/files/output/.` as `/output/.`, and resolves them itself before it
checks anything (`files.py`, with `boundary/names.py`). A path whose dot
segments would only lead into /files after resolving (`/x/../files`) is
not routed there: the main app answers it, with a 404.

`ThreadBudget` keeps work that may hold a server thread for long (file
transfers) from taking more than some of the threads at once, so the rest
(the /jobs API) always finds one free. The server puts its budget in each
request's environ, and an app spends it with `spending_thread_budget`: a
request beyond the budget is answered 503 with Retry-After at once, since
waiting for a slot would itself hold a thread.
"""

import threading

#: seconds a client refused for want of a thread is told to wait
RETRY_AFTER = 1


def _below(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + '/')


def mount(main_app, prefix: str, sub_app):
    """A WSGI app routing `prefix` and everything below it to `sub_app`."""
    _check_prefix(prefix)

    def dispatch(environ, start_response):
        path = environ.get('PATH_INFO', '')
        if _below(path, prefix):
            environ['SCRIPT_NAME'] = environ.get('SCRIPT_NAME', '') + prefix
            environ['PATH_INFO'] = path[len(prefix) :]
            return sub_app(environ, start_response)
        return main_app(environ, start_response)

    return dispatch


#: the environ key under which the server offers its ThreadBudget
BUDGET_KEY = 'cerise_actors.thread_budget'


class ThreadBudget:
    """At most `slots` requests that spend it are served at once."""

    def __init__(self, slots: int):
        if slots < 1:
            raise ValueError(f'at least one slot is needed, not {slots}')
        self.slots = slots
        self._free = threading.BoundedSemaphore(slots)

    def offered_to(self, app):
        """`app`, with this budget in every request's environ."""

        def offering(environ, start_response):
            environ[BUDGET_KEY] = self
            return app(environ, start_response)

        return offering

    def serve(self, app, environ, start_response):
        """Serve with `app` in a slot, or answer 503 if none is free.

        The slot is held until the server closes the answer, except an answer
        handed over as `wsgi.file_wrapper`: the server's event loop sends that
        one, and the thread is free as soon as the app returns it.
        """
        if not self._free.acquire(blocking=False):
            return _busy(start_response)
        try:
            result = app(environ, start_response)
        except BaseException:
            self._free.release()
            raise
        wrapper = environ.get('wsgi.file_wrapper')
        if isinstance(wrapper, type) and isinstance(result, wrapper):
            self._free.release()  # not wrapped: waitress must still recognise it
            return result
        sized = hasattr(result, '__len__')  # waitress sets Content-Length from it
        return (_SizedReleasing if sized else _Releasing)(result, self._free.release)


def spending_thread_budget(app):
    """`app`, served within the server's ThreadBudget when it offers one."""

    def spending(environ, start_response):
        budget = environ.get(BUDGET_KEY)
        if budget is None:
            return app(environ, start_response)
        return budget.serve(app, environ, start_response)

    return spending


class _Releasing:
    """An answer's iterable that calls `release` once, when the server closes it."""

    def __init__(self, result, release):
        self._result = result
        self._release = release

    def __iter__(self):
        return iter(self._result)

    def close(self):
        try:
            if hasattr(self._result, 'close'):
                self._result.close()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class _SizedReleasing(_Releasing):
    def __len__(self):
        return len(self._result)


def _busy(start_response):
    body = b'Service Unavailable: too many file transfers at once; retry shortly\n'
    start_response(
        '503 Service Unavailable',
        [
            ('Content-Type', 'text/plain; charset=utf-8'),
            ('Content-Length', str(len(body))),
            ('Retry-After', str(RETRY_AFTER)),
        ],
    )
    return [body]


def _check_prefix(prefix: str) -> None:
    if not prefix.startswith('/') or prefix.endswith('/'):
        raise ValueError(f'the prefix must start, and not end, with "/": {prefix!r}')
