"""Outbound URL policy for webhooks (OWASP API7, SSRF).

A webhook URL must be http(s) without credentials, and every address its host resolves to
must be public — unless the host is on ``RAPPORT_WEBHOOK_ALLOWED_HOSTS`` (for an n8n on the
same private network, or 127.0.0.1 in tests). The check runs when a subscription is saved
and again before each delivery, so a name that later resolves inward is refused too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class UrlRefused(ValueError):
    """The URL may not be called."""


def check_shape(url: str) -> str:
    """Scheme, host and no userinfo; returns the host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("Webhook URLs use http or https.")
    if not parts.hostname:
        raise UrlRefused("The URL has no host.")
    if parts.username or parts.password:
        raise UrlRefused("Put credentials in the signing secret, not in the URL.")
    return parts.hostname.lower()


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check(url: str, allowed_hosts: list[str]) -> None:
    """Refuse ``url`` unless its host is allow-listed or resolves only to public addresses."""
    host = check_shape(url)
    if host in {h.lower() for h in allowed_hosts}:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UrlRefused(f"The host {host!r} does not resolve.") from exc
    addresses = {str(info[4][0]) for info in infos}
    if not addresses or not all(_public(a) for a in addresses):
        raise UrlRefused(
            f"The host {host!r} resolves to a private or reserved address; "
            "add it to RAPPORT_WEBHOOK_ALLOWED_HOSTS if that is intended."
        )
