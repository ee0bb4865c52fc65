"""Who may use the service, built from the configuration at start-up.

Three ways, from `rest-service` in conf/config.yml (docs/security.md):

- the default, `auth: token`: one random token, made at the first start in
  the run folder (`token`, mode 0600) and reused, for the service's one
  user ''. Its jobs and files are those of the whole exchange folder, as
  before there was authentication.
- `users: <file>`: the users of that file (`cerise-actors add-user`), each
  with their own jobs and their own folder `users/<name>/` of the exchange
  area (`Exchange.for_user`).
- `auth: none`: no authentication at all, every request is user ''; a
  warning says so at every start.

With authentication, output URLs are signed with a key kept beside the
token (`url-key`), so clients that download without credentials can.
"""

import dataclasses
import logging
import os
import stat
from pathlib import Path
from typing import Callable, Optional

from ..auth.authenticator import SingleToken, UsersFile
from ..auth.secret_files import SecretFileError, read_or_make
from ..auth.signing import UrlSigner
from ..auth.users import UsersFileError
from ..config import ServiceConfig
from ..defaults import SIGNED_URL_SECONDS, TOKEN_FILE, URL_KEY_FILE
from ..errors import ConfigError

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Access:
    #: token -> user, or None; None itself: authentication is off
    who: Optional[Callable[[str], Optional[str]]]
    signer: Optional[UrlSigner]
    #: the one token of `auth: token` (printed at start), else None
    token: Optional[str]
    #: whether each user has their own jobs and files (a users file)
    per_user: bool
    #: one line for the start-up message, without any secret
    description: str

    def keep_private(self, config: ServiceConfig, exchange_dir: Path) -> None:
        """With authentication on, other accounts of the machine must not read
        around it on disk: the exchange folder becomes 0700 (every user's
        inputs and outputs are below it) and the job database 0600 (with its
        -wal and -shm files; it holds every job's inputs and outputs). `serve`
        also sets the umask to 077, so what the service makes later is private
        too. With `auth: none` the modes are left to the operator."""
        if self.who is None:
            return
        paths = [(exchange_dir, 0o700)] + [
            (Path(f'{config.database_file}{suffix}'), 0o600) for suffix in ('', '-wal', '-shm')
        ]
        for path, mode in paths:
            try:
                if not stat.S_ISLNK(os.lstat(path).st_mode):  # a link is left alone
                    os.chmod(path, mode)
            except FileNotFoundError:
                pass
            except OSError as exc:
                logger.warning('could not make %s private (mode %o): %s', path, mode, exc)


def build_access(config: ServiceConfig) -> Access:
    """The service's Access; a secret or users file it cannot use is a ConfigError."""
    if config.auth == 'none':
        logger.warning(
            'authentication is OFF (rest-service.auth: none): anyone who can reach '
            '%s:%s can run, read, cancel and delete every job and file',
            config.hostname,
            config.port,
        )
        return Access(None, None, None, False, 'authentication is off (rest-service.auth: none)')
    try:
        signer = UrlSigner(read_or_make(config.run_dir / URL_KEY_FILE), SIGNED_URL_SECONDS)
        if config.users_file is not None:
            users = UsersFile(config.users_file)
            logger.info('auth: %d users from %s', len(users.names), config.users_file)
            return Access(
                users.who, signer, None, True, f'users and their tokens: {config.users_file}'
            )
        token_file = config.run_dir / TOKEN_FILE
        token = read_or_make(token_file)
    except (SecretFileError, UsersFileError) as exc:
        key = 'rest-service.users' if isinstance(exc, UsersFileError) else 'rest-service.auth'
        raise ConfigError(config.source, key, str(exc)) from None
    return Access(SingleToken(token).who, signer, token, False, f'token in {token_file}')


def url_with_token(url: str, token: str) -> str:
    """`http://host:port` as `http://cerise:<token>@host:port/`, for the terminal only."""
    scheme, _, rest = url.partition('://')
    return f'{scheme}://cerise:{token}@{rest}/'
