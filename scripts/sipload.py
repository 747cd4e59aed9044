"""Shared pieces of the SIP load and soak runs (scripts/load-sip, scripts/soak-sip).

SIPp plays the carrier trunk (uac) and the AI agent (uas); e173gw runs its release build
between them on loopback, with the agent as the only target. CPU time is read from
/proc/<pid>/task/*/schedstat (nanoseconds on CPU, every thread), which also counts the
short wake-ups that tick-based utime/stime miss.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIOS = os.path.join(ROOT, "scripts", "scenarios")


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(2)


def free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def build():
    if not shutil.which("sipp"):
        die("sipp is needed (apt-get install sip-tester)")
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "release", "e173gw")


def schedstat(pid):
    """{thread id: (ns on CPU, ns waiting on a runqueue)} of the process's threads."""
    out = {}
    base = f"/proc/{pid}/task"
    for tid in os.listdir(base):
        try:
            with open(f"{base}/{tid}/schedstat") as f:
                a, b, _ = f.read().split()
            out[tid] = (int(a), int(b))
        except (OSError, ValueError):
            pass
    return out


def cpu_since(before, after):
    """(ns on CPU, ns waiting) between two schedstat() samples. Threads that started in
    between count from zero; a thread that ended in between loses its last part."""
    run = wait = 0
    for tid, (a, b) in after.items():
        a0, b0 = before.get(tid, (0, 0))
        run += a - a0
        wait += b - b0
    return run, wait


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def screening_toml():
    """A [filter] section of realistic size, with its blacklist file written to a scratch
    directory. The load's callee (5511912345678) passes every stage."""
    d = tempfile.mkdtemp(prefix="e173gw-rules.")
    lines = []
    for i in range(10000):
        k = i % 10
        if k <= 5:
            lines.append(f'[[entry]]\nnumber = "+55119{i * 7 + 50000000:08d}"\nreason = "r{i}"\n')
        elif k <= 7:
            lines.append(f'[[entry]]\nprefix = "+55{11 + i % 80}8{i:04d}"\n')
        elif k == 8:
            lines.append(f'[[entry]]\nnumber = "+55219{i:08d}"\nparty = "caller"\n')
        else:
            lines.append(f'[[entry]]\nprefix = "+5531{i:05d}"\ntrunk = "other"\n')
    lines.append("[[entry]]\npattern = '\\+55\\d\\d9(0{8}|9{8})'\n")
    lines.append("[[entry]]\nnumber = \"+5511190\"\nallow = true\n")
    with open(f"{d}/blacklist.toml", "w") as f:
        f.write("".join(lines))
    brazil = os.path.join(ROOT, "..", "shared", "data", "libphonenumber-carrier-55.txt")
    table = brazil if os.path.exists(brazil) else os.path.join(ROOT, "config", "operators",
                                                               "55-sample.txt")
    return f"""
[filter]
default_region = "BR"
[[filter.stage]]
kind = "blacklist"
files = ["{d}/blacklist.toml"]
[[filter.stage]]
kind = "phone"
allowed_regions = ["BR"]
[[filter.stage]]
kind = "operator"
files = ["{os.path.abspath(table)}"]
"""


class Gateway:
    """e173gw with a SIPp agent behind it, in a scratch directory."""

    def __init__(self, binary, agent_scenario=None, extra_toml=""):
        self.work = tempfile.mkdtemp(prefix="e173gw-load.")
        self.port = free_port()
        self.http = free_port(socket.SOCK_STREAM)
        agent_port = free_port()
        cfg = f"""
[log]
level = "warn"
[sip]
listen = ["udp:127.0.0.1:{self.port}"]
flood_rate = 1000000
flood_burst = 1000000
[[trunk]]
name = "load"
sources = ["127.0.0.0/8"]
target = "agent"
[agent]
uri = "sip:agent@127.0.0.1:{agent_port}"
[records]
jsonl_path = "{self.work}/records.jsonl"
log = false
[http]
listen = "127.0.0.1:{self.http}"
[modems]
profiles_dir = "{ROOT}/modem-profiles"
{extra_toml}
"""
        with open(f"{self.work}/gw.toml", "w") as f:
            f.write(cfg)
        scen = ["-sf", agent_scenario] if agent_scenario else ["-sn", "uas"]
        self.agent = subprocess.Popen(
            ["sipp", *scen, "-i", "127.0.0.1", "-p", str(agent_port),
             "-mp", str(free_port()), "-cp", str(free_port()), "-nostdin",
             "-buff_size", "8388608", "-max_socket", "65000",
             "-trace_err", "-error_file", f"{self.work}/agent-errors.log"],
            cwd=self.work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.log = open(f"{self.work}/gw.log", "w")
        self.proc = subprocess.Popen([binary, "run", "--config", f"{self.work}/gw.toml"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(100):
            if self.proc.poll() is not None:
                die(open(f"{self.work}/gw.log").read())
            try:
                self.metrics()
                break
            except OSError:
                time.sleep(0.1)
        self.pid = self.proc.pid

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http}/metrics", timeout=5) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-0-9.eE+]+|NaN)$", line)
            if m and not m.group(2):
                out[m.group(1)] = float(m.group(3))
        return out

    def stop(self, keep=False):
        for p in (self.proc, self.agent):
            if p.poll() is None:
                p.terminate()
        for p in (self.proc, self.agent):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.log.close()
        if not keep:
            shutil.rmtree(self.work, ignore_errors=True)


def uac(gw, name, rate, calls, service, scenario=None, hold_ms=1000, rtt=False, timeout=None,
        limit=None):
    """Starts a SIPp uac; returns (Popen, its directory)."""
    d = os.path.join(gw.work, name)
    os.makedirs(d, exist_ok=True)
    scen = ["-sf", scenario] if scenario else ["-sn", "uac"]
    args = ["sipp", *scen, "-s", service, "-i", "127.0.0.1", "-p", str(free_port()),
            "-mp", str(free_port()), "-cp", str(free_port()),
            "-r", str(rate), "-m", str(calls), "-d", str(hold_ms), "-nostdin",
            "-recv_timeout", "40000", "-buff_size", "8388608", "-max_socket", "65000",
            "-trace_stat", "-stf", "stats.csv", "-fd", "1",
            "-trace_err", "-error_file", "errors.log"]
    if timeout:
        args += ["-timeout", str(timeout)]
    if limit:
        args += ["-l", str(limit)]
    if rtt:
        args += ["-trace_rtt", "-rtt_freq", "1"]
    args.append(f"127.0.0.1:{gw.port}")
    return subprocess.Popen(args, cwd=d, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL), d


def stats_rows(d):
    """A uac's per-second stats file as a list of {column: value}, oldest first."""
    path = os.path.join(d, "stats.csv")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        rows = [line.rstrip("\n").split(";") for line in f if line.strip()]
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def stats(d):
    """The last line of a uac's stats file as {column: value}."""
    rows = stats_rows(d)
    return rows[-1] if rows else {}


def rtts(d):
    """Response times (ms) of every call: INVITE sent to 200 received."""
    out = []
    for name in os.listdir(d):
        if name.endswith("_rtt.csv"):
            with open(os.path.join(d, name)) as f:
                for line in f:
                    parts = line.strip().split(";")
                    if len(parts) >= 2:
                        try:
                            out.append(float(parts[1]))
                        except ValueError:
                            pass
    out.sort()
    return out
