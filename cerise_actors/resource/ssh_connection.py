"""One SSH connection (a paramiko Transport) per host, shared and self-healing.

The shell and the SFTP file system of a resource share the Transport of
their host. It is opened on first use, checked before every use and opened
again after a drop, under a lock, so actors never race to reconnect. Host
keys are verified against a known_hosts file; unknown hosts are refused
unless the configuration accepts them on first use, and a changed key is
always refused. Every step has a time-out, and paramiko's and the socket's
errors are translated here into ours: a lost network is temporary, a
refused login or a bad host key is permanent.
"""

import getpass
import logging
import os
import socket
import threading
from typing import Dict, Iterator, List, Optional, Tuple

import paramiko

from ..config import Credentials, SshConfig
from ..defaults import SSH_KEEPALIVE
from ..errors import PermanentResourceError, TemporaryResourceError

logger = logging.getLogger(__name__)

DEFAULT_KEY_FILES = ('id_ed25519', 'id_ecdsa', 'id_rsa')


class SshConnection:
    def __init__(self, host: str, port: int, credentials: Credentials, ssh: SshConfig):
        self.host = host
        self.port = port
        self.credentials = credentials
        self.username = credentials.username or getpass.getuser()
        self._ssh = ssh
        self._lock = threading.Lock()
        self._transport: Optional[paramiko.Transport] = None

    @property
    def timeout(self) -> float:
        return self._ssh.timeout

    @property
    def command_timeout(self) -> float:
        return self._ssh.command_timeout

    def __repr__(self) -> str:
        return f'SshConnection({self.username}@{self.host}:{self.port})'

    # --- the transport ---------------------------------------------------
    def transport(self) -> paramiko.Transport:
        """A connected, authenticated Transport; reconnects if the last one died."""
        with self._lock:
            if self._transport is None or not self._transport.is_active():
                self._close_transport()
                self._transport = self._connect()
            return self._transport

    def drop(self) -> None:
        """Forget the current Transport (after an error that suggests it is dead)."""
        with self._lock:
            self._close_transport()

    def close(self) -> None:
        self.drop()

    def _close_transport(self) -> None:
        if self._transport is not None:
            try:
                self._transport.close()
            except Exception:  # closing a dead transport may raise anything
                pass
            self._transport = None

    def open_session(self) -> paramiko.Channel:
        try:
            return self.transport().open_session(timeout=self.timeout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.drop()
            raise TemporaryResourceError(f'{self}: cannot open a channel: {exc}') from exc

    def open_sftp(self) -> paramiko.SFTPClient:
        try:
            client = paramiko.SFTPClient.from_transport(self.transport())
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.drop()
            raise TemporaryResourceError(f'{self}: cannot start SFTP: {exc}') from exc
        if client is None:
            raise TemporaryResourceError(f'{self}: the server refused the SFTP subsystem')
        channel = client.get_channel()
        if channel is None:  # never: from_transport opens one (the stubs allow None)
            raise TemporaryResourceError(f'{self}: SFTP started without a channel')
        channel.settimeout(self.command_timeout)
        return client

    # --- connecting ------------------------------------------------------
    def _connect(self) -> paramiko.Transport:
        where = f'{self.host}:{self.port}'
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise TemporaryResourceError(f'cannot connect to {where}: {exc}') from exc
        # SSH's messages are small and each waits for an answer: without this,
        # Nagle's algorithm holds one back until the other side's delayed ACK
        # (40 ms on Linux), on every channel open and every short command
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport = paramiko.Transport(sock)
        transport.banner_timeout = self.timeout
        transport.auth_timeout = self.timeout
        transport.handshake_timeout = self.timeout
        try:
            transport.start_client(timeout=self.timeout)
            self._verify_host_key(transport.get_remote_server_key())
            self._authenticate(transport)
        except (PermanentResourceError, TemporaryResourceError):
            transport.close()
            raise
        except paramiko.AuthenticationException as exc:
            transport.close()
            raise PermanentResourceError(f'{self.username}@{where}: login refused ({exc})') from exc
        except (paramiko.SSHException, OSError, EOFError) as exc:
            transport.close()
            raise TemporaryResourceError(f'SSH to {where} failed: {exc}') from exc
        transport.set_keepalive(SSH_KEEPALIVE)
        logger.info('connected to %s@%s', self.username, where)
        return transport

    def _host_name(self) -> str:
        return self.host if self.port == 22 else f'[{self.host}]:{self.port}'

    def _known_hosts_file(self) -> str:
        return self._ssh.known_hosts or os.path.expanduser('~/.ssh/known_hosts')

    def _verify_host_key(self, key: paramiko.PKey) -> None:
        path = self._known_hosts_file()
        known = paramiko.HostKeys()
        if os.path.exists(path):
            try:
                known.load(path)
            except (OSError, paramiko.SSHException) as exc:
                raise PermanentResourceError(f'cannot read known hosts file {path}: {exc}') from exc
        name = self._host_name()
        entry = known.lookup(name)
        fingerprint = key.fingerprint if hasattr(key, 'fingerprint') else key.get_base64()
        if entry is not None and key.get_name() in entry:
            if entry[key.get_name()] == key:
                return
            raise PermanentResourceError(
                f'the host key of {name} has CHANGED ({key.get_name()} {fingerprint}) '
                f'and does not match {path}; refusing to connect. If the change is '
                f'expected, remove the old line from that file.'
            )
        if not self._ssh.accept_unknown_hosts:
            raise PermanentResourceError(
                f'unknown host {name} ({key.get_name()} {fingerprint}): not in {path}. '
                f'Add its key there (ssh-keyscan -p {self.port} {self.host}), or set '
                f'compute-resource.ssh.accept-unknown-hosts: true to trust it on first use.'
            )
        known.add(name, key.get_name(), key)
        os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
        with open(path, 'a') as out:
            out.write(f'{name} {key.get_name()} {key.get_base64()}\n')
        logger.warning(
            'trusting new host key of %s (%s %s), saved in %s',
            name,
            key.get_name(),
            fingerprint,
            path,
        )

    def _authenticate(self, transport: paramiko.Transport) -> None:
        """Use the configured combination: key (+passphrase), password, or agent/default keys."""
        creds = self.credentials
        user = self.username
        if creds.certfile:
            key = _load_key(creds.certfile, creds.passphrase)
            transport.auth_publickey(user, key)
        elif creds.password:
            transport.auth_password(user, creds.password)
        else:
            errors: List[str] = []
            for label, key in _agent_and_default_keys(errors):
                try:
                    transport.auth_publickey(user, key)
                    return
                except paramiko.AuthenticationException as exc:
                    errors.append(f'{label}: {exc}')
            raise paramiko.AuthenticationException(
                'no SSH agent key or default key (~/.ssh/id_*) was accepted'
                + (f' ({"; ".join(errors)})' if errors else '')
            )
        if not transport.is_authenticated():
            raise paramiko.AuthenticationException('the server wants more authentication')


def _load_key(path: str, passphrase: Optional[str]) -> paramiko.PKey:
    path = os.path.expanduser(path)
    secret = passphrase.encode() if passphrase else None
    try:
        # positional: renamed in paramiko 5. bytes: cryptography, which reads the key,
        # refuses a str ("password must be bytes"), though types-paramiko says str
        return paramiko.PKey.from_path(path, secret)  # type: ignore[arg-type]  # needs bytes
    except (paramiko.PasswordRequiredException, TypeError) as exc:
        if isinstance(exc, TypeError) and 'password' not in str(exc):
            raise
        raise PermanentResourceError(
            f'key file {path} needs a passphrase; set CERISE_PASSPHRASE or credentials.passphrase'
        ) from exc
    except (paramiko.SSHException, OSError, ValueError) as exc:
        raise PermanentResourceError(f'cannot load key file {path}: {exc}') from exc


def _agent_and_default_keys(errors: List[str]) -> Iterator[Tuple[str, paramiko.PKey]]:
    try:
        for key in paramiko.Agent().get_keys():
            yield 'agent key', key
    except (paramiko.SSHException, OSError) as exc:
        errors.append(f'agent: {exc}')
    for name in DEFAULT_KEY_FILES:
        path = os.path.expanduser(f'~/.ssh/{name}')
        if os.path.exists(path):
            try:
                yield path, paramiko.PKey.from_path(path)
            except (paramiko.SSHException, OSError, ValueError) as exc:
                errors.append(f'{path}: {exc}')


class ConnectionPool:
    """Hands out one shared SshConnection per (host, port, user)."""

    def __init__(self, ssh: SshConfig):
        self._ssh = ssh
        self._lock = threading.Lock()
        self._connections: Dict[Tuple[str, int, str], SshConnection] = {}

    def get(self, host: str, port: int, credentials: Credentials) -> SshConnection:
        user = credentials.username or getpass.getuser()
        with self._lock:
            key = (host, port, user)
            if key not in self._connections:
                self._connections[key] = SshConnection(host, port, credentials, self._ssh)
            return self._connections[key]

    def close(self) -> None:
        with self._lock:
            for connection in self._connections.values():
                connection.close()
            self._connections.clear()
