"""membership_lab.py — the membership topology of issue 2's tests.

    c1 ──p1─┐
            br0 (router)──up0────── uplink (another host or router)
    c2 ──p2─┘

The router runs joincastd with the TC program on br0 and up0. Clients join
with ordinary sockets, so the kernel sends real MLD/IGMP reports. Timers are
short: query interval 2 s, response 1 s, so the listener interval is 5 s.
"""

from lab import Daemon, Lab, wait_until

GROUP6 = "ff3e:40:2001:db8:d0be:f00d:8000:0"
GROUP4 = "239.255.0.1"

CONFIG = """
[daemon]
control_socket = "@SOCKET@"
state_dir = "@STATE@"

[membership]
interfaces = ["br0", "up0"]
bpf_pin_root = "{pin_root}"

[membership.timers]
query_interval = "2s"
query_response_interval = "1s"
last_listener_query_interval = "500ms"
startup_query_interval = "500ms"
"""


class MembershipLab:
    def __init__(self, lab: Lab, extra_config: str = ""):
        self.lab = lab
        self.router = lab.netns("router")
        self.c1 = lab.netns("c1")
        self.c2 = lab.netns("c2")
        self.uplink = lab.netns("uplink")
        lab.veth(self.router, "p1", self.c1, "eth0")
        lab.veth(self.router, "p2", self.c2, "eth0")
        lab.veth(self.router, "up0", self.uplink, "eth0")
        lab.bridge(self.router, "br0", ["p1", "p2"])
        lab.addr(self.router, "br0", "10.0.0.10/24")
        lab.addr(self.router, "br0", "2001:db8:1::1/64")
        lab.addr(self.router, "up0", "10.0.1.10/24")
        for i, ns in enumerate((self.c1, self.c2), start=11):
            lab.addr(ns, "eth0", f"10.0.0.{i}/24")
        lab.addr(self.uplink, "eth0", "10.0.1.2/24")
        self.pin_root = lab.bpffs() / "joincast"
        self.config = CONFIG.format(pin_root=self.pin_root) + extra_config
        self.daemon = Daemon(lab, self.router, self.config)

    def start(self) -> Daemon:
        return self.daemon.start()

    def groups(self) -> dict:
        """{group: {host: member}} from `joincast groups --json`."""
        out = {}
        for g in self.daemon.cli("groups")["groups"]:
            out[g["group"]] = {"listeners": g["listeners"], "members": {m["host"]: m for m in g["members"]}}
        return out

    def count(self, group: str) -> int:
        return self.groups().get(group, {}).get("listeners", 0)

    def wait_count(self, group: str, n: int, timeout: float = 10) -> None:
        wait_until(lambda: self.count(group) == n, timeout, f"{n} listener(s) in {group}")


def events_for(events: list[dict], group: str) -> list[tuple[str, int]]:
    """The (event, listener count) sequence for one group."""
    return [(e["event"], e["listeners"]) for e in events
            if e.get("group") == group and e["event"] in
            ("listener-join", "listener-leave", "group-up", "group-down")]
