"""The one place a request is let in: WSGI middleware in front of every route.

It sits outermost, in front of the start gate, the /jobs API, WES and
/files alike, so no route can be added that it does not guard. A request
gets in with a valid token (`Authorization: Bearer`, or HTTP Basic with the
token as password, see `auth/authenticator.py`), or, for a GET or HEAD of
one output file, with that file's signed URL (`auth/signing.py`). Its user
is then put in the environ (`USER_KEY`) and every front end takes it from
there (`identity.py`): a route that does not find it fails, it does not
serve everyone.

Open without a credential: `/health` (answered here, with no details),
`/ready` (answered behind it, app/readiness.py: ready or not, nothing more),
the OpenAPI documents and WES service-info, as WES allows. Everything else
without a valid credential answers 401 with a JSON body (WES's
ErrorResponse under /ga4gh/wes/v1) and `WWW-Authenticate`, the same answer
for every path, so it tells nothing about whether a job exists. Each
refusal is one log line with the method, path and peer, never a credential.
"""

import json
import logging
from typing import TYPE_CHECKING, Callable, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import parse_qs

from ..auth.authenticator import presented_token
from ..auth.signing import PARAMETER, UrlSigner
from .identity import USER_KEY
from .wes import PREFIX as WES_PREFIX

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger(__name__)

#: paths anyone may read: the readiness probe, the API descriptions and WES service-info
PUBLIC = frozenset(
    {
        '/ready',
        '/openapi.json',
        '/swagger.json',
        f'{WES_PREFIX}/service-info',
        f'{WES_PREFIX}/openapi.json',
        '/openapi-wes.json',
    }
)
HEALTH = '/health'
FILES = '/files/'
#: Basic first: browsers (Chromium) answer only the first challenge of the header,
#: and only Basic's, with a login dialog or the credentials of the URL
CHALLENGE = 'Basic realm="cerise-actors", charset="UTF-8", Bearer realm="cerise-actors"'
_HINT = (
    'send the token as "Authorization: Bearer <token>", or in the URL as '
    'http://cerise:<token>@host:port/ (the service prints it when it starts and '
    'keeps it in its run folder; see docs/security.md)'
)


class AuthGate:
    """Lets in requests whose credentials `who` (token -> user or None)
    accepts, or that carry a download signature `signer` accepts; `who`
    None: authentication is off and every request is user ''."""

    def __init__(
        self,
        app: 'WSGIApplication',
        who: Optional[Callable[[str], Optional[str]]],
        signer: Optional[UrlSigner] = None,
        on_refused: Optional[Callable[[str], None]] = None,
    ) -> None:
        """`on_refused('unauthorized')` is told of each 401 (the metrics)."""
        self._app = app
        self._who = who
        self._signer = signer
        self._on_refused = on_refused

    def __call__(
        self, environ: 'WSGIEnvironment', start_response: 'StartResponse'
    ) -> Iterable[bytes]:
        path = environ.get('PATH_INFO', '')
        if path == HEALTH:
            return _answer(start_response, '200 OK', {'status': 'ok'})
        environ.pop(USER_KEY, None)  # only this gate sets it
        who = self._who
        if who is None:
            environ[USER_KEY] = ''
            return self._app(environ, start_response)
        try:
            user, problem = self._user_of(who, environ, path)
        except Exception:  # a check that fails refuses
            logger.exception('auth: checking credentials failed; refused')
            user, problem = None, 'credentials that could not be checked'
        if user is not None:
            environ[USER_KEY] = user
        elif path not in PUBLIC:
            return self._refuse(environ, start_response, path, problem)
        return self._app(environ, start_response)

    def _user_of(
        self, who: Callable[[str], Optional[str]], environ: 'WSGIEnvironment', path: str
    ) -> Tuple[Optional[str], str]:
        """(user, '') if `who` or the signer lets it in, else (None, what is wrong)."""
        token, problem = presented_token(environ.get('HTTP_AUTHORIZATION'))
        if token:
            user = who(token)
            if user is not None:
                return user, ''
            problem = 'a token this service does not know'
        signed = self._signed_user(environ, path)
        if signed is not None:
            return signed, ''
        return None, problem

    def _signed_user(self, environ: 'WSGIEnvironment', path: str) -> Optional[str]:
        if self._signer is None or not path.startswith(FILES):
            return None
        if environ.get('REQUEST_METHOD') not in ('GET', 'HEAD'):
            return None
        values = parse_qs(environ.get('QUERY_STRING', '')).get(PARAMETER)
        if not values or len(values) != 1:
            return None
        try:  # the server gives the decoded path as latin-1 text of its bytes
            name = path[len(FILES) :].encode('latin-1').decode('utf-8')
        except UnicodeError:
            return None
        return self._signer.user_of(values[0], name)

    def _refuse(
        self, environ: 'WSGIEnvironment', start_response: 'StartResponse', path: str, problem: str
    ) -> List[bytes]:
        logger.warning(
            'auth: refused %s %r from %s: %s',
            environ.get('REQUEST_METHOD', '?'),
            path[:200],
            environ.get('REMOTE_ADDR', '?'),
            problem,
        )
        if self._on_refused is not None:
            self._on_refused('unauthorized')
        description = f'this service needs a token, and the request had {problem}: {_HINT}'
        if path == WES_PREFIX or path.startswith(WES_PREFIX + '/'):
            body = {'msg': description, 'status_code': 401}
        else:
            body = {'title': 'Unauthorized', 'description': description}
        return _answer(start_response, '401 Unauthorized', body, [('WWW-Authenticate', CHALLENGE)])


def _answer(
    start_response: 'StartResponse',
    status: str,
    body: dict,
    headers: Sequence[Tuple[str, str]] = (),
) -> List[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status,
        [
            ('Content-Type', 'application/json'),
            ('Content-Length', str(len(data))),
            ('Cache-Control', 'no-store'),
            *headers,
        ],
    )
    return [data]
