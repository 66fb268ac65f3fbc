"""Chat socket load: N conversations, both sides writing at once (shared/contracts/realtime.md).

    .venv/bin/python bench/chat_load.py                          # SQLite, 1 server, 20 pairs
    .venv/bin/python bench/chat_load.py --db postgres --redis redis://127.0.0.1:6379/9 \\
        --pairs 200 --messages 30 [--servers 2]
    .venv/bin/python bench/chat_load.py --db postgres --redis redis://127.0.0.1:6379/9 \\
        --pairs 200 --messages 60 --rate 1250               # open loop: 1,250 msg/s offered
    .venv/bin/python bench/chat_load.py --idle 5000 --db postgres --redis redis://127.0.0.1:6379/9
    .venv/bin/python bench/chat_load.py --seed seed.json [--url ws://HOST/ws/chat/ ...] [--pid PID]
    .venv/bin/python bench/chat_load.py ... --encrypted     # end-to-end encrypted conversations

Without ``--seed`` it starts the server(s) itself: a throw-away SQLite file or PostgreSQL database
(``wegweiser_bench_<pid>``, dropped at the end), ``migrate``, ``loadtest-seed``, then
``python -m wegweiser serve`` on ports 8100 (and 8101); at the end the servers are stopped, the
load-test data purged and the database dropped, also after Ctrl-C. With two servers clients talk
to the first and counselors to the second, so every message crosses the channel layer (Redis).

Each socket sends ``--messages`` messages, at most ``--window`` unacknowledged at a time: as fast
as that allows (closed loop, the default: it finds the maximum rate, at which latency is queueing
by construction), or with ``--rate R`` on a fixed schedule that offers R messages/s in all (open
loop: latency at a given load, counted from the scheduled send time). The
script reports acknowledged messages per second, delivery latency to the other side, lost,
duplicated and out-of-sequence messages, and the servers' memory. It prints figures and asserts
nothing: the exit code is 0 unless the set-up fails. The client part uses only ``websockets``;
it shares the CPU with the server, so it keeps per-frame work small.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import json
import os
import random
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect

try:
    import uvloop
except ImportError:  # uvicorn[standard] brings it; without it the stdlib loop does
    uvloop = None
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests import e2e_protocol as e2e  # noqa: E402 (the protocol's reference implementation)

PORTS = (8100, 8101)
CONNECT_CONCURRENCY = 50


class SetupError(Exception):
    pass


# --- servers ----------------------------------------------------------------------------------

def _proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process in KiB, from /proc."""
    values: dict[str, int] = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Servers:
    """The servers this script starts and stops (or, with --seed, only watches by --pid)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp: Path | None = None
        self.env: dict[str, str] = {}
        self.procs: list[subprocess.Popen[bytes]] = []
        self.pids: list[int] = list(args.pid or [])
        self.logs: list[Path] = []
        self.database = ""
        self.seeded = False

    def _manage(self, *command: str, timeout: float = 600) -> str:
        result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "wegweiser", *command], cwd=ROOT, env=self.env,
            capture_output=True, text=True, timeout=timeout, check=False,
        )
        if result.returncode != 0:
            raise SetupError(f"python -m wegweiser {' '.join(command)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def _psql(self, sql: str) -> None:
        result = subprocess.run(  # noqa: S603
            ["psql", "-h", self.args.pg_host, "-U", self.args.pg_user, "-v", "ON_ERROR_STOP=1",  # noqa: S607
             "-d", "postgres", "-c", sql],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise SetupError(f"psql {sql!r} failed: {result.stderr.strip()}")

    def start(self) -> Path:
        args = self.args
        if args.servers == 2 and not args.redis:
            raise SetupError("--servers 2 needs --redis: two processes only meet through the channel layer.")
        self.tmp = Path(tempfile.mkdtemp(prefix="wegweiser-chatload-"))
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY_FILE", "WEB_CONCURRENCY")}
        env.update({
            "VAR_DIR": str(self.tmp), "WEGWEISER_LOADTEST": "1", "DEBUG": "0",
            "SECURE_SSL_REDIRECT": "0", "SESSION_COOKIE_SECURE": "0", "STATIC_MANIFEST": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost", "SECRET_KEY": secrets.token_urlsafe(48),
            "ATTACHMENT_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "CHAT_RATE_LIMIT": "100000/1", "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
        })
        if args.db == "postgres":
            self.database = f"wegweiser_bench_{os.getpid()}"
            self._psql(f"CREATE DATABASE {self.database}")
            env["DATABASE_URL"] = f"postgres://{args.pg_user}@{args.pg_host}:5432/{self.database}"
            env["DATABASE_CONN_MAX_AGE"] = "600"
        else:
            env["DATABASE_URL"] = f"sqlite:///{self.tmp / 'bench.sqlite3'}"
        if args.redis:
            env["REDIS_URL"] = args.redis
        self.env = env
        (self.tmp / "static").mkdir()  # STATIC_ROOT: whitenoise warns at start-up without it
        seed = self.tmp / "seed.json"
        started = time.monotonic()
        self._manage("migrate", "--noinput", "--verbosity", "0")
        self.seeded = True
        self._manage("loadtest-seed", "--pairs", str(args.pairs), "--out", str(seed),
                     *(["--encrypted"] if args.encrypted else []),
                     "--base-url", f"http://127.0.0.1:{PORTS[0]}")
        print(f"set-up: migrate + loadtest-seed --pairs {args.pairs} in {time.monotonic() - started:.1f} s")
        for port in PORTS[: args.servers]:
            log = self.tmp / f"server-{port}.log"
            self.logs.append(log)
            with open(log, "wb") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "wegweiser", "serve"], cwd=ROOT,
                    env={**env, "HOST": "127.0.0.1", "PORT": str(port)},
                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                )
            self.procs.append(proc)
            self.pids.append(proc.pid)
        for port, proc in zip(PORTS, self.procs, strict=False):
            self._wait_healthy(port, proc)
        return seed

    def _wait_healthy(self, port: int, proc: subprocess.Popen[bytes]) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SetupError(f"server on port {port} exited ({proc.returncode}):\n{self.log_tail()}")
            with contextlib.suppress(OSError), \
                    opener.open(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
            time.sleep(0.2)
        raise SetupError(f"server on port {port} not healthy after 60 s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return "\n".join(log.read_text(errors="replace")[-2000:] for log in self.logs if log.exists())

    def memory(self) -> list[tuple[int, int, int]]:
        """(pid, VmRSS KiB, VmHWM KiB) per server."""
        return [(pid, s.get("VmRSS", 0), s.get("VmHWM", 0)) for pid in self.pids
                for s in [_proc_status(pid)]]

    def cpu(self) -> float:
        return sum(_proc_cpu(pid) for pid in self.pids)

    def problems(self) -> list[str]:
        """Lines of the server logs that look like errors (the log level is WARNING)."""
        lines = []
        for log in self.logs:
            if log.exists():
                lines += [f"[{log.stem}] {line}" for line in log.read_text(errors="replace").splitlines()
                          if line.strip()]
        return lines

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)  # its own session: pgid == pid
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs = []
        if self.seeded:
            try:
                print("purge: " + " ".join(self._manage("loadtest-seed", "--purge").split()))
            except (SetupError, subprocess.TimeoutExpired) as exc:
                print(f"purge failed: {exc}", file=sys.stderr)
            self.seeded = False
        if self.database:
            try:
                self._psql(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
            except SetupError as exc:
                print(exc, file=sys.stderr)
            self.database = ""
        if self.tmp is not None:
            if self.args.keep:
                print(f"kept {self.tmp}")
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


# --- the load generator (no Django) -----------------------------------------------------------

@dataclass(eq=False)
class Sock:
    index: int
    side: str  # "client" | "counselor"
    conversation: str
    url: str
    sessionid: str
    ws: ClientConnection | None = None
    peer: Sock | None = None
    slots: asyncio.Semaphore | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    finished: int = 0  # acked or refused
    expected: int = 0
    seen: set[str] = field(default_factory=set)
    last_seq: int = 0
    close_code: int | None = None
    key: bytes | None = None  # --encrypted: the conversation key (docs/e2e-protocol.md §5)
    kid: str = ""


@dataclass
class Stats:
    sent_at: dict[str, int] = field(default_factory=dict)  # client_id → perf_counter_ns
    owner: dict[str, Sock] = field(default_factory=dict)
    acked: dict[str, str] = field(default_factory=dict)  # client_id → message id
    delivered: dict[str, int] = field(default_factory=dict)  # client_id → ns at the peer
    refused: set[str] = field(default_factory=set)
    ack_ns: list[int] = field(default_factory=list)
    send_lag_ns: list[int] = field(default_factory=list)
    delivery_ns: list[int] = field(default_factory=list)
    seqs: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    errors: Counter[str] = field(default_factory=Counter)
    dup_delivery: int = 0
    dup_ack: int = 0
    repeat_ack: int = 0
    echo: int = 0
    reordered: int = 0
    expected_total: int = 10**12  # acked messages; known only once sending has ended
    first_send: int = 0
    last_ack: int = 0
    all_delivered: asyncio.Event = field(default_factory=asyncio.Event)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{'https' if parts.scheme == 'wss' else 'http'}://{parts.netloc}"


async def _open(sock: Sock, gate: asyncio.Semaphore, deflate: bool) -> str | None:
    """Connect and wait for a pong, which the server answers only after ``connect`` has
    subscribed the socket. Returns an error text or None."""
    async with gate:
        try:
            sock.ws = await connect(
                sock.url, origin=_origin(sock.url),  # type: ignore[arg-type]
                additional_headers={"Cookie": f"sessionid={sock.sessionid}"},
                compression="deflate" if deflate else None, proxy=None, ping_interval=None,
                open_timeout=60, close_timeout=2, max_size=2**20, max_queue=None,
            )
            await sock.ws.send('{"type":"ping"}')
            async with asyncio.timeout(60):
                while True:
                    frame = json.loads(await sock.ws.recv())
                    if frame.get("type") == "pong":
                        return None
        except ConnectionClosed as exc:
            sock.close_code = exc.rcvd.code if exc.rcvd else None
            return f"closed {sock.close_code}"
        except Exception as exc:  # refused, HTTP status instead of a handshake, time-out
            return f"{type(exc).__name__}: {exc}"


async def _open_all(socks: list[Sock], deflate: bool) -> tuple[list[Sock], Counter[str], float]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    started = time.perf_counter()
    results = await asyncio.gather(*(_open(s, gate, deflate) for s in socks))
    failures = Counter(r for r in results if r)
    return [s for s, r in zip(socks, results, strict=True) if not r], failures, time.perf_counter() - started


async def _reader(sock: Sock, stats: Stats) -> None:
    assert sock.ws is not None and sock.slots is not None
    loads, now_ns, peer = json.loads, time.perf_counter_ns, sock.peer
    try:
        async for raw in sock.ws:
            now = now_ns()
            frame = loads(raw)
            kind = frame.get("type")
            if kind == "message":
                message = frame["message"]
                mid, seq = message["id"], message["seq"]
                stats.seqs[frame["conversation"]].add(seq)
                if mid in sock.seen:
                    stats.dup_delivery += 1
                    continue
                sock.seen.add(mid)
                if seq < sock.last_seq:
                    stats.reordered += 1
                sock.last_seq = max(sock.last_seq, seq)
                cid = message.get("client_id")
                if cid is None or cid not in stats.sent_at:
                    continue  # a system message
                if sock.key is not None:  # the receiving side decrypts, as a browser does
                    try:
                        e2e.decrypt_message(sock.key, message["encrypted"], cid, message["sender_role"])
                    except Exception:
                        stats.errors["undecryptable"] += 1
                if stats.owner[cid] is sock:
                    stats.echo += 1  # the contract excludes the sending socket
                    continue
                if stats.owner[cid] is peer and cid not in stats.delivered:
                    stats.delivered[cid] = now
                    stats.delivery_ns.append(now - stats.sent_at[cid])
                    if len(stats.delivered) >= stats.expected_total:
                        stats.all_delivered.set()
            elif kind == "ack":
                cid, message = frame["client_id"], frame["message"]
                previous = stats.acked.get(cid)
                if previous is not None:
                    if previous != message["id"]:
                        stats.dup_ack += 1
                    else:
                        stats.repeat_ack += 1
                    continue
                stats.acked[cid] = message["id"]
                stats.ack_ns.append(now - stats.sent_at[cid])
                stats.last_ack = now
                stats.seqs[message["conversation"]].add(message["seq"])
                sock.seen.add(message["id"])
                sock.slots.release()
                sock.finished += 1
                if sock.finished >= sock.expected:
                    sock.done.set()
            elif kind == "error":
                stats.errors[frame.get("code", "?")] += 1
                cid = frame.get("client_id")
                if cid in stats.sent_at and cid not in stats.acked and cid not in stats.refused:
                    stats.refused.add(cid)
                    sock.slots.release()
                    sock.finished += 1
                    if sock.finished >= sock.expected:
                        sock.done.set()
        sock.close_code = sock.ws.close_code or -1
    except ConnectionClosed as exc:
        sock.close_code = exc.rcvd.code if exc.rcvd else -1
    if sock.finished < sock.expected:
        stats.errors[f"socket closed ({sock.close_code}) before all acks"] += 1
    for _ in range(sock.expected):  # wake the sender, which stops at once
        sock.slots.release()
    sock.done.set()


async def _sender(sock: Sock, client_ids: list[str], stats: Stats, interval: float = 0.0,
                  offset: float = 0.0) -> None:
    """Closed loop (``interval`` 0): send as fast as the window allows. Open loop: send on a
    fixed schedule, every ``interval`` seconds after ``offset``, whatever the server does; the
    latencies are then counted from the scheduled time, so a sender held up by a full window
    or a busy client loop shows as latency instead of hiding it (no coordinated omission)."""
    assert sock.ws is not None and sock.slots is not None
    dumps, now_ns, conversation = json.dumps, time.perf_counter_ns, sock.conversation
    prefix = f"bench {sock.side} {sock.index} #"
    start = now_ns() + int(offset * 1e9)
    step = int(interval * 1e9)
    for seq, cid in enumerate(client_ids):
        due = start + seq * step
        if step:
            delay = (due - now_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
        await sock.slots.acquire()
        if sock.close_code is not None:
            return
        now = now_ns()
        if step:
            stats.send_lag_ns.append(max(0, now - due))
            now = min(now, due)
        stats.sent_at[cid] = now
        stats.owner[cid] = sock
        if not stats.first_send or now < stats.first_send:
            stats.first_send = now
        text = f"{prefix}{seq} t={now}"
        if sock.key is not None:  # encrypted here, as a browser would (the server sees ciphertext)
            frame = {"type": "send", "conversation": conversation, "client_id": cid,
                     "encrypted": e2e.encrypt_message(sock.key, sock.kid, cid, sock.side, {"text": text})}
        else:
            frame = {"type": "send", "conversation": conversation, "client_id": cid, "body": text}
        try:
            await sock.ws.send(dumps(frame))
        except ConnectionClosed:
            return


def _pct(values: list[int], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6


def _mib(kib: int) -> str:
    return f"{kib / 1024:.0f}"


def _memory_line(servers: Servers) -> str:
    memory = servers.memory()
    if not memory:
        return "server_rss=? (start the servers here or give --pid)"
    rss, peak = sum(m[1] for m in memory), sum(m[2] for m in memory)
    each = " ".join(f"[pid {pid}: {_mib(r)}/{_mib(h)}]" for pid, r, h in memory)
    return f"server_rss={_mib(rss)} MiB peak={_mib(peak)} MiB {each}"


def _urls(args: argparse.Namespace, seed: dict[str, Any]) -> list[str]:
    """Socket URLs: clients use the first, counselors the last."""
    if args.url:
        return list(args.url)
    if not args.seed:
        return [f"ws://127.0.0.1:{port}/ws/chat/" for port in PORTS[: args.servers]]
    return [seed["base_url"].replace("http", "ws", 1).rstrip("/") + "/ws/chat/"]


def _sockets(args: argparse.Namespace, seed: dict[str, Any]) -> list[Sock]:
    urls = _urls(args, seed)
    client_url, counselor_url = urls[0], urls[-1]
    pairs = seed["pairs"][: args.pairs] if args.pairs else seed["pairs"]
    socks = []
    for index, pair in enumerate(pairs):
        client = Sock(index, "client", pair["conversation"], client_url, pair["client"]["sessionid"])
        counselor = Sock(index, "counselor", pair["conversation"], counselor_url,
                         pair["counselor"]["sessionid"])
        client.peer, counselor.peer = counselor, client
        if "key" in pair:
            for sock in (client, counselor):
                sock.key, sock.kid = e2e.b64u_decode(pair["key"]["secret"]), pair["key"]["id"]
        socks += [client, counselor]
    return socks


async def _close_all(socks: list[Sock]) -> None:
    async def close(sock: Sock) -> None:
        if sock.ws is not None:
            with contextlib.suppress(Exception):
                await sock.ws.close()

    await asyncio.gather(*(close(s) for s in socks))


async def run_load(args: argparse.Namespace, seed: dict[str, Any], servers: Servers) -> None:
    socks = _sockets(args, seed)
    pairs = len(socks) // 2
    rss_before = sum(m[1] for m in servers.memory())
    opened, failures, took = await _open_all(socks, args.deflate)
    print(f"connect: {len(opened)}/{len(socks)} sockets in {took:.2f} s"
          + (f", failed: {dict(failures)}" if failures else "")
          + f"; server rss {_mib(rss_before)} → {_mib(sum(m[1] for m in servers.memory()))} MiB")
    if not opened:
        await _close_all(socks)
        raise SetupError("no socket could connect")
    stats = Stats()
    live = [s for s in opened if s.peer in opened]
    for sock in live:
        sock.slots = asyncio.Semaphore(args.window)
        sock.expected = args.messages
    ids = {sock: [str(uuid.uuid4()) for _ in range(args.messages)] for sock in live}
    cpu_before, client_before = servers.cpu(), resource.getrusage(resource.RUSAGE_SELF)
    # The generator's own collector would stall its loop more and more as the per-message
    # bookkeeping grows, and every stall would count as server latency: no collection while
    # the load runs (the bookkeeping is freed at exit).
    gc.collect()
    gc.freeze()
    gc.disable()
    readers = [asyncio.create_task(_reader(s, stats)) for s in live]
    wall = time.perf_counter()
    # Open loop: every socket sends rate/len(live) messages per second, the sockets' schedules
    # spread evenly over one interval so the offered load is smooth.
    interval = len(live) / args.rate if args.rate else 0.0
    offsets = [interval * k / len(live) for k in range(len(live))]
    random.Random(7).shuffle(offsets)
    senders = [asyncio.create_task(_sender(s, ids[s], stats, interval, offsets[k]))
               for k, s in enumerate(live)]
    timed_out = False
    try:
        async with asyncio.timeout(args.timeout):
            await asyncio.gather(*senders)
            await asyncio.gather(*(s.done.wait() for s in live))
    except TimeoutError:
        timed_out = True
    run_end = time.perf_counter()
    expected = list(stats.acked)
    stats.expected_total = len(expected)
    if len(stats.delivered) >= len(expected):
        stats.all_delivered.set()
    last_ack = stats.last_ack or time.perf_counter_ns()
    grace = max(0.0, args.grace - (time.perf_counter_ns() - last_ack) / 1e9)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(grace):
            await stats.all_delivered.wait()
    cpu_after, client_after = servers.cpu(), resource.getrusage(resource.RUSAGE_SELF)
    memory_line = _memory_line(servers)
    lost = sum(1 for cid in expected if cid not in stats.delivered)
    if lost and args.drain > 0:  # lost, or only late? Wait some more to tell them apart.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(args.drain):
                await stats.all_delivered.wait()
    never = sum(1 for cid in expected if cid not in stats.delivered)
    gc.enable()
    await _close_all(socks)
    for task in readers + senders:
        task.cancel()
    await asyncio.gather(*readers, *senders, return_exceptions=True)

    sent = len(stats.sent_at)
    acked = len(stats.acked)
    duplicated = stats.dup_delivery + stats.dup_ack
    gaps = 0
    for seqs in stats.seqs.values():
        gaps += (max(seqs) - min(seqs) + 1) - len(seqs)
    span = max(1, stats.last_ack - stats.first_send) / 1e9
    server_cpu = cpu_after - cpu_before
    client_cpu = (client_after.ru_utime + client_after.ru_stime
                  - client_before.ru_utime - client_before.ru_stime)
    run_wall = run_end - wall
    where = "external" if args.seed else args.db
    print(f"== chat_load result ({where}, servers={len({s.url for s in live})}, "
          f"redis={'yes' if args.redis else 'no'}, deflate={'on' if args.deflate else 'off'})")
    offered = f"offered={args.rate:g} msg/s (open loop)" if args.rate else "closed loop"
    print(f"pairs={pairs} sockets={len(live)} messages/socket={args.messages} window={args.window} {offered} "
          f"sent={sent} acked={acked} refused={len(stats.refused)}"
          + (" TIMED OUT" if timed_out else ""))
    print(f"rate={acked / span:.0f} msg/s (first send → last ack {span:.2f} s)")
    if args.rate:
        print(f"send lag behind schedule p50={_pct(stats.send_lag_ns, 0.5):.1f} ms "
              f"p99={_pct(stats.send_lag_ns, 0.99):.1f} ms (latencies below count from the schedule)")
    print(f"ack latency p50={_pct(stats.ack_ns, 0.5):.1f} ms p99={_pct(stats.ack_ns, 0.99):.1f} ms "
          f"max={_pct(stats.ack_ns, 1.0):.1f} ms")
    print(f"delivery latency p50={_pct(stats.delivery_ns, 0.5):.1f} ms "
          f"p99={_pct(stats.delivery_ns, 0.99):.1f} ms max={_pct(stats.delivery_ns, 1.0):.1f} ms")
    # A backlog that builds up shows as latency rising from the first to the last third of sends.
    by_send = sorted((stats.sent_at[cid], at - stats.sent_at[cid]) for cid, at in stats.delivered.items())
    third = len(by_send) // 3
    thirds = [[lat for _, lat in by_send[k * third:(k + 1) * third if k < 2 else None]] for k in range(3)]
    print("delivery latency p50 by send time (first/middle/last third): "
          + " / ".join(f"{_pct(part, 0.5):.0f}" for part in thirds) + " ms")
    if lost:
        print(f"lost after {args.grace:g} s grace: {lost}; of these {lost - never} arrived within "
              f"{args.drain:g} s more (late), {never} never")
    print(f"lost={lost} dup={duplicated} (deliveries {stats.dup_delivery}, conflicting acks {stats.dup_ack}) "
          f"gaps={gaps} echo={stats.echo} reordered={stats.reordered} repeat_acks={stats.repeat_ack} "
          f"errors={dict(stats.errors) or 0}")
    print(f"{memory_line} server_cpu={server_cpu:.1f} s ({100 * server_cpu / run_wall:.0f}% of one core) "
          f"client_cpu={client_cpu:.1f} s ({100 * client_cpu / run_wall:.0f}%)")


async def run_idle(args: argparse.Namespace, seed: dict[str, Any], servers: Servers) -> None:
    pool = _sockets(args, seed)
    socks = [Sock(k, pool[k % len(pool)].side, pool[k % len(pool)].conversation, pool[k % len(pool)].url,
                  pool[k % len(pool)].sessionid) for k in range(args.idle)]
    memory_before = servers.memory()
    rss_before = sum(m[1] for m in memory_before)
    opened, failures, took = await _open_all(socks, args.deflate)
    print(f"connect: {len(opened)}/{len(socks)} sockets in {took:.2f} s"
          + (f", failed: {dict(failures)}" if failures else ""))
    await asyncio.sleep(args.hold)
    memory_after = servers.memory()
    rss_after = sum(m[1] for m in memory_after)
    still = sum(1 for s in opened if s.ws is not None and s.ws.close_code is None)
    per_socket = (rss_after - rss_before) / max(1, len(opened))
    where = "external" if args.seed else args.db
    print(f"== chat_load idle result ({where}, servers={len(memory_after)})")
    print(f"idle sockets={args.idle} open={len(opened)} still_open_after_{args.hold:g}s={still} "
          f"server_rss before={_mib(rss_before)} MiB after={_mib(rss_after)} MiB "
          f"(≈{per_socket:.0f} KiB per socket) {_memory_line(servers)}")
    await _close_all(socks)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else 1_048_576
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=20, help="conversations (default 20)")
    parser.add_argument("--messages", type=int, default=20, help="messages per socket (default 20)")
    parser.add_argument("--window", type=int, default=4, help="unacknowledged sends per socket (default 4)")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="open loop: offer this many messages/s in all (default: closed loop, as fast "
                             "as the window allows)")
    parser.add_argument("--servers", type=int, choices=(1, 2), default=1)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--redis", default="", help="REDIS_URL for the servers (channel layer, cache)")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--seed", help="use running servers: the JSON of loadtest-seed")
    parser.add_argument("--url", action="append",
                        help="ws://…/ws/chat/ (with --seed); twice: clients → first, counselors → second")
    parser.add_argument("--pid", type=int, action="append",
                        help="server pid(s) to read memory of (with --seed)")
    parser.add_argument("--idle", type=int, default=0, help="only open N idle sockets and report memory")
    parser.add_argument("--hold", type=float, default=10.0, help="seconds to hold idle sockets (default 10)")
    parser.add_argument("--grace", type=float, default=5.0, help="seconds after the last ack for deliveries")
    parser.add_argument("--drain", type=float, default=30.0,
                        help="after the grace, wait up to this long to tell late from never delivered")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="give up sending after this many seconds")
    parser.add_argument("--deflate", action="store_true", help="negotiate permessage-deflate like browsers")
    parser.add_argument("--encrypted", action="store_true",
                        help="end-to-end encrypted conversations: clients encrypt every message and decrypt "
                             "every delivery with the reference implementation (tests/e2e_protocol.py)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, seed)")
    args = parser.parse_args()
    if args.rate < 0:
        parser.error("--rate must not be negative")
    if args.pairs < 1 or args.messages < 1 or args.window < 1:
        parser.error("--pairs, --messages and --window must be at least 1")
    if args.url and not args.seed:
        parser.error("--url needs --seed (the sessions of that server)")
    _raise_fd_limit()
    signal.signal(signal.SIGTERM, _interrupt)  # clean up as after Ctrl-C
    servers = Servers(args)
    try:
        seed_path = Path(args.seed) if args.seed else servers.start()
        seed = json.loads(seed_path.read_text())
        if args.seed:
            args.pairs = min(args.pairs, len(seed["pairs"]))
        print(f"chat_load: {'idle ' + str(args.idle) if args.idle else 'load'} against "
              f"{', '.join(_urls(args, seed))}")
        main_coroutine = run_idle(args, seed, servers) if args.idle else run_load(args, seed, servers)
        if uvloop is not None:  # the load generator shares the CPU with the server: spend less
            uvloop.run(main_coroutine)
        else:
            asyncio.run(main_coroutine)
        problems = servers.problems()
        print(f"server log: {len(problems)} line(s) at WARNING or above" + (":" if problems else ""))
        for line in problems[:40]:
            print(f"  {line[:300]}")
        if len(problems) > 40:
            print(f"  … {len(problems) - 40} more")
    except SetupError as exc:
        print(f"set-up failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    finally:
        servers.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
