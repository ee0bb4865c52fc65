"""Outbound fetches: which addresses the service may connect to, and where a
redirect may lead.

A user names http(s) inputs and workflows; the service fetches them. Left
alone, that lets a user make the service read what only it can reach: its
own API, other services on loopback, a cloud's metadata endpoint on a
link-local address. So every connection is checked on the addresses its
host name resolves to, at the moment it is made (`connect_allowed`), never
on the text of the URL: a name that resolves to 127.0.0.1, a decimal or
IPv4-mapped spelling of it, or a redirect that leads there are all caught
the same way. A denied address is never connected to.

`DenyList` holds the networks the operator denies (`limits.fetch-deny`)
and the service's own port, which is denied on every address of this
machine whatever the list says: a job never reads the service's own API.
An IPv6 address that carries an IPv4 address (IPv4-mapped ::ffff:a.b.c.d,
IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) is denied
when either form is.

`redirect_refusal` is the rule for redirects: only to http or https, and
at most a given number of them. `url_refusal` refuses a URL that can never
be fetched as given, before anything is resolved or sent: one with user
info (`http://user:password@host/`; credentials in URLs are not supported,
and the service never sends them), or whose host is no valid name (an
empty label, a label too long, a character no host name holds, or an IDNA
`xn--` label that does not decode). `without_credentials` is the URL as
every message shows it: the user info replaced by `***`, so a password
never reaches a log.

Standard library only; every check fails closed: an address that cannot
be parsed, or a probe that fails oddly, is refused.
"""

import dataclasses
import errno
import ipaddress
import re
import socket
import urllib.parse
from typing import Iterable, Optional, Tuple, Union

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

#: the schemes a redirect may lead to
REDIRECT_SCHEMES = ('http', 'https')

_NAT64 = ipaddress.ip_network('64:ff9b::/96')

#: one label of a host name as resolvers take it (an underscore is tolerated)
_LABEL = re.compile(r'[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z')
#: the user info of a URL, found as text so that even a URL that does not parse is cleaned
_USER_INFO = re.compile(r'\A([A-Za-z][A-Za-z0-9+.-]*:)?//[^/?#]*@')


class FetchDenied(Exception):
    """A connection or a redirect the service does not make; the message
    says why, in words for a job log."""


@dataclasses.dataclass(frozen=True)
class DenyList:
    """The networks the service does not fetch from, and its own port
    (denied on every address of this machine), if known."""

    networks: Tuple[Network, ...] = ()
    own_port: Optional[int] = None

    @classmethod
    def parse(cls, entries: Iterable[object]) -> 'DenyList':
        """A deny list from texts such as '127.0.0.0/8', '::1' or '10.1.2.3';
        raises ValueError naming the first entry that is not a network (the
        entries come from a configuration file: any value, checked here).
        Host bits are ignored: '192.168.1.7/24' denies 192.168.1.0/24."""
        if isinstance(entries, (str, bytes)):
            raise ValueError(f'expected a list of networks, got the text {entries!r}')
        networks = []
        for entry in entries:
            if not isinstance(entry, str):
                raise ValueError(
                    f'{entry!r} is not a network; write networks as text, such as '
                    "'10.0.0.0/8' or 'fd00::/8'"
                )
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError as exc:
                raise ValueError(
                    f'{entry!r} is not a network such as 10.0.0.0/8, fd00::/8 or 10.1.2.3'
                ) from exc
        return cls(tuple(networks))

    def with_own_port(self, port: Union[int, str, None]) -> 'DenyList':
        """This list, also denying `port` on the addresses of this machine."""
        return dataclasses.replace(self, own_port=None if port is None else int(port))

    def denying(self, address: Union[str, Address]) -> Optional[Network]:
        """The listed network that `address` (in any of its forms) falls in."""
        for form in forms(parse_address(address)):
            for network in self.networks:
                if form.version == network.version and form in network:
                    return network
        return None

    def is_denied(self, address: Union[str, Address], port: Optional[int] = None) -> bool:
        """Whether the service must not connect to `address` (at `port`)."""
        return self.refusal(address, port) is not None

    def refusal(self, address: object, port: Optional[int] = None) -> Optional[str]:
        """Why the service does not connect to `address` at `port`, ending a
        sentence "<host> resolves to <address>, ..."; None if it may. Any
        value is taken (getaddrinfo's address is typed `str | int`): one that
        is no address is refused."""
        try:
            parsed = parse_address(address)
        except ValueError:
            return 'which is not an address this service can check'
        network = self.denying(parsed)
        if network is not None:
            return f'which this service does not fetch from (limits.fetch-deny: {network})'
        if port is not None and port == self.own_port and is_local(parsed):
            return (
                f"which is this service's own address (port {port}); it does not fetch from itself"
            )
        return None


def parse_address(address: object) -> Address:
    """An address from its text as getaddrinfo gives it (an IPv6 zone such
    as %eth0 is dropped); ValueError if it is none (any other value)."""
    if isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return address
    if not isinstance(address, str):
        raise ValueError(f'{address!r} is not an IP address')
    return ipaddress.ip_address(address.split('%', 1)[0])


def forms(address: Address) -> Tuple[Address, ...]:
    """`address`, and the IPv4 address an IPv6 one carries, if any."""
    if address.version == 4:
        return (address,)
    carried = []
    if address.ipv4_mapped is not None:
        carried.append(address.ipv4_mapped)
    number = int(address)
    if 1 << 24 <= number < 1 << 32:  # IPv4-compatible ::a.b.c.d (not :: or ::1)
        carried.append(ipaddress.IPv4Address(number))
    if address in _NAT64:
        carried.append(ipaddress.IPv4Address(number & 0xFFFFFFFF))
    if address.sixtofour is not None:
        carried.append(address.sixtofour)
    return (address, *carried)


def is_local(address: Address) -> bool:
    """Whether `address` is one of this machine's own: only those can be
    bound. A probe that fails for another reason (an IPv6 link-local address
    without its zone, say) counts as local: the caller refuses."""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(address), 0))
    except OSError as exc:
        return exc.errno not in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT)
    return True


def connect_allowed(
    host: str,
    port: int,
    deny: DenyList,
    timeout: Optional[float] = None,
    source_address: Optional[Tuple[str, int]] = None,
) -> socket.socket:
    """A TCP connection to `host`:`port`, made only to an address `deny`
    allows (tried in the order getaddrinfo gives). Raises FetchDenied if
    every address the name resolves to is denied, OSError if none answers.
    Drop-in for socket.create_connection."""
    allowed = []
    refused = None
    for family, kind, proto, _, sockaddr in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        reason = deny.refusal(sockaddr[0], port)
        if reason is None:
            allowed.append((family, kind, proto, sockaddr))
        elif refused is None:
            refused = f'{host} resolves to {sockaddr[0]}, {reason}'
    if not allowed:
        raise FetchDenied(refused or f'{host} resolves to no address')
    error: Optional[OSError] = None
    for family, kind, proto, sockaddr in allowed:
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not None:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error  # type: ignore[misc]  # allowed is not empty


def redirect_refusal(target: str, followed: int, most: int) -> Optional[str]:
    """Why a redirect to `target` is not followed, after `followed` were (at
    most `most` in all), ending a sentence "<url> ..."; None if it may be."""
    shown = without_credentials(target)
    try:
        scheme = urllib.parse.urlsplit(target).scheme.lower()
    except ValueError:
        return f'redirects to {shown!r}, which is not a valid URL'
    if scheme not in REDIRECT_SCHEMES:
        allowed = ' or '.join(REDIRECT_SCHEMES)
        return f'redirects to {shown}; only redirects to {allowed} URLs are followed'
    refusal = url_refusal(target)
    if refusal is not None:
        return f'redirects to {shown}, which {refusal}'
    if followed >= most:
        return f'redirects more than {most} times (the last time to {shown})'
    return None


def without_credentials(url: str) -> str:
    """`url` with its user info (`user:password@`) shown as `***@`: the form
    of a URL in every message and log line."""
    if not isinstance(url, str):
        return repr(url)
    return _USER_INFO.sub(lambda found: f'{found.group(1) or ""}//***@', url, count=1)


def url_refusal(url: str) -> Optional[str]:
    """Why the http(s) `url` can never be fetched as given, ending a sentence
    "<url> ..." or "..., which ..."; None if it may be tried. Fails closed:
    a URL this cannot take apart is refused."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
        netloc = parts.netloc
        host = urllib.parse.unquote(parts.hostname or '')
    except ValueError as exc:
        return f'is not a valid URL ({exc})'
    if '@' in netloc:
        return (
            "holds credentials (the user info before '@'); credentials in URLs are not "
            'supported and are never sent: make the file readable without them, or upload '
            'it to the file exchange area'
        )
    if not host:
        return 'names no host'
    problem = host_problem(host)
    if problem is not None:
        return f'names the host {host!r}, which is not a valid host name ({problem})'
    return None


def host_problem(host: str) -> Optional[str]:
    """What makes `host` (an IP address or a DNS name, Unicode or ASCII) no
    name any resolver can look up; None if it may be one."""
    try:
        parse_address(host)
        return None
    except ValueError:
        pass
    name = host[:-1] if host.endswith('.') else host
    if not name:
        return 'it is empty'
    labels = []
    for label in name.split('.'):
        if not label:
            return 'it has an empty label'
        if len(label) > 63:
            return f'the label {label[:20]}... is longer than 63 characters'
        try:
            labels.append(label.encode('idna').decode('ascii'))
        except (UnicodeError, ValueError):
            return f'the label {label[:20]!r} cannot be written in IDNA'
    if len('.'.join(labels)) > 253:
        return 'it is longer than 253 characters'
    for label in labels:
        if len(label) > 63:
            return f'the label {label[:20]}... is longer than 63 characters'
        if label.lower().startswith('xn--'):
            try:
                label.lower().encode('ascii').decode('idna')
            except (UnicodeError, ValueError):
                return f'the IDNA label {label!r} does not decode'
        if not _LABEL.match(label):
            return f"the label {label!r} is not letters, digits and '-' (a '-' not at either end)"
    return None
