"""Monitoring over multicast with the real daemons: a switch's syslog (to the
RFC 6034 group of its subnet, IPv4 and IPv6), SNMP trap and NTP request (to
224.0.1.1 and ff05::101) reach rsyslog, snmptrapd and chrony on the routers
through joincastd's [[monitor]] entries, with no firewall rule anywhere;
they do not before joincastd runs; a sender that is not allowed is dropped
and counted; with two routers serving NTP the switch hears from both."""

import subprocess
import sys
import time

from lab import JOINCASTD, log, wait_until
from monitor_lab import (R1, R2, SWITCH4, SWITCH6, SYSLOG_GROUP, SYSLOG_GROUP6, ENTRIES, NTP_ONLY, Vlan, entry,
                         logger, no_firewall_rules, snmptrap, sntp)
from lab import Lab


def main() -> int:
    with Lab("monitor") as lab:
        vlan = Vlan(lab)
        messages = vlan.rsyslog(vlan.r1)
        traps = vlan.snmptrapd(vlan.r1)
        vlan.chronyd(vlan.r1)
        vlan.chronyd(vlan.r2)

        log("without joincastd: the routers never joined, so nothing reaches the daemons")
        logger(vlan.switch, SYSLOG_GROUP, "before-joincast")
        assert sntp(vlan.switch, "224.0.1.1", wait=1.0) == []
        no_answer = subprocess.run(["ip", "netns", "exec", vlan.switch.name, "ntpdig", "-t", "1", "224.0.1.1"],
                                   capture_output=True, text=True, timeout=30)
        assert no_answer.returncode != 0, no_answer.stdout
        time.sleep(0.5)
        assert "before-joincast" not in (messages.read_text() if messages.exists() else "")

        log("--check: a group on an interface that is not there yet is pending, not an error")
        check = vlan.joincastd(vlan.r1, ENTRIES + '[[monitor]]\nservice = "udp"\nport = 9999\n'
                                                  'interfaces = ["absent0"]\ngroups = ["239.255.99.99"]\n')
        out = subprocess.run(["ip", "netns", "exec", vlan.r1.name, str(JOINCASTD), "--check", "--config",
                              str(check.config_path)], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        assert "pending: monitor: 239.255.99.99 of monitor[4] (udp): interface absent0 does not exist" in out.stderr, \
            out.stderr
        lab.daemons.remove(check)

        r1 = vlan.joincastd(vlan.r1, ENTRIES).start()
        r2 = vlan.joincastd(vlan.r2, NTP_ONLY).start()
        wait_until(lambda: SYSLOG_GROUP in vlan.lan.run("bridge", "mdb", "show"), 10,
                   "the bridge to learn r1's join of the syslog group (snooping)")

        log("syslog over IPv4 and IPv6 reaches rsyslog's imudp on the wildcard address")
        logger(vlan.switch, SYSLOG_GROUP, "link-up-port-3")
        logger(vlan.switch, SYSLOG_GROUP6, "over-ipv6")
        wait_until(lambda: messages.exists() and "link-up-port-3" in messages.read_text()
                   and "over-ipv6" in messages.read_text(), 10, "rsyslog to write both lines")
        e = entry(r1, "syslog", SYSLOG_GROUP)
        assert e["derived"] and e["source_specific"] and e["daemon_listening"], e
        assert e["packets"] == 1 and e["last_sender"] == SWITCH4, e
        assert entry(r1, "syslog", SYSLOG_GROUP6)["last_sender"] == SWITCH6

        log("a sender that is not the switch is dropped and counted")
        logger(vlan.intruder, SYSLOG_GROUP, "spoofed-line")
        wait_until(lambda: entry(r1, "syslog", SYSLOG_GROUP)["filtered"] == 1, 10, "the intruder to be counted")
        assert entry(r1, "syslog", SYSLOG_GROUP)["last_filtered_sender"] == "192.168.0.66"
        time.sleep(0.5)
        assert "spoofed-line" not in messages.read_text()

        log("an SNMPv2c trap reaches snmptrapd")
        snmptrap(vlan.switch, SYSLOG_GROUP)
        wait_until(lambda: traps.exists() and "3.6.1.6.3.1.1.5.3" in traps.read_text(), 10,
                   "snmptrapd to log the trap")
        assert f"[{SWITCH4}]" in traps.read_text() and f"[{SYSLOG_GROUP}]:162" in traps.read_text(), traps.read_text()
        assert entry(r1, "snmp-trap", SYSLOG_GROUP)["packets"] == 1

        log("an NTP request to 224.0.1.1 is answered by chrony on both routers, from their own addresses")
        answers = sntp(vlan.switch, "224.0.1.1")
        peers = sorted(a["peer"] for a in answers)
        assert peers == [R1[0], R2[0]], answers
        for a in answers:
            assert a["mode"] == "4" and a["stratum"] == "8" and a["origin_ok"] == "True", a
            assert abs(float(a["offset"])) < 1.0, a
        assert entry(r1, "ntp", "224.0.1.1")["rewritten"] >= 1
        log("ntpsec's SNTP client (ntpdig, what Debian's ntpdate runs) against the group sets its offset")
        dig = vlan.switch.run("ntpdig", "-t", "2", "224.0.1.1")
        assert " 224.0.1.1 s8 " in dig, dig
        log(f"  {dig.strip()}")
        log("and to ff05::101 over IPv6")
        answers6 = sntp(vlan.switch, "ff05::101")
        assert sorted(a["peer"] for a in answers6) == [R1[1], R2[1]], answers6
        assert all(a["origin_ok"] == "True" for a in answers6), answers6

        log("a port nothing listens on is reported")
        e = entry(r1, "udp", "239.255.20.55")
        assert e["daemon_listening"] is False, e
        assert "nothing listens on udp port 2055" in r1.log(), r1.log()

        table = r1.cli("monitor", json_out=False).stdout
        assert "234.192.168.0 port 514 on mgmt0 (RFC 6034)" in table and "1 filtered, last from 192.168.0.66" in table \
            and "warning: nothing listens on udp port 2055" in table, table
        assert r1.cli("status")["monitor"]["entries"], "status lacks the monitor module"
        metrics = vlan.r1.run(sys.executable, "-c", "import urllib.request; print(urllib.request.urlopen("
                              "'http://127.0.0.1:9185/metrics', timeout=5).read().decode())")
        assert ('joincast_monitor_filtered_total{service="syslog",interface="mgmt0",group="234.192.168.0",port="514"} 1'
                in metrics), metrics

        for ns in (vlan.r1, vlan.r2, vlan.lan):
            no_firewall_rules(ns)

        log("joincastd stops: it leaves, and the switch's syslog no longer arrives")
        r1.stop()
        logger(vlan.switch, SYSLOG_GROUP, "after-joincast")
        time.sleep(0.5)
        assert "after-joincast" not in messages.read_text()
    return 0


if __name__ == "__main__":
    sys.exit(main())
