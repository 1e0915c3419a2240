#!/usr/bin/env python3
"""`just scale-test`: two replicas of every process, each on a host of its own, under faults.

The topology, made here and removed at the end (as root):
- a bridge `nfipbr0` (10.77.0.1/24) and a network namespace per replica, joined by a veth pair:
  no replica can assume its peers are on 127.0.0.1;
- two gateways and two replicas of each service, from the debug builds, on PostgreSQL (one
  database per process, reached through the bridge);
- one HAProxy (Debian's) on the bridge address: a frontend per process balancing its replicas
  with health checks on /readyz, and a TCP frontend for PostgreSQL.

Under a bounded load of purchases (each with its own Idempotency-Key, retried with the same key
on any error until it succeeds, then paid the same way), it kills -9 one replica of each process
in turn, restarts every replica with SIGTERM one after another, and scales billing from 2 to 4
replicas. Then it waits for the system to settle and audits the databases: every purchase the
client saw as 201 has exactly one active policy and one paid invoice, nothing is orphaned or
charged twice, every sale was confirmed (duplicates counted: delivery is at-least-once). It
prints a report and fails on any inconsistency, on an error a client saw during the rolling
restart, or if it runs past its 3-minute bound.
"""

import argparse
import glob
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BRIDGE = "nfipbr0"
HOST = "10.77.0.1"
PORTS = {"gateway": 8080, "risk": 8081, "policy": 8082, "billing": 8083, "notification": 8084}
SERVICES = ["risk", "policy", "billing", "notification"]
CLIENT_KEY = "scale-client-key"
SERVICE_TOKEN = "scale-service-token"
BOUND_S = 180


def entry(name, key):
    return f"{name}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def run(*command, check=True, **kwargs):
    return subprocess.run(command, check=check, capture_output=True, text=True, **kwargs)


def say(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


class Replica:
    """One process on a host of its own: a network namespace with one address on the bridge."""

    def __init__(self, process, index, address, work):
        self.process, self.index, self.address = process, index, address
        self.name = f"{process}{index}"
        self.netns = f"nfip-{self.name}"
        self.port = PORTS[process]
        self.work = work
        self.child = None
        self.log = None

    def make_host(self):
        host_side = f"nfv-{self.process[:4]}{self.index}"
        run("ip", "netns", "add", self.netns)
        run("ip", "link", "add", host_side, "type", "veth", "peer", "name", "eth0", "netns", self.netns)
        run("ip", "link", "set", host_side, "master", BRIDGE, "up")
        run("ip", "-n", self.netns, "addr", "add", f"{self.address}/24", "dev", "eth0")
        run("ip", "-n", self.netns, "link", "set", "eth0", "up")
        run("ip", "-n", self.netns, "link", "set", "lo", "up")

    def environment(self):
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LISTEN_ADDR": f"0.0.0.0:{self.port}",
            "DATABASE_URL": f"postgres://postgres@{HOST}:5432/nfip_scale_{self.process}",
            "RUST_LOG": "warn",
            "SHUTDOWN_DELAY_MS": "1500",
            "DRAIN_TIMEOUT_MS": "10000",
            "DB_POOL_SIZE": "4",
        }
        if self.process == "gateway":
            env.update(
                GATEWAY_API_KEYS=entry("scale", CLIENT_KEY),
                RATE_LIMIT_PER_SECOND="1000000",
                RATE_LIMIT_BURST="1000000",
                FOLLOWUP_RETRY_MS="200",
                **{f"{s.upper()}_URL": f"http://{HOST}:{PORTS[s]}" for s in SERVICES},
                **{f"{s.upper()}_TOKEN": SERVICE_TOKEN for s in SERVICES},
            )
        else:
            env["API_CALLERS"] = entry("gateway", SERVICE_TOKEN)
        if self.process == "notification":
            env.update(
                OUTBOX_DIR=os.path.join(self.work, f"outbox-{self.name}"),
                RETRY_BASE_MS="200",
                ATTEMPT_LEASE_MS="3000",
            )
        return env

    def start(self):
        binary = os.path.join(ROOT, "target", "debug", f"nfip-{self.process}")
        self.log = open(os.path.join(self.work, f"{self.name}.log"), "a")
        # `ip netns exec` execs the binary: the pid below is the process itself.
        self.child = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, binary],
            env=self.environment(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def ready(self):
        try:
            connection = http.client.HTTPConnection(self.address, self.port, timeout=1)
            connection.request("GET", "/readyz")
            return connection.getresponse().status == 200
        except OSError:
            return False

    def wait_ready(self, deadline_s=30):
        started = time.monotonic()
        while time.monotonic() - started < deadline_s:
            if self.child.poll() is not None:
                raise SystemExit(f"{self.name} exited ({self.child.returncode}); see {self.log.name}")
            if self.ready():
                return
            time.sleep(0.05)
        raise SystemExit(f"{self.name} was not ready within {deadline_s} s")

    def kill9(self):
        self.child.send_signal(signal.SIGKILL)
        self.child.wait()

    def terminate(self):
        self.child.send_signal(signal.SIGTERM)
        code = self.child.wait(timeout=30)
        if code != 0:
            raise SystemExit(f"{self.name} exited {code} on SIGTERM")


class Balancer:
    """One HAProxy on the bridge: a frontend per process, and one for PostgreSQL. Every host is
    declared from the start, as a load balancer's pool is provisioned: a replica not running is
    simply down to the health checks, and taken in once it answers /readyz."""

    def __init__(self, work):
        self.work = work
        self.config = os.path.join(work, "haproxy.cfg")
        self.socket = os.path.join(work, "haproxy.sock")
        self.child = None

    def write(self, replicas):
        lines = [
            "global",
            "    maxconn 8192",
            f"    stats socket {self.socket} mode 600 level admin",
            "defaults",
            "    mode http",
            # Every request, with its termination state, in haproxy.log (kept when the test fails).
            "    log stdout format raw local0",
            "    option httplog",
            "    timeout connect 1s",
            "    timeout client 60s",
            "    timeout server 60s",
            "    retries 3",
            "    option redispatch",
            "    retry-on conn-failure",
            # A connection kept idle towards a process may be closed by it (after
            # HEADER_TIMEOUT_MS) just as a request is sent on it: HAProxy would answer that
            # request 502. One connection per request to the processes closes the race.
            "    option http-server-close",
            "    option httpchk GET /readyz",
            "    default-server inter 250ms fall 1 rise 2",
            "frontend postgres",
            "    mode tcp",
            f"    bind {HOST}:5432",
            "    default_backend postgres",
            "backend postgres",
            "    mode tcp",
            "    server local 127.0.0.1:5432",
        ]
        for process, port in PORTS.items():
            lines += [
                f"frontend {process}",
                f"    bind {HOST}:{port}",
                f"    default_backend {process}",
                f"backend {process}",
            ]
            for replica in replicas:
                if replica.process == process:
                    lines.append(f"    server {replica.name} {replica.address}:{port} check")
        with open(self.config, "w") as out:
            out.write("\n".join(lines) + "\n")

    def start(self, replicas):
        self.write(replicas)
        log = open(os.path.join(self.work, "haproxy.log"), "w")
        self.child = subprocess.Popen(["haproxy", "-db", "-f", self.config], stdout=log, stderr=subprocess.STDOUT)

    def up(self, replica):
        """Whether HAProxy sends traffic to `replica` (its health checks pass)."""
        import socket

        try:
            with socket.socket(socket.AF_UNIX) as stats:
                stats.settimeout(1)
                stats.connect(self.socket)
                stats.sendall(f"show servers state {replica.process}\n".encode())
                answer = b""
                while chunk := stats.recv(65536):
                    answer += chunk
        except OSError:
            return False
        for line in answer.decode().splitlines():
            fields = line.split()
            # be_id be_name srv_id srv_name srv_addr srv_op_state ...; 2 is running.
            if len(fields) > 5 and fields[3] == replica.name:
                return fields[5] == "2"
        return False

    def wait_up(self, replica, deadline_s=10):
        started = time.monotonic()
        while time.monotonic() - started < deadline_s:
            if self.up(replica):
                return
            time.sleep(0.05)
        raise SystemExit(f"HAProxy did not take {replica.name} in within {deadline_s} s")

    def stop(self):
        if self.child and self.child.poll() is None:
            self.child.terminate()
            self.child.wait(timeout=10)


class Load:
    """Clients buying and paying, each purchase retried with its key until it succeeds."""

    def __init__(self, clients):
        self.clients = clients
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.phase = "warm-up"
        self.receipts = {}  # purchase key -> receipt
        self.paid = {}  # invoice id -> payment
        self.failed_attempts = Counter()  # phase -> attempts that got no 2xx
        self.failures = defaultdict(Counter)  # phase -> status (0: no answer) -> attempts
        self.attempts = Counter()
        self.completed = []  # (monotonic time, key)
        self.gave_up = []
        self.examples = []
        self.started_at = {}  # client thread -> when its current purchase started
        self.threads = [threading.Thread(target=self.client, daemon=True) for _ in range(clients)]

    def send(self, method, path, body, key):
        try:
            connection = http.client.HTTPConnection(HOST, PORTS["gateway"], timeout=15)
            connection.request(
                method,
                path,
                json.dumps(body),
                {"content-type": "application/json", "x-api-key": CLIENT_KEY, "idempotency-key": key},
            )
            response = connection.getresponse()
            status, answer = response.status, response.read()
        except OSError as error:
            status, answer = 0, str(error).encode()
        # Counted in the phase its answer came in: a request sent just before a kill fails in it.
        phase = self.phase
        with self.lock:
            self.attempts[phase] += 1
        if status // 100 != 2:
            with self.lock:
                self.failed_attempts[phase] += 1
                self.failures[phase][status] += 1
                if len(self.examples) < 10:
                    self.examples.append(f"{phase}: {method} {path} {status} {answer[:200]!r}")
        return status, answer

    def until_done(self, method, path, body, key, done):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, answer = self.send(method, path, body, key)
            if status in done:
                return status, json.loads(answer)
            if 400 <= status < 500 and status not in (408, 409, 429):
                raise SystemExit(f"{method} {path} with key {key}: {status} {answer[:300]!r}")
            time.sleep(0.05)
        return None, None

    def client(self):
        me = threading.get_ident()
        while not self.stop.is_set():
            self.started_at[me] = time.monotonic()
            key = f"scale-{uuid.uuid4()}"
            order = {
                "zipcode": "33139",
                "base_rate": 1200,
                "user": "Scale Test",
                "contact": {"email": "scale@example.org"},
            }
            status, receipt = self.until_done("POST", "/purchase", order, key, {201})
            if status is None:
                self.gave_up.append(key)
                continue
            invoice = receipt["invoice_id"]
            status, payment = self.until_done(
                "POST", f"/invoices/{invoice}/payments", {"card_number": "4242424242424242"}, f"pay-{key}", {201}
            )
            with self.lock:
                self.receipts[key] = receipt
                if status is None:
                    self.gave_up.append(f"pay-{key}")
                else:
                    self.paid[invoice] = payment
                self.completed.append((time.monotonic(), key))
        self.started_at.pop(me, None)

    def answered_since(self, moment):
        """Whether every purchase started before `moment` has been answered."""
        return all(started > moment for started in list(self.started_at.values()))

    def rate(self, seconds):
        """Purchases completed per second over the last `seconds`."""
        now = time.monotonic()
        with self.lock:
            return sum(1 for at, _ in self.completed if at >= now - seconds) / seconds


def psql(database, sql):
    out = run("psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-At", "-F", "\t", "-c", sql).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def audit(load, work):
    """Every inconsistency between what the client saw and what the databases hold."""
    problems = []
    sold = {r["policy_id"]: r for r in load.receipts.values()}
    invoices_sold = {r["invoice_id"] for r in load.receipts.values()}
    if len(sold) != len(load.receipts):
        problems.append("two purchases answered with the same policy")
    policies = dict(psql("nfip_scale_policy", "SELECT id, status FROM policies"))
    for policy_id in sold:
        if policies.get(policy_id) != "active":
            problems.append(f"sold policy {policy_id} is {policies.get(policy_id)}")
    orphans = [p for p, status in policies.items() if status == "active" and p not in sold]
    problems += [f"active policy {p} was never sold" for p in orphans]

    invoices = psql("nfip_scale_billing", "SELECT id, policy_id, status FROM invoices")
    live = defaultdict(list)
    for invoice_id, policy_id, status in invoices:
        if status != "void":
            live[policy_id].append((invoice_id, status))
            if invoice_id not in invoices_sold:
                problems.append(f"invoice {invoice_id} ({status}) was never sold")
    for policy_id, receipt in sold.items():
        held = live.get(policy_id, [])
        if held != [(receipt["invoice_id"], "paid")]:
            problems.append(f"policy {policy_id} has invoices {held}, expected its one, paid")
    charges = Counter(
        invoice for invoice, status in psql("nfip_scale_billing", "SELECT invoice_id, status FROM payments")
        if status == "succeeded"
    )
    problems += [f"invoice {i} charged {n} times" for i, n in charges.items() if n > 1]

    journal = Counter(s for (s,) in psql("nfip_scale_gateway", "SELECT state FROM purchase_journal"))
    if set(journal) - {"done"}:
        problems.append(f"purchases not settled: {dict(journal)}")
    notified = Counter(p for p, s in psql("nfip_scale_notification", "SELECT policy_id, status FROM notifications") if s == "sent")
    unconfirmed = [p for p in sold if notified[p] == 0]
    problems += [f"sale {p} was never confirmed" for p in unconfirmed]
    delivered = Counter()
    for mbox in glob.glob(os.path.join(work, "outbox-*", "email.mbox")):
        with open(mbox) as text:
            delivered.update(re.findall(r"policy ([0-9a-f-]{36}) is active", text.read()))
    missing = [p for p in sold if delivered[p] == 0]
    problems += [f"no e-mail reached the outbox for sale {p}" for p in missing]
    duplicates = sum(n - 1 for p, n in delivered.items() if n > 1)
    return problems, duplicates, journal


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=12)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the scale test makes network namespaces: run it as root")
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="nfip-scale-")
    replicas, spares, balancer, load = [], [], Balancer(work), None
    address = iter(range(2, 250))
    try:
        cleanup()
        run("ip", "link", "add", BRIDGE, "type", "bridge")
        run("ip", "addr", "add", f"{HOST}/24", "dev", BRIDGE)
        run("ip", "link", "set", BRIDGE, "up")
        for process in PORTS:
            psql("postgres", f"DROP DATABASE IF EXISTS nfip_scale_{process} WITH (FORCE)")
            psql("postgres", f"CREATE DATABASE nfip_scale_{process}")
        for process in PORTS:
            for index in (0, 1):
                replica = Replica(process, index, f"10.77.0.{next(address)}", work)
                replica.make_host()
                replicas.append(replica)
        # Two spare hosts for billing, started only when it scales out.
        spares = [Replica("billing", index, f"10.77.0.{next(address)}", work) for index in (2, 3)]
        for spare in spares:
            spare.make_host()
        balancer.start(replicas + spares)
        for replica in sorted(replicas, key=lambda r: r.process == "gateway"):
            replica.start()
        for replica in replicas:
            replica.wait_ready()
            balancer.wait_up(replica)
        say(f"up: {len(replicas)} replicas on their own hosts, HAProxy in front, in {time.monotonic() - started:.1f} s")

        load = Load(args.clients)
        for thread in load.threads:
            thread.start()
        time.sleep(5)
        say(f"load: {load.rate(5):.0f} purchases/s (each bought, then paid)")

        load.phase = "kill -9"
        for process in list(PORTS):
            victim = next(r for r in replicas if r.process == process and r.index == 0)
            victim.kill9()
            time.sleep(1)
            victim.start()
            victim.wait_ready()
            balancer.wait_up(victim)
            say(f"killed {victim.name} with SIGKILL under load, restarted it")

        # The purchases a killed gateway held are taken over when their lease ends: the clients
        # see 409 (retry shortly) until then. The rolling restart starts once they are all done.
        load.phase = "recovery"
        recovery_started = time.monotonic()
        while not load.answered_since(recovery_started):
            if time.monotonic() - recovery_started > 60:
                raise SystemExit("purchases started during the kills were not done within 60 s")
            time.sleep(0.05)
        recovery_s = time.monotonic() - recovery_started
        say(f"every purchase started before the last kill was answered {recovery_s:.1f} s after it")

        load.phase = "rolling restart"
        rolling_started = time.monotonic()
        for replica in replicas:
            replica.terminate()
            replica.start()
            replica.wait_ready()
            # As a rolling update waits for the new pod to be ready: taken in again by the
            # balancer before the next one goes.
            balancer.wait_up(replica)
        rolling_s = time.monotonic() - rolling_started
        say(f"rolling restart of all {len(replicas)} replicas (SIGTERM, start) in {rolling_s:.1f} s")

        load.phase = "scale billing"
        before = load.rate(5)
        pids = {r.name: r.child.pid for r in replicas}
        for spare in spares:
            spare.start()
        for spare in spares:
            spare.wait_ready()
            balancer.wait_up(spare)
        time.sleep(5)
        after = load.rate(5)
        unchanged = all(r.child.pid == pids[r.name] and r.child.poll() is None for r in replicas)
        say(f"billing scaled from 2 to 4 replicas: {before:.0f} → {after:.0f} purchases/s; no other process restarted: {unchanged}")

        load.stop.set()
        stopped = time.monotonic()
        for thread in load.threads:
            thread.join(timeout=90)
        # Settled: every purchase done in the journal and every confirmation sent.
        while time.monotonic() - stopped < 90:
            states = psql("nfip_scale_gateway", "SELECT COUNT(*) FROM purchase_journal WHERE state <> 'done'")
            pending = psql("nfip_scale_notification", "SELECT COUNT(*) FROM notifications WHERE status <> 'sent'")
            if states == [["0"]] and pending == [["0"]]:
                break
            time.sleep(0.2)
        settle_s = time.monotonic() - stopped
        problems, duplicates, journal = audit(load, work)
        total_s = time.monotonic() - started

        print()
        print("scale test report")
        print(f"  purchases sold and paid           {len(load.receipts)} ({sum(journal.values())} in the journal)")
        for phase in ["warm-up", "kill -9", "recovery", "rolling restart", "scale billing"]:
            statuses = ", ".join(f"{n}× {s or 'no answer'}" for s, n in sorted(load.failures[phase].items()))
            print(f"  client-visible errors, {phase:<16} {load.failed_attempts[phase]} of {load.attempts[phase]} attempts {f'({statuses})' if statuses else ''}")
        print(f"  purchases given up                {len(load.gave_up)}")
        print(f"  billing 2 → 4 replicas            {before:.0f} → {after:.0f} purchases/s, others untouched: {unchanged}")
        print(f"  recovery after the kills          {recovery_s:.1f} s (until every purchase they caught was sold)")
        print(f"  time to settle after the load     {settle_s:.1f} s")
        print(f"  confirmations delivered twice     {duplicates} (delivery is at-least-once)")
        print(f"  inconsistencies                   {len(problems)}")
        for problem in problems[:20]:
            print(f"    {problem}")
        for example in load.examples:
            print(f"    {example}")
        print(f"  whole test                        {total_s:.0f} s (bound {BOUND_S} s)")
        failures = []
        if problems:
            failures.append(f"{len(problems)} inconsistencies")
        if load.failed_attempts["rolling restart"]:
            failures.append("errors during the rolling restart")
        if load.gave_up:
            failures.append("purchases given up")
        if not unchanged:
            failures.append("a process restarted while billing scaled")
        if not load.receipts:
            failures.append("nothing was sold")
        if total_s > BOUND_S:
            failures.append(f"took {total_s:.0f} s, more than {BOUND_S} s")
        if failures:
            raise SystemExit("scale test FAILED: " + "; ".join(failures) + f" (logs in {work})")
        print("scale test passed")
        if not os.environ.get("NFIP_SCALE_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
    finally:
        if load:
            load.stop.set()
        for replica in replicas + spares:
            if replica.child and replica.child.poll() is None:
                replica.child.kill()
                replica.child.wait()
        balancer.stop()
        cleanup()


def cleanup():
    """Removes the namespaces and the bridge this test makes (also those of a run that died)."""
    for line in run("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        if name.startswith("nfip-"):
            run("ip", "netns", "delete", name, check=False)
    run("ip", "link", "delete", BRIDGE, check=False)


if __name__ == "__main__":
    main()
