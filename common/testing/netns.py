"""Hosts on one machine: a network namespace per host, joined by a bridge, cut at will.

Each host gets its own namespace with one veth leg on a private bridge (a /24 picked per
run), so a process inside binds its own address and cutting the host's link
(``ip link set … down``) is a real partition: packets stop, nothing is refused. The root
namespace holds the bridge's address, so processes outside any namespace (the test itself,
Redis, the proxy) reach every host and every host reaches them.

Where namespaces cannot be made (no CAP_NET_ADMIN), ``LoopbackNetwork`` gives each host
its own 127.0.0.x address instead; its ``cut`` freezes the host's processes (SIGSTOP),
which looks like a partition to the peers (connections hang, heartbeats stop) but is not
one, and says so in ``kind``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field

PREFIX = "plc"  # every name this module creates starts with it (stale ones are cleaned)


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


@dataclass
class Host:
    """One machine: its address, how to run a command on it, and its link to the others."""

    name: str
    address: str
    netns: str | None = None
    veth_root: str | None = None
    # Process groups started on this host (LoopbackNetwork freezes them to "cut" it).
    pgids: list[int] = field(default_factory=list)
    _freeze: Callable[[Host, bool], None] | None = None
    is_cut: bool = False

    def command(self, cmd: list[str]) -> list[str]:
        """``cmd`` run inside this host's namespace (unchanged on loopback hosts)."""
        return ["ip", "netns", "exec", self.netns, *cmd] if self.netns else cmd

    def cut(self) -> None:
        """Take the host off the network; its processes keep running."""
        if self.veth_root:
            _ip("link", "set", self.veth_root, "down")
        elif self._freeze:
            self._freeze(self, True)
        self.is_cut = True

    def heal(self) -> None:
        if self.veth_root:
            _ip("link", "set", self.veth_root, "up")
        elif self._freeze:
            self._freeze(self, False)
        self.is_cut = False


def netns_available() -> bool:
    probe = f"{PREFIX}probe{os.getpid()}"
    if _ip("netns", "add", probe, check=False).returncode != 0:
        return False
    _ip("netns", "del", probe, check=False)
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale() -> None:
    """Delete namespaces and bridges left by runs whose process is gone (killed test runs)."""
    names = re.findall(r"^(\S+)", _ip("netns", "list", check=False).stdout, re.M)
    links = re.findall(r"^\d+: ([^:@]+)", _ip("-o", "link", "show", check=False).stdout, re.M)
    for name in [*names, *links]:
        match = re.fullmatch(rf"{PREFIX}(\d+)[bnhx]\d*", name)
        if match and not _pid_alive(int(match.group(1))):
            if name in names:
                _ip("netns", "del", name, check=False)
            else:
                _ip("link", "del", name, check=False)


def _free_subnet() -> ipaddress.IPv4Network:
    used = re.findall(r"inet (\d+\.\d+\.\d+\.\d+/\d+)", _ip("-4", "-o", "addr").stdout)
    taken = [ipaddress.ip_interface(u).network for u in used]
    start = os.getpid() % 200
    for i in range(250):
        net = ipaddress.IPv4Network(f"10.213.{(start + i) % 250}.0/24")
        if not any(net.overlaps(t) for t in taken):
            return net
    raise RuntimeError("no free 10.213.x.0/24 subnet for the test hosts")


class NamespaceNetwork:
    """A bridge in the root namespace and one namespace (with a veth leg) per host."""

    kind = "netns"

    def __init__(self) -> None:
        clean_stale()
        self.tag = f"{PREFIX}{os.getpid()}"
        self.bridge = f"{self.tag}b"
        net = _free_subnet()
        hosts = net.hosts()
        self.gateway = str(next(hosts))  # the root namespace's address on the bridge
        self._addresses = hosts
        self.prefixlen = net.prefixlen
        self.hosts: list[Host] = []
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.gateway}/{self.prefixlen}", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    def add_host(self, name: str) -> Host:
        i = len(self.hosts)
        ns, root_leg, ns_leg = f"{self.tag}n{i}", f"{self.tag}h{i}", f"{self.tag}x{i}"
        address = str(next(self._addresses))
        _ip("netns", "add", ns)
        _ip("link", "add", root_leg, "type", "veth", "peer", "name", ns_leg)
        _ip("link", "set", ns_leg, "netns", ns)
        _ip("link", "set", root_leg, "master", self.bridge)
        _ip("link", "set", root_leg, "up")
        inside = ["-n", ns]
        _ip(*inside, "addr", "add", f"{address}/{self.prefixlen}", "dev", ns_leg)
        _ip(*inside, "link", "set", ns_leg, "up")
        _ip(*inside, "link", "set", "lo", "up")
        _ip(*inside, "route", "add", "default", "via", self.gateway)
        host = Host(name, address, netns=ns, veth_root=root_leg)
        self.hosts.append(host)
        return host

    def teardown(self) -> None:
        for host in self.hosts:
            _ip("link", "del", host.veth_root or "", check=False)
            _ip("netns", "del", host.netns or "", check=False)
        _ip("link", "del", self.bridge, check=False)


class LoopbackNetwork:
    """Fallback without CAP_NET_ADMIN: one 127.0.0.x address per host; cut = freeze."""

    kind = "loopback (cut = SIGSTOP, not a real partition)"

    def __init__(self) -> None:
        self.gateway = "127.0.0.1"
        self.hosts: list[Host] = []

    def add_host(self, name: str) -> Host:
        host = Host(name, f"127.0.0.{10 + len(self.hosts)}", _freeze=self._freeze)
        self.hosts.append(host)
        return host

    @staticmethod
    def _freeze(host: Host, frozen: bool) -> None:
        for pgid in host.pgids:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGSTOP if frozen else signal.SIGCONT)

    def teardown(self) -> None:
        for host in self.hosts:
            if host.is_cut:
                host.heal()


Network = NamespaceNetwork | LoopbackNetwork


def make_network() -> Network:
    return NamespaceNetwork() if netns_available() else LoopbackNetwork()
