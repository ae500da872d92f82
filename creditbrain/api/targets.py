"""Where a webhook may be delivered: public addresses only, unless a network is allowed.

A subscriber names a URL and the platform POSTs to it, from inside the
deployment's network. Without a check, a regulator's key could make the platform
reach what only it can reach: the cloud's metadata service
(``169.254.169.254``, Alibaba Cloud's ``100.100.100.200``), the API's own
``/metrics`` on loopback, an SSH port on ``[::1]``, a database on a private
address. So a target host must resolve only to *public* addresses (Python's
:attr:`ipaddress.IPv4Address.is_global`, and not multicast); loopback,
link-local, private, shared (CGNAT), reserved, multicast and unspecified
addresses are refused, IPv4 and IPv6 alike, with IPv4 hidden inside IPv6
(``::ffff:127.0.0.1``, 6to4, NAT64) judged as the IPv4 address it carries. Hosts
written as numbers in another form (``2130706433``, ``0177.0.0.1``, ``0x7f.1``) are
read the way the C resolver reads them, so they are judged as what they reach.
``CREDITBRAIN_WEBHOOKS__ALLOW_TARGETS`` lists networks that are allowed anyway
(an internal receiver).

The check runs when a subscription is made (422) and again on every delivery: a
host may resolve to a public address at subscription time and to a private one
later (DNS rebinding). At delivery the connection is opened to the very address
that was checked (:func:`webhook_client`), so no second look-up can slip in
between.

>>> policy = TargetPolicy()
>>> policy.refusal(ipaddress.ip_address("169.254.169.254"))
'link-local'
>>> policy.refusal(ipaddress.ip_address("::ffff:127.0.0.1"))
'loopback'
>>> policy.refusal(ipaddress.ip_address("100.100.100.200"))
'not public'
>>> policy.refusal(ipaddress.ip_address("8.8.8.8")) is None
True
>>> TargetPolicy(("127.0.0.0/8",)).refusal(ipaddress.ip_address("127.0.0.1")) is None
True
>>> literal_address("0177.0.0.1"), literal_address("2130706433"), literal_address("[::1]")
(IPv4Address('127.0.0.1'), IPv4Address('127.0.0.1'), IPv6Address('::1'))
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class TargetRefused(ValueError):
    """A webhook target the deployment must not reach."""


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` spells as a number, in any form the C resolver accepts."""
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if not bare or not all(c in "0123456789abcdefxABCDEFX." for c in bare):
        return None
    try:
        # inet_aton reads 127.1, 2130706433, 0177.0.0.1 and 0x7f.0.0.1 as 127.0.0.1.
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo client, NAT64)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


#: ``resolve(host, port) -> addresses`` (strings); raises OSError when the name is unknown.
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses of ``host`` from the system's resolver, as the socket would connect."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class TargetPolicy:
    """Which addresses webhooks may reach: public ones and the ``allow`` networks."""

    def __init__(self, allow: Iterable[str] = (), resolve: Resolver = system_resolver) -> None:
        self.allow = tuple(ipaddress.ip_network(entry, strict=False) for entry in allow)
        self.resolve = resolve

    def _allowed(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.allow)

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` may not be reached, or ``None`` if it may."""
        if self._allowed(address):
            return None
        if isinstance(address, ipaddress.IPv6Address):
            inner = _embedded_ipv4(address)
            if inner is not None:
                return self.refusal(inner)
        for reason, flagged in (
            ("loopback", address.is_loopback),
            ("link-local", address.is_link_local),
            ("multicast", address.is_multicast),
            ("unspecified", address.is_unspecified),
            ("private", address.is_private),
            ("reserved", address.is_reserved),
        ):
            if flagged:
                return reason
        return None if address.is_global else "not public"

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        """Every address ``host`` stands for; :class:`TargetRefused` if any is refused.

        One refused address refuses the host: a name resolving to a public and a
        private address would otherwise reach the private one some of the time.
        """
        literal = literal_address(host)
        if literal is not None:
            found = [literal]
        else:
            try:
                resolved = await self.resolve(host, port)
            except (OSError, UnicodeError) as error:
                raise TargetRefused(f"{host} does not resolve: {error}") from error
            # A scoped IPv6 address (fe80::1%eth0) is judged without its zone.
            found = [ipaddress.ip_address(address.split("%")[0]) for address in resolved]
        if not found:
            raise TargetRefused(f"{host} does not resolve")
        for address in found:
            reason = self.refusal(address)
            if reason is not None:
                raise TargetRefused(f"{host} reaches a {reason} address")
        return found

    async def check_url(self, url: str, *, must_resolve: bool = True) -> None:
        """Refuse ``url`` unless it is http(s) to a host whose every address may be reached.

        With ``must_resolve`` false, a name that does not resolve (yet) passes: it is
        checked again, and must resolve, on every delivery.
        """
        for scheme, host, port in dict.fromkeys(_readings(url)):  # each reading once
            if scheme not in ("http", "https") or not host:
                raise TargetRefused("only http and https URLs with a host are allowed")
            try:
                await self.addresses(host, port or (443 if scheme == "https" else 80))
            except TargetRefused as refused:
                if must_resolve or "does not resolve" not in str(refused):
                    raise


def _readings(url: str) -> list[tuple[str, str, int | None]]:
    """``(scheme, host, port)`` of ``url`` as httpx and as the standard library read it.

    Both are checked: two parsers that disagree on the host of an odd URL are a known
    way around such checks. httpx, which delivers, may refuse a URL the other reads
    (a control character in the path): such a URL is never delivered to, and is
    judged by the host the standard library finds.

    >>> _readings("https://hooks.example:8443/in")
    [('https', 'hooks.example', 8443), ('https', 'hooks.example', 8443)]
    """
    readings: list[tuple[str, str, int | None]] = []
    try:
        parsed = httpx.URL(url)
        readings.append((parsed.scheme, parsed.host, parsed.port))
    except httpx.InvalidURL:
        pass
    try:
        split = urllib.parse.urlsplit(url)
        readings.append((split.scheme.lower(), split.hostname or "", split.port))
    except ValueError as error:
        raise TargetRefused(f"not a URL: {error}") from error
    return readings


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the policy allows, to the address it checked."""

    def __init__(self, policy: TargetPolicy, inner: httpcore.AsyncNetworkBackend) -> None:
        self.policy = policy
        self.inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self.policy.addresses(host, port)
        except TargetRefused as refused:
            raise httpcore.ConnectError(f"webhook target refused: {refused}") from refused
        # TLS still verifies the certificate against the host name (httpcore passes
        # it as the server name); only the TCP connection uses the checked address.
        return await self.inner.connect_tcp(
            str(addresses[0]), port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are never delivered to a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def webhook_client(timeout_s: float, policy: TargetPolicy | None) -> httpx.AsyncClient:
    """The HTTP client of deliveries; with ``policy``, it reaches only what it allows.

    Proxies from the environment are not used: a proxy would make the connection,
    to an address this process never sees.
    """
    transport = httpx.AsyncHTTPTransport()
    if policy is not None:
        # httpx has no public hook for the network backend of its connection pool;
        # tests/api/test_abuse.py fails if this stops taking effect.
        pool = transport._pool  # noqa: SLF001
        pool._network_backend = _CheckedBackend(policy, pool._network_backend)  # noqa: SLF001
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s), transport=transport, trust_env=policy is None
    )
