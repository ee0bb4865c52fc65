"""The user a request was let in as, for the front ends (set by `auth_gate.py`).

Every route that reads or changes jobs or files asks `user_of(req)` and
passes the answer to the store, which hides other users' jobs. It raises if
the gate did not set a user, so a route reached around the gate serves no
one (a 500), never everyone.
"""

from typing import Optional

#: where the auth gate puts the user a request was let in as
USER_KEY = 'cerise_actors.user'


class NoUser(RuntimeError):
    """A request reached a route without passing the auth gate: a wiring bug."""


def user_of(req) -> str:
    """The user of a falcon request."""
    return user_in(req.env)


def user_in(environ) -> str:
    """The user of a WSGI environ."""
    user = environ.get(USER_KEY)
    if not isinstance(user, str):
        raise NoUser('the request did not pass the auth gate')
    return user


def maybe_user_of(req) -> Optional[str]:
    """The user of a request to a public route, None if it sent no credential."""
    user = req.env.get(USER_KEY)
    return user if isinstance(user, str) else None
