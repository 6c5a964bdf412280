"""RELIABILITY I4: the same command sequences sent to redis-server and to Blink, replies compared.

Reference: Debian's redis-server 7.0.15 (`redis-server --version` on bookworm, 5:7.0.15-1~deb12u10);
every expected error text below is that version's unless a case says otherwise.

Each case is a short sequence of steps on ONE fresh connection, run against both servers
after a FLUSHALL on a separate admin connection. The whole table runs in RESP2, and again
with `HELLO 3` sent first on each connection (RESP3), over TCP; the core cases run once
more in RESP2 over the Unix socket. Raw reply bytes are compared exactly,
error texts included, except where a value legitimately differs between two servers; each
such normalisation is a function below, named after what it hides and why.

Sections:
  core       compared with redis-server, byte for byte after the named normalisations
  auth       the same, both servers started with a password (redis --requirepass,
             Blink --auth-token-file); run in RESP2 only (a HELLO 3 prefix would authenticate)
  redis72    commands newer than the reference (CLIENT SETINFO is Redis 7.2): expected
             replies taken from the Redis 7.2 source (networking.c, clientSetinfoCommand),
             run against the target only
  blink      where Blink deliberately differs from Redis (docs/resp.md; MEMORY USAGE is
             Blink's exact charge, key + value + 57 bytes; other data types are unknown
             commands; the key size limit): expected replies of our own, run against Blink
             only; for MEMORY USAGE Redis is checked to give the same reply types
Core and auth cases may also carry `blink_expect`: Blink's documented difference from
Redis there (a wrong token closes the connection; COMMAND DOCS is empty), expected
exactly against Blink and still compared with Redis against a redis-server target.
  blink-cap  Blink at its memory cap (a third server, --memory-limit 1MiB): LRU eviction
             where Redis would refuse (-OOM) or grow; exact counts, target only
With RESP_TARGET=redis the target is a second redis-server: the redis72, blink and
blink-cap sections are then reported as not run and are not counted.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness import (
    Arg,
    Closed,
    Reader,
    Tally,
    TimedOut,
    as_bytes,
    encode,
    env,
    esc,
    open_reader,
    parse,
    target_kind,
)

#: An absolute expiry far enough ahead for any run (2033-05-18T03:33:20Z), in s and ms.
FIXED_AT_S = 2_000_000_000
FIXED_AT_MS = FIXED_AT_S * 1000
#: Relative TTLs the cases use, in seconds; a TTL reply is accepted within SLACK_S below one.
TTLS_S = (100, 200)
SLACK_S = 5
#: Blink's exact per-entry overhead (README, "Memory"; store::entry_charge).
ENTRY_OVERHEAD_BYTES = 57
#: Redis's reply to a wrong password; Blink then closes (docs/resp.md).
WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
#: Bound on SCAN round trips in one full iteration.
SCAN_ROUNDS_MAX = 1000


@dataclass
class Raw:
    """Bytes written as they are, then `replies` replies read."""

    data: bytes
    replies: int


@dataclass
class ScanAll:
    """A full SCAN iteration with these options; observed as the sorted union of keys."""

    options: list[Arg]


@dataclass
class AwaitGone:
    """Poll EXISTS until the key has expired (bounded); observed as gone or still there."""

    key: Arg
    timeout_s: float = 3.0


@dataclass
class Other:
    """A command sent on a second, fresh connection to the same server, mid-case."""

    args: list[Arg]


class Eof:
    """The server must close the connection now (bytes sent before EOF are compared)."""


EOF = Eof()
Step = list[Arg] | Raw | ScanAll | AwaitGone | Other | Eof


@dataclass
class Case:
    name: str
    steps: list[Step]
    section: str = "core"
    #: Keys set on the admin connection before the case (after FLUSHALL).
    setup: list[list[Arg]] = field(default_factory=list)
    resp3: bool = True
    #: redis72 / blink sections: the exact expected raw replies, one per reply.
    expect: list[bytes] | None = None
    #: blink section: Redis must give replies of the same RESP types (MEMORY USAGE).
    redis_same_types: bool = False
    #: RESP3 replies where they differ from `expect`.
    expect3: list[bytes] | None = None
    #: A core or auth case where Blink deliberately differs (docs/resp.md, "Where
    #: Blink-Store differs, on purpose"): against Blink these replies are expected (RESP2,
    #: and RESP3 where given); against a redis-server target the case stays differential.
    blink_expect: list[bytes] | None = None
    blink_expect3: list[bytes] | None = None


# ---------------------------------------------------------------------------------------
# Normalisations. Each takes the parsed value and returns a comparable stand-in.
# ---------------------------------------------------------------------------------------

#: HELLO fields that name the implementation or the connection, not behaviour: `server`
#: ("redis" vs "blink-store"), `version` (7.0.15 vs Blink's), `id` (a per-server client
#: counter), `modules` (Redis module list), `mode` (Redis's deployment mode). `proto` and
#: `role` stay exact.
HELLO_VOLATILE = {b"server", b"version", b"id", b"modules", b"mode"}


def pairs_of(value: Any) -> list[tuple[Any, Any]] | None:
    """A RESP3 map or a RESP2 flat array as (key, value) pairs."""
    kind, payload = value
    if kind == "%":
        return list(payload)
    if kind == "*" and payload is not None and len(payload) % 2 == 0:
        return list(zip(payload[0::2], payload[1::2], strict=True))
    return None


def norm_hello(value: Any, _args: list[bytes]) -> Any:
    pairs = pairs_of(value)
    if pairs is None or value[0] == "-":
        return value
    out = []
    for key, item in pairs:
        name = key[1] if key[0] in "$+" else None
        out.append((key, ("normalised", name) if name in HELLO_VOLATILE else item))
    return (value[0], tuple(out))


#: INFO bodies differ in every value (uptime, pids, memory), so instead of comparing the
#: text both servers' INFO must pass the same checks: Redis field names, sections, and
#: `loading:0`; what remains compared is the reply type and the db0 key count.
INFO_FIELDS = {
    "server": [
        "redis_version",
        "redis_mode",
        "process_id",
        "tcp_port",
        "uptime_in_seconds",
    ],
    "clients": ["connected_clients"],
    "memory": ["used_memory", "maxmemory", "maxmemory_policy"],
    "persistence": ["loading"],
    "stats": [
        "total_connections_received",
        "total_commands_processed",
        "expired_keys",
        "evicted_keys",
        "keyspace_hits",
        "keyspace_misses",
    ],
    "keyspace": [],
}
INFO_DEFAULT = ["server", "clients", "memory", "persistence", "stats", "keyspace"]


def info_problems(body: bytes, sections: list[str]) -> tuple[list[str], str | None]:
    problems = []
    if body.startswith(b"txt:"):
        body = body[4:]
    if b"\n" in body.replace(b"\r\n", b""):
        problems.append("a line not ended by CRLF")
    text = body.decode(errors="replace")
    headers = {line[2:].strip().lower() for line in text.split("\r\n") if line.startswith("# ")}
    fields = {}
    for line in text.split("\r\n"):
        if line and not line.startswith("#"):
            name, sep, rest = line.partition(":")
            if not sep:
                problems.append(f"line without ':': {line!r}")
            fields[name] = rest
    for section in sections:
        if section not in headers:
            problems.append(f"no '# {section.capitalize()}' section")
        for name in INFO_FIELDS.get(section, []):
            if name not in fields:
                problems.append(f"no {name}: field")
    if "persistence" in sections and fields.get("loading") != "0":
        problems.append("loading is not 0")
    db0 = fields.get("db0")
    keys = re.match(r"keys=(\d+),expires=(\d+)", db0) if db0 else None
    return problems, (f"keys={keys[1]},expires={keys[2]}" if keys else None)


def norm_info(value: Any, args: list[bytes]) -> Any:
    kind, payload = value
    if kind not in "$=" or payload is None:
        return value
    requested = [a.decode().lower() for a in args[1:]]
    sections = INFO_DEFAULT if not requested or requested == ["default"] else requested
    if requested in (["all"], ["everything"]):
        sections = INFO_DEFAULT
    problems, keyspace = info_problems(payload, sections)
    return (kind, "info", payload[:4] == b"txt:", tuple(problems), keyspace)


def norm_config_get(value: Any, _args: list[bytes]) -> Any:
    """CONFIG GET values are each server's settings (maxmemory, save): keep names and shape."""
    pairs = pairs_of(value)
    if pairs is None:
        return value
    return (value[0], tuple(sorted((k, v[0]) for k, v in pairs)))


def _near(actual: int, wanted: float, slack: float) -> bool:
    return wanted - slack <= actual <= wanted


def norm_ttl(value: Any, args: list[bytes], scale: int = 1) -> Any:
    """TTL/PTTL count down while the case runs: a positive reply is accepted within
    SLACK_S below one of the TTLs the cases set (or below the FIXED_AT_S deadline)."""
    kind, payload = value
    if kind != ":" or payload < 0:
        return value
    now = time.time()
    for ttl in (*TTLS_S, FIXED_AT_S - now):
        if _near(payload, ttl * scale, (SLACK_S + 1) * scale):
            return (kind, "ttl", round(ttl) if ttl in TTLS_S else "fixed")
    return value


def norm_expiretime(value: Any, args: list[bytes], scale: int = 1) -> Any:
    """EXPIRETIME after a relative TTL is now + ttl: accepted within SLACK_S of it.
    An absolute deadline (FIXED_AT_S) is compared exactly."""
    kind, payload = value
    if kind != ":" or payload < 0 or payload in (FIXED_AT_S, FIXED_AT_MS):
        return value
    now = time.time()
    for ttl in TTLS_S:
        if abs(payload - (now + ttl) * scale) <= SLACK_S * scale:
            return (kind, "at now +", ttl)
    return value


def norm_client_info(value: Any, _args: list[bytes]) -> Any:
    """CLIENT INFO lists per-server facts (addr, fd, age, memory): keep the reply type, that
    `id` is there, and the values of name, db and resp."""
    kind, payload = value
    if kind not in "$=" or payload is None:
        return value
    text = payload.removeprefix(b"txt:").decode(errors="replace").strip()
    fields = dict(item.partition("=")[::2] for item in text.split(" "))
    return (kind, "client info", "id" in fields, tuple((k, fields.get(k)) for k in ("name", "db", "resp")))


def norm_integer(value: Any, _args: list[bytes]) -> Any:
    """CLIENT ID is a per-server counter; COMMAND COUNT counts each server's commands."""
    return (":", "some integer") if value[0] == ":" else value


def shape(value: Any) -> Any:
    """COMMAND / COMMAND DOCS / COMMAND INFO bodies describe each server's own command
    table; compare the reply type and the types of its elements only."""
    kind, payload = value
    if kind in "*~>" and payload is not None:
        return (kind, tuple(sorted({item[0] for item in payload})), len(payload) > 0)
    if kind == "%":
        return (
            kind,
            tuple(sorted({(k[0], v[0]) for k, v in payload})),
            len(payload) > 0,
        )
    if kind in "-":
        return value
    return (kind,)


def norm_for(args: list[bytes]) -> Callable[[Any, list[bytes]], Any] | None:
    name = args[0].upper() if args else b""
    sub = args[1].upper() if len(args) > 1 else b""
    if name == b"HELLO":
        return norm_hello
    if name == b"INFO":
        return norm_info
    if name == b"CONFIG" and sub == b"GET":
        return norm_config_get
    if name == b"TTL":
        return norm_ttl
    if name == b"PTTL":
        return lambda v, a: norm_ttl(v, a, 1000)
    if name == b"EXPIRETIME":
        return norm_expiretime
    if name == b"PEXPIRETIME":
        return lambda v, a: norm_expiretime(v, a, 1000)
    if name == b"CLIENT" and sub == b"ID":
        return norm_integer
    if name == b"CLIENT" and sub == b"INFO":
        return norm_client_info
    if name == b"COMMAND":
        return norm_integer if sub == b"COUNT" else (lambda v, a: shape(v))
    return None


# ---------------------------------------------------------------------------------------
# Running a case.
# ---------------------------------------------------------------------------------------


@dataclass
class Observation:
    label: str
    raw: bytes
    norm: Any


def _read(reader: Reader, label: str, args: list[bytes] | None) -> Observation:
    try:
        raw, value = reader.reply()
    except Closed as closed:
        return Observation(label, closed.partial + b"<EOF>", ("EOF", closed.partial))
    except TimedOut as timed_out:
        return Observation(label, timed_out.partial + b"<no reply>", ("timeout", timed_out.partial))
    except ValueError as error:
        return Observation(label, reader.buf + b"<unparsable>", ("bad", str(error)))
    normalise = norm_for(args) if args else None
    return Observation(label, raw, normalise(value, args) if normalise and args else raw)


def _scan_all(reader: Reader, options: list[Arg]) -> Observation:
    label = "SCAN (full iteration) " + " ".join(esc(as_bytes(o)) for o in options)
    cursor, keys, raws = b"0", set(), []
    for _ in range(SCAN_ROUNDS_MAX):
        reader.send(encode(["SCAN", cursor, *options]))
        step = _read(reader, label, None)
        raws.append(step.raw)
        try:
            (kind, items), _ = parse(step.raw)
            assert kind == "*" and len(items) == 2 and items[0][0] == "$" and items[1][0] == "*"
            cursor = items[0][1]
            keys.update(item[1] for item in items[1][1])
        except Exception:
            return Observation(label, b"".join(raws), ("bad SCAN reply", step.raw))
        if cursor == b"0":
            return Observation(label, b"".join(raws), ("scan keys", tuple(sorted(keys))))
    return Observation(label, b"".join(raws), ("SCAN never returned cursor 0",))


def _await_gone(reader: Reader, step: AwaitGone) -> Observation:
    label = f"await expiry of {esc(as_bytes(step.key))}"
    deadline = time.monotonic() + step.timeout_s
    while True:
        reply = _read_after(reader, encode(["EXISTS", step.key]), label)
        if reply.raw != b":1\r\n":
            return Observation(label, reply.raw, ("gone", reply.raw))
        if time.monotonic() > deadline:
            return Observation(label, reply.raw, ("still there after", step.timeout_s))
        time.sleep(0.01)


def _read_after(reader: Reader, request: bytes, label: str) -> Observation:
    reader.send(request)
    return _read(reader, label, None)


def run_steps(address: str, steps: list[Step], prefix: list[Step]) -> list[Observation]:
    observations: list[Observation] = []
    try:
        reader = open_reader(address)
    except OSError as error:
        return [Observation("(connect)", f"<cannot connect: {error}>".encode(), ("connect", str(error)))]
    try:
        for step in [*prefix, *steps]:
            if isinstance(step, Eof):
                data = reader.wait_eof()
                raw = b"<still open>" if data is None else data + b"<EOF>"
                observations.append(Observation("(expect close)", raw, raw))
                break
            if isinstance(step, ScanAll):
                observations.append(_scan_all(reader, step.options))
                continue
            if isinstance(step, AwaitGone):
                observations.append(_await_gone(reader, step))
                continue
            if isinstance(step, Other):
                other = open_reader(address)
                try:
                    args = [as_bytes(a) for a in step.args]
                    other.send(encode(args))
                    observations.append(_read(other, "(other connection) " + " ".join(map(esc, args)), args))
                finally:
                    other.close()
                continue
            try:
                if isinstance(step, Raw):
                    reader.send(step.data)
                    for index in range(step.replies):
                        label = f"raw {esc(step.data[:60])}{'...' if len(step.data) > 60 else ''} #{index + 1}"
                        observations.append(_read(reader, label, None))
                        if observations[-1].norm[0] in ("EOF", "timeout"):
                            break
                else:
                    args = [as_bytes(a) for a in step]
                    reader.send(encode(args))
                    label = " ".join(esc(a) if len(a) <= 40 else f"{esc(a[:20])}...({len(a)} bytes)" for a in args)
                    observations.append(_read(reader, label, args))
            except (BrokenPipeError, ConnectionResetError):
                observations.append(Observation("(send)", b"<EOF>", ("EOF", b"")))
            if observations and observations[-1].norm[0] in ("EOF", "timeout", "bad"):
                break
    finally:
        reader.close()
    return observations


class Admin:
    """One long-lived connection per server that resets the keyspace between cases."""

    def __init__(self, address: str, token: str | None) -> None:
        self.address, self.token = address, token
        self.reader: Reader | None = None

    def run(self, *args: Arg) -> bytes:
        for _attempt in range(2):
            try:
                if self.reader is None:
                    self.reader = open_reader(self.address)
                    if self.token:
                        self.reader.command("AUTH", self.token)
                return self.reader.command(*args)[0]
            except (Closed, TimedOut, OSError):
                if self.reader is not None:
                    self.reader.close()
                self.reader = None
        return b"<admin connection failed>"


def diff_text(steps: list[Observation], other: list[Observation], names: tuple[str, str]) -> str:
    lines = []
    for index in range(max(len(steps), len(other))):
        a = steps[index] if index < len(steps) else None
        b = other[index] if index < len(other) else None
        label = (a or b).label if (a or b) else "?"
        same = a is not None and b is not None and a.norm == b.norm
        mark = "  " if same else "!!"
        lines.append(f"{mark} step {index + 1}: {label}")
        if not same:
            lines.append(f"     {names[0]:>8}: {esc(a.raw) if a else '(nothing)'}")
            lines.append(f"     {names[1]:>8}: {esc(b.raw) if b else '(nothing)'}")
            for side, obs in zip(names, (a, b), strict=True):
                if obs is not None and not isinstance(obs.norm, bytes) and obs.raw[:1] != b"-":
                    lines.append(f"     {side:>8} normalised: {obs.norm!r}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# The table.
# ---------------------------------------------------------------------------------------


def c(*args: Arg) -> list[Arg]:
    return list(args)


#: (command, arity as in Redis's command table: n = exactly n words, -n = at least n).
ARITIES: list[tuple[str, int]] = [
    ("ping", -1), ("echo", 2), ("select", 2), ("get", 2), ("set", -3), ("setnx", 3),
    ("setex", 4), ("psetex", 4), ("getset", 3), ("getdel", 2), ("getex", -2), ("mget", -2), ("mset", -3),
    ("msetnx", -3), ("del", -2), ("unlink", -2), ("exists", -2), ("type", 2), ("strlen", 2),
    ("append", 3), ("incr", 2), ("decr", 2), ("incrby", 3), ("decrby", 3), ("expire", -3),
    ("pexpire", -3), ("expireat", -3), ("pexpireat", -3), ("ttl", 2), ("pttl", 2),
    ("persist", 2), ("expiretime", 2), ("pexpiretime", 2), ("dbsize", 1), ("scan", -2),
    ("unwatch", 1), ("reset", 1), ("client", -2), ("config", -2), ("memory", -2),
    ("auth", -2),
]  # fmt: skip


def arity_cases() -> list[Case]:
    cases = []
    for name, arity in ARITIES:
        words = abs(arity)
        if words >= 2:
            cases.append(
                Case(
                    f"arity: {name} with too few arguments",
                    [c(name, *["k"] * (words - 2))],
                )
            )
        if arity > 0:
            cases.append(Case(f"arity: {name} with too many arguments", [c(name, *["k"] * words)]))
    cases += [
        Case("arity: MSET with an odd number of arguments", [c("MSET", "a", "1", "b")]),
        Case(
            "arity: MSETNX with an odd number of arguments",
            [c("MSETNX", "a", "1", "b")],
        ),
        Case("arity: upper-case GET still names 'get'", [c("GET")]),
        Case("arity: CLIENT SETNAME without a name", [c("CLIENT", "SETNAME")]),
        Case("arity: CLIENT GETNAME with an argument", [c("CLIENT", "GETNAME", "x")]),
        Case("arity: CLIENT ID with an argument", [c("CLIENT", "ID", "x")]),
        Case("arity: CONFIG GET without a parameter", [c("CONFIG", "GET")]),
        Case("arity: MEMORY USAGE without a key", [c("MEMORY", "USAGE")]),
        Case("arity: HELLO with a dangling AUTH", [c("HELLO", "3", "AUTH", "default")]),
        Case("arity: AUTH with three arguments", [c("AUTH", "a", "b", "c")]),
        Case("arity: FLUSHALL with two modes", [c("FLUSHALL", "ASYNC", "SYNC")]),
    ]
    return cases


def connection_cases() -> list[Case]:
    return [
        Case("PING", [c("PING")]),
        Case("PING with a message", [c("PING", "hello world")]),
        Case("PING with an empty message", [c("PING", "")]),
        Case("ECHO", [c("ECHO", "a\r\nb")]),
        Case("HELLO without arguments", [c("HELLO")]),
        Case("HELLO 2", [c("HELLO", "2"), c("GET", "missing")]),
        Case("HELLO 3 then a null", [c("HELLO", "3"), c("GET", "missing"), c("PING")]),
        Case("HELLO 4 is NOPROTO", [c("HELLO", "4")]),
        Case("HELLO 1 is NOPROTO", [c("HELLO", "1")]),
        Case("HELLO with a non-integer version", [c("HELLO", "three")]),
        Case("HELLO 3 AUTH default (no password set)", [c("HELLO", "3", "AUTH", "default", "anything")]),
        Case("HELLO 3 AUTH unknown user", [c("HELLO", "3", "AUTH", "someone", "pass")]),
        Case("HELLO 3 SETNAME", [c("HELLO", "3", "SETNAME", "conn-x"), c("CLIENT", "GETNAME")]),
        Case("HELLO 3 SETNAME with a space", [c("HELLO", "3", "SETNAME", "a b"), c("CLIENT", "GETNAME")]),
        Case("HELLO with an unknown option", [c("HELLO", "3", "FOO")]),
        Case("AUTH without a configured password", [c("AUTH", "secret")]),
        Case("AUTH default without a configured password", [c("AUTH", "default", "secret")]),
        Case("AUTH unknown user without a configured password", [c("AUTH", "someone", "secret")]),
        Case("SELECT 0", [c("SELECT", "0")]),
        Case("SELECT 1 (one database)", [c("SELECT", "1")]),
        Case("SELECT a non-integer", [c("SELECT", "one")]),
        Case("SELECT -1", [c("SELECT", "-1")]),
        Case("CLIENT GETNAME before SETNAME", [c("CLIENT", "GETNAME")]),
        Case("CLIENT SETNAME / GETNAME", [c("CLIENT", "SETNAME", "worker-1"), c("CLIENT", "GETNAME")]),
        Case(
            "CLIENT SETNAME empty clears the name",
            [c("CLIENT", "SETNAME", "a"), c("CLIENT", "SETNAME", ""), c("CLIENT", "GETNAME")],
        ),
        Case("CLIENT SETNAME with a space", [c("CLIENT", "SETNAME", "a b")]),
        Case("CLIENT SETNAME with a newline", [c("CLIENT", "SETNAME", "a\nb")]),
        Case("CLIENT ID", [c("CLIENT", "ID")]),
        Case("CLIENT INFO", [c("CLIENT", "INFO"), c("CLIENT", "SETNAME", "info-name"), c("CLIENT", "INFO")]),
        Case("CLIENT unknown subcommand", [c("CLIENT", "FROB")]),
        Case("client setname in lower case", [c("client", "setname", "lc"), c("client", "getname")]),
        Case("UNWATCH", [c("UNWATCH")]),
        Case("QUIT", [c("QUIT"), EOF]),
        Case("QUIT after a SET", [c("SET", "k", "v"), c("QUIT"), EOF]),
        Case("RESET", [c("RESET")]),
        Case(
            "RESET clears the name and the protocol",
            [c("HELLO", "3"), c("CLIENT", "SETNAME", "n"), c("RESET"), c("CLIENT", "GETNAME"), c("GET", "x")],
        ),
        Case("COMMAND COUNT", [c("COMMAND", "COUNT")]),
        Case("COMMAND", [c("COMMAND")]),
        Case("COMMAND DOCS GET", [c("COMMAND", "DOCS", "GET")], blink_expect=[b"*0\r\n"], blink_expect3=[b"%0\r\n"]),
        Case("COMMAND INFO GET SET", [c("COMMAND", "INFO", "GET", "SET")]),
        Case("INFO", [c("SET", "a", "1"), c("SET", "b", "2", "EX", "100"), c("INFO")]),
        Case("INFO server", [c("INFO", "server")]),
        Case("INFO keyspace", [c("SET", "a", "1"), c("INFO", "keyspace")]),
        Case("INFO memory stats", [c("INFO", "memory", "stats")]),
        Case("CONFIG GET maxmemory", [c("CONFIG", "GET", "maxmemory")]),
        Case("CONFIG GET what clients ask", [c("CONFIG", "GET", "maxmemory-policy"), c("CONFIG", "GET", "timeout"), c("CONFIG", "GET", "databases")]),
        Case("CONFIG GET save appendonly (redis-benchmark asks)", [c("CONFIG", "GET", "save"), c("CONFIG", "GET", "appendonly")]),
        Case("CONFIG GET an unknown parameter", [c("CONFIG", "GET", "no-such-parameter")]),
        Case("CONFIG unknown subcommand", [c("CONFIG", "FROB")]),
        Case("MEMORY USAGE of a missing key", [c("MEMORY", "USAGE", "missing")]),
        Case("MEMORY unknown subcommand", [c("MEMORY", "FROB")]),
    ]  # fmt: skip


def string_cases() -> list[Case]:
    i64max = "9223372036854775807"
    return [
        Case("GET missing", [c("GET", "missing")]),
        Case("SET then GET", [c("SET", "k", "v"), c("GET", "k")]),
        Case("SET overwrites", [c("SET", "k", "v1"), c("SET", "k", "v2"), c("GET", "k")]),
        Case("SET EX", [c("SET", "k", "v", "EX", "100"), c("TTL", "k"), c("GET", "k")]),
        Case("SET PX", [c("SET", "k", "v", "PX", "100000"), c("PTTL", "k")]),
        Case("SET EXAT", [c("SET", "k", "v", "EXAT", FIXED_AT_S), c("EXPIRETIME", "k"), c("TTL", "k")]),
        Case("SET PXAT", [c("SET", "k", "v", "PXAT", FIXED_AT_MS), c("PEXPIRETIME", "k")]),
        Case("SET EXAT in the past", [c("SET", "k", "v", "EXAT", "1"), c("GET", "k")]),
        Case("SET NX on a missing key", [c("SET", "k", "v", "NX"), c("GET", "k")]),
        Case("SET NX on an existing key", [c("SET", "k", "v"), c("SET", "k", "w", "NX"), c("GET", "k")]),
        Case("SET XX on a missing key", [c("SET", "k", "v", "XX"), c("GET", "k")]),
        Case("SET XX on an existing key", [c("SET", "k", "v"), c("SET", "k", "w", "XX"), c("GET", "k")]),
        Case(
            "SET KEEPTTL keeps the TTL",
            [c("SET", "k", "v", "EX", "100"), c("SET", "k", "w", "KEEPTTL"), c("TTL", "k"), c("GET", "k")],
        ),
        Case("SET without KEEPTTL clears the TTL", [c("SET", "k", "v", "EX", "100"), c("SET", "k", "w"), c("TTL", "k")]),
        Case("SET GET returns the old value", [c("SET", "k", "v"), c("SET", "k", "w", "GET"), c("GET", "k")]),
        Case("SET GET on a missing key", [c("SET", "k", "w", "GET"), c("GET", "k")]),
        Case("SET NX GET", [c("SET", "k", "v"), c("SET", "k", "w", "NX", "GET"), c("GET", "k")]),
        Case("SET XX GET on a missing key", [c("SET", "k", "w", "XX", "GET"), c("GET", "k")]),
        Case("SET options in lower case", [c("set", "k", "v", "ex", "100", "nx"), c("ttl", "k")]),
        Case("SET NX XX is a syntax error", [c("SET", "k", "v", "NX", "XX")]),
        Case("SET EX PX is a syntax error", [c("SET", "k", "v", "EX", "10", "PX", "100")]),
        Case("SET EX KEEPTTL is a syntax error", [c("SET", "k", "v", "EX", "10", "KEEPTTL")]),
        Case("SET EX without a value is a syntax error", [c("SET", "k", "v", "EX")]),
        Case("SET with an unknown option", [c("SET", "k", "v", "FOO")]),
        Case("SET EX 0", [c("SET", "k", "v", "EX", "0"), c("GET", "k")]),
        Case("SET EX -1", [c("SET", "k", "v", "EX", "-1")]),
        Case("SET PX 0", [c("SET", "k", "v", "PX", "0")]),
        Case("SET EX abc", [c("SET", "k", "v", "EX", "abc")]),
        Case("SET EX 1.5", [c("SET", "k", "v", "EX", "1.5")]),
        Case("SET EX overflowing milliseconds", [c("SET", "k", "v", "EX", i64max)]),
        Case("SET EXAT 0", [c("SET", "k", "v", "EXAT", "0")]),
        Case("SETNX", [c("SETNX", "k", "v"), c("SETNX", "k", "w"), c("GET", "k")]),
        Case("SETEX", [c("SETEX", "k", "100", "v"), c("TTL", "k"), c("GET", "k")]),
        Case("SETEX 0", [c("SETEX", "k", "0", "v")]),
        Case("SETEX abc", [c("SETEX", "k", "abc", "v")]),
        Case("PSETEX", [c("PSETEX", "k", "100000", "v"), c("PTTL", "k")]),
        Case("PSETEX -5", [c("PSETEX", "k", "-5", "v")]),
        Case("GETSET", [c("GETSET", "k", "v"), c("GETSET", "k", "w"), c("GET", "k")]),
        Case("GETSET clears the TTL", [c("SET", "k", "v", "EX", "100"), c("GETSET", "k", "w"), c("TTL", "k")]),
        Case("GETDEL", [c("SET", "k", "v"), c("GETDEL", "k"), c("GETDEL", "k"), c("EXISTS", "k")]),
        Case("GETEX without options", [c("SET", "k", "v", "EX", "100"), c("GETEX", "k"), c("TTL", "k")]),
        Case("GETEX EX", [c("SET", "k", "v"), c("GETEX", "k", "EX", "100"), c("TTL", "k")]),
        Case("GETEX PX", [c("SET", "k", "v"), c("GETEX", "k", "PX", "100000"), c("PTTL", "k")]),
        Case("GETEX EXAT", [c("SET", "k", "v"), c("GETEX", "k", "EXAT", FIXED_AT_S), c("EXPIRETIME", "k")]),
        Case("GETEX PXAT", [c("SET", "k", "v"), c("GETEX", "k", "PXAT", FIXED_AT_MS), c("PEXPIRETIME", "k")]),
        Case("GETEX PERSIST", [c("SET", "k", "v", "EX", "100"), c("GETEX", "k", "PERSIST"), c("TTL", "k")]),
        Case("GETEX on a missing key", [c("GETEX", "missing", "EX", "100")]),
        Case("GETEX EX 0", [c("SET", "k", "v"), c("GETEX", "k", "EX", "0")]),
        Case("GETEX PERSIST EX is a syntax error", [c("SET", "k", "v"), c("GETEX", "k", "PERSIST", "EX", "10")]),
        Case("GETEX with an unknown option", [c("SET", "k", "v"), c("GETEX", "k", "FOO")]),
        Case("MGET", [c("SET", "a", "1"), c("SET", "c", "3"), c("MGET", "a", "b", "c", "a")]),
        Case("MSET", [c("MSET", "a", "1", "b", "2", "a", "3"), c("MGET", "a", "b")]),
        Case("MSET clears TTLs", [c("SET", "a", "1", "EX", "100"), c("MSET", "a", "2"), c("TTL", "a")]),
        Case("MSETNX all new", [c("MSETNX", "a", "1", "b", "2"), c("MGET", "a", "b")]),
        Case("MSETNX one exists", [c("SET", "a", "1"), c("MSETNX", "a", "9", "c", "3"), c("MGET", "a", "c")]),
        Case("DEL many keys", [c("MSET", "a", "1", "b", "2", "c", "3"), c("DEL", "a", "b", "x", "a"), c("DBSIZE")]),
        Case("UNLINK many keys", [c("MSET", "a", "1", "b", "2", "c", "3"), c("UNLINK", "a", "c", "y"), c("DBSIZE")]),
        Case("EXISTS counts duplicates", [c("SET", "a", "1"), c("EXISTS", "a", "a", "b", "a")]),
        Case("TYPE string and none", [c("SET", "a", "1"), c("TYPE", "a"), c("TYPE", "b")]),
        Case("STRLEN", [c("SET", "a", "hello"), c("STRLEN", "a"), c("STRLEN", "b")]),
        Case("APPEND", [c("APPEND", "a", "he"), c("APPEND", "a", "llo"), c("GET", "a")]),
        Case("APPEND keeps the TTL", [c("SET", "a", "x", "EX", "100"), c("APPEND", "a", "y"), c("TTL", "a")]),
        Case("INCR / DECR / INCRBY / DECRBY", [c("INCR", "n"), c("INCRBY", "n", "10"), c("DECR", "n"), c("DECRBY", "n", "-5"), c("GET", "n")]),
        Case("INCR of a stored integer", [c("SET", "n", "41"), c("INCR", "n"), c("GET", "n")]),
        Case("INCR keeps the TTL", [c("SET", "n", "1", "EX", "100"), c("INCR", "n"), c("TTL", "n")]),
        Case("INCR of a non-integer", [c("SET", "n", "abc"), c("INCR", "n")]),
        Case("INCR of ' 1'", [c("SET", "n", " 1"), c("INCR", "n")]),
        Case("INCR of '01'", [c("SET", "n", "01"), c("INCR", "n")]),
        Case("INCR of an empty string", [c("SET", "n", ""), c("INCR", "n")]),
        Case("INCR overflow", [c("SET", "n", i64max), c("INCR", "n"), c("GET", "n")]),
        Case("DECR underflow", [c("SET", "n", "-9223372036854775808"), c("DECR", "n")]),
        Case("INCRBY a non-integer increment", [c("INCRBY", "n", "x")]),
        Case("INCRBY overflow", [c("SET", "n", "1"), c("INCRBY", "n", i64max)]),
        Case("DECRBY the minimum", [c("DECRBY", "n", "-9223372036854775808")]),
        Case("INCRBY an out-of-range increment", [c("INCRBY", "n", "9223372036854775808")]),
        Case("binary key and value", [c("SET", b"k\r\n\x00k", b"\x00\r\nv\r\n\xff"), c("GET", b"k\r\n\x00k"), c("STRLEN", b"k\r\n\x00k")]),
        Case("empty key and empty value", [c("SET", "", ""), c("GET", ""), c("EXISTS", ""), c("STRLEN", "")]),
        Case("mixed-case commands", [c("sEt", "k", "v"), c("GeT", "k"), c("eXiStS", "k"), c("Del", "k")]),
        Case("GET / EXISTS / DEL of a 2 KiB key that cannot exist", [c("GET", b"k" * 2048), c("EXISTS", b"k" * 2048), c("DEL", b"k" * 2048)]),
        Case("a 64 KiB value", [c("SET", "big", b"x" * 65536), c("STRLEN", "big"), c("GET", "big")]),
    ]  # fmt: skip


def expiry_cases() -> list[Case]:
    return [
        Case("EXPIRE and TTL", [c("SET", "k", "v"), c("EXPIRE", "k", "100"), c("TTL", "k")]),
        Case("EXPIRE on a missing key", [c("EXPIRE", "missing", "100")]),
        Case("PEXPIRE and PTTL", [c("SET", "k", "v"), c("PEXPIRE", "k", "100000"), c("PTTL", "k")]),
        Case("EXPIRE NX", [c("SET", "k", "v"), c("EXPIRE", "k", "100", "NX"), c("EXPIRE", "k", "200", "NX"), c("TTL", "k")]),
        Case("EXPIRE XX", [c("SET", "k", "v"), c("EXPIRE", "k", "100", "XX"), c("EXPIRE", "k", "100"), c("EXPIRE", "k", "200", "XX"), c("TTL", "k")]),
        Case("EXPIRE GT", [c("SET", "k", "v"), c("EXPIRE", "k", "100", "GT"), c("EXPIRE", "k", "100"), c("EXPIRE", "k", "200", "GT"), c("EXPIRE", "k", "100", "GT"), c("TTL", "k")]),
        Case("EXPIRE LT", [c("SET", "k", "v"), c("EXPIRE", "k", "200", "LT"), c("EXPIRE", "k", "100", "LT"), c("EXPIRE", "k", "200", "LT"), c("TTL", "k")]),
        Case("EXPIRE options in lower case", [c("SET", "k", "v"), c("expire", "k", "100", "nx")]),
        Case("EXPIRE NX XX", [c("SET", "k", "v"), c("EXPIRE", "k", "100", "NX", "XX")]),
        Case("EXPIRE NX GT", [c("SET", "k", "v"), c("EXPIRE", "k", "100", "NX", "GT")]),
        Case("EXPIRE GT LT", [c("SET", "k", "v"), c("EXPIRE", "k", "100", "GT", "LT")]),
        Case("EXPIRE with an unknown option", [c("SET", "k", "v"), c("EXPIRE", "k", "100", "FOO")]),
        Case("EXPIRE abc", [c("SET", "k", "v"), c("EXPIRE", "k", "abc")]),
        Case("EXPIRE 0 deletes", [c("SET", "k", "v"), c("EXPIRE", "k", "0"), c("GET", "k"), c("DBSIZE")]),
        Case("EXPIRE -1 deletes", [c("SET", "k", "v"), c("EXPIRE", "k", "-1"), c("EXISTS", "k")]),
        Case("EXPIRE overflowing milliseconds", [c("SET", "k", "v"), c("EXPIRE", "k", "9223372036854775807")]),
        Case("PEXPIRE overflowing", [c("SET", "k", "v"), c("PEXPIRE", "k", "9223372036854775807")]),
        Case("EXPIREAT", [c("SET", "k", "v"), c("EXPIREAT", "k", FIXED_AT_S), c("EXPIRETIME", "k"), c("PEXPIRETIME", "k"), c("TTL", "k")]),
        # An absolute deadline must come back exactly: stored as a relative TTL, it drifts by
        # a millisecond now and then, so one case tries 20 keys.
        Case(
            "EXPIREAT / PEXPIREAT / SET PXAT read back exactly (20 keys)",
            [
                step
                for n in range(20)
                for step in (
                    c("SET", f"k{n}", "v", "PXAT", FIXED_AT_MS + n),
                    c("PEXPIRETIME", f"k{n}"),
                    c("EXPIREAT", f"k{n}", FIXED_AT_S + n),
                    c("PEXPIRETIME", f"k{n}"),
                    c("EXPIRETIME", f"k{n}"),
                )
            ],
        ),
        Case("EXPIREAT in the past deletes", [c("SET", "k", "v"), c("EXPIREAT", "k", "1"), c("EXISTS", "k")]),
        Case("PEXPIREAT", [c("SET", "k", "v"), c("PEXPIREAT", "k", FIXED_AT_MS), c("PEXPIRETIME", "k"), c("EXPIRETIME", "k")]),
        Case("EXPIREAT NX on a key with a TTL", [c("SET", "k", "v", "EX", "100"), c("EXPIREAT", "k", FIXED_AT_S, "NX")]),
        Case("EXPIREAT GT LT", [c("SET", "k", "v"), c("EXPIREAT", "k", FIXED_AT_S, "GT", "LT")]),
        Case("TTL / PTTL without a TTL and missing", [c("SET", "k", "v"), c("TTL", "k"), c("PTTL", "k"), c("TTL", "m"), c("PTTL", "m")]),
        Case("PERSIST", [c("SET", "k", "v", "EX", "100"), c("PERSIST", "k"), c("PERSIST", "k"), c("PERSIST", "m"), c("TTL", "k")]),
        Case("EXPIRETIME / PEXPIRETIME -1 and -2", [c("SET", "k", "v"), c("EXPIRETIME", "k"), c("PEXPIRETIME", "k"), c("EXPIRETIME", "m"), c("PEXPIRETIME", "m")]),
        Case("EXPIRETIME after EX", [c("SET", "k", "v", "EX", "100"), c("EXPIRETIME", "k"), c("PEXPIRETIME", "k")]),
        Case("a key expires", [c("SET", "k", "v", "PX", "50"), c("SET", "other", "v"), AwaitGone("k"), c("TTL", "k"), c("GET", "k"), c("DBSIZE")]),
        Case("PEXPIRE 1 expires", [c("SET", "k", "v"), c("PEXPIRE", "k", "1"), AwaitGone("k"), c("PTTL", "k"), c("EXPIRETIME", "k")]),
        Case("GETEX PX then expiry", [c("SET", "k", "v"), c("GETEX", "k", "PX", "30"), AwaitGone("k"), c("GETEX", "k")]),
        Case("an expired key counts as new for SET NX", [c("SET", "k", "v", "PX", "20"), AwaitGone("k"), c("SET", "k", "w", "NX"), c("GET", "k")]),
        Case("an expired counter restarts at 1", [c("SET", "n", "41", "PX", "20"), AwaitGone("n"), c("INCR", "n")]),
    ]  # fmt: skip


def keyspace_cases() -> list[Case]:
    twenty = [c("SET", f"key:{n}", n) for n in range(20)] + [c("SET", f"other:{n}", n) for n in range(5)]
    return [
        Case("DBSIZE", [c("DBSIZE"), c("MSET", "a", "1", "b", "2"), c("DBSIZE")]),
        Case("FLUSHALL", [c("SET", "a", "1"), c("FLUSHALL"), c("DBSIZE")]),
        Case("FLUSHALL ASYNC", [c("SET", "a", "1"), c("FLUSHALL", "ASYNC"), c("DBSIZE")]),
        Case("FLUSHALL SYNC", [c("SET", "a", "1"), c("FLUSHALL", "SYNC"), c("DBSIZE")]),
        Case("FLUSHALL with a bad mode", [c("FLUSHALL", "LATER")]),
        Case("FLUSHDB", [c("SET", "a", "1"), c("FLUSHDB"), c("DBSIZE")]),
        Case("FLUSHDB ASYNC", [c("SET", "a", "1"), c("flushdb", "async"), c("DBSIZE")]),
        Case("FLUSHDB SYNC", [c("SET", "a", "1"), c("FLUSHDB", "SYNC"), c("GET", "a")]),
        Case("SCAN an empty keyspace", [ScanAll([])]),
        Case("SCAN everything", [ScanAll([])], setup=twenty),
        Case("SCAN MATCH", [ScanAll(["MATCH", "key:1*"])], setup=twenty),
        Case("SCAN MATCH COUNT", [ScanAll(["MATCH", "other:*", "COUNT", "3"])], setup=twenty),
        Case("SCAN COUNT 1", [ScanAll(["COUNT", "1"])], setup=twenty),
        Case("SCAN TYPE string", [ScanAll(["TYPE", "string"])], setup=twenty),
        Case("SCAN TYPE hash finds nothing", [ScanAll(["TYPE", "hash"])], setup=twenty),
        Case("SCAN MATCH with a character class", [ScanAll(["MATCH", "key:[12]"])], setup=twenty),
        Case("SCAN an invalid cursor", [c("SCAN", "abc")]),
        Case("SCAN COUNT 0", [c("SCAN", "0", "COUNT", "0")]),
        Case("SCAN COUNT abc", [c("SCAN", "0", "COUNT", "abc")]),
        Case("SCAN with an unknown option", [c("SCAN", "0", "FOO")]),
        Case("SCAN MATCH without a pattern", [c("SCAN", "0", "MATCH")]),
    ]  # fmt: skip


def error_cases() -> list[Case]:
    return [
        Case("unknown command with arguments", [c("FOO", "a", "b")]),
        Case("unknown command without arguments", [c("foo")]),
        Case("unknown command keeps its case", [c("FooBar", "x")]),
        Case(
            "unknown command with long arguments",
            [c("NOPE", *[b"%d" % n * 50 for n in range(5)])],
        ),
        Case("unknown command with a long name", [c("X" * 200)]),
        Case("unknown command with CRLF in an argument", [c("NOPE", "a\r\nb")]),
        Case("unknown command with an empty name", [c("")]),
        Case(
            "the connection survives errors",
            [c("FOO"), c("GET"), c("SET", "k", "v", "NX", "XX"), c("PING")],
        ),
    ]


def inline_cases() -> list[Case]:
    return [
        Case("inline PING", [Raw(b"PING\r\n", 1)]),
        Case("inline ping in lower case with spaces", [Raw(b"  ping  \r\n", 1)]),
        Case("inline PING ended by LF only", [Raw(b"PING\n", 1)]),
        Case("inline SET then GET", [Raw(b"SET a b\r\n", 1), c("GET", "a")]),
        Case("inline quoted arguments", [Raw(b"SET \"a b\" 'c'\r\n", 1), c("GET", "a b")]),
        Case(
            "inline escapes in double quotes",
            [Raw(b'SET k "x\\x41\\n\\"y"\r\n', 1), c("GET", "k")],
        ),
        Case(
            "inline empty line after a command is ignored", [Raw(b"PING\r\n", 1), Raw(b"\r\n", 0), Raw(b"PING\r\n", 1)]
        ),
        Case("inline pipeline", [Raw(b"SET a 1\r\nINCR a\r\nGET a\r\n", 3)]),
        Case("inline unknown command", [Raw(b"NOPE x y\r\n", 1)]),
        Case("inline unbalanced double quote", [Raw(b'SET "a b\r\n', 1), EOF]),
        Case("inline unbalanced single quote", [Raw(b"SET 'a b\r\n", 1), EOF]),
        Case(
            "inline closing quote not followed by a space",
            [Raw(b'SET "a"b c\r\n', 1), EOF],
        ),
        Case("a first byte '$' is an inline command named '$4'", [Raw(b"$4\r\nPING\r\n", 2)]),
        Case("a first byte ':' is an inline command too", [Raw(b":1\r\n", 1), c("PING")]),
        Case(
            "multibulk then inline on one connection",
            [c("SET", "a", "1"), Raw(b"GET a\r\n", 1)],
        ),
        Case("empty multibulk *0 is ignored", [Raw(b"*0\r\n", 0), c("PING")]),
        Case(
            "negative multibulk *-10 is ignored (Redis protocol.tcl)",
            [Raw(b"*-10\r\n", 0), c("PING")],
        ),
    ]


def transaction_cases() -> list[Case]:
    """MULTI/EXEC: outside the first command list, but redis-py's pipeline() sends them at
    its default (transaction=True), so a Redis client at its defaults needs them."""
    return [
        Case("MULTI / EXEC", [c("MULTI"), c("SET", "k", "v"), c("INCR", "n"), c("GET", "k"), c("EXEC"), c("GET", "k")]),
        Case("MULTI / DISCARD", [c("MULTI"), c("SET", "k", "v"), c("DISCARD"), c("GET", "k")]),
        Case("EXEC without MULTI", [c("EXEC")]),
        Case("DISCARD without MULTI", [c("DISCARD")]),
        Case("MULTI nested", [c("MULTI"), c("MULTI"), c("EXEC")]),
        Case("a runtime error inside MULTI", [c("SET", "s", "abc"), c("MULTI"), c("INCR", "s"), c("SET", "t", "1"), c("EXEC"), c("GET", "t")]),
        Case("a syntax error inside MULTI aborts EXEC", [c("MULTI"), c("SET", "k"), c("SET", "t", "1"), c("EXEC"), c("GET", "t")]),
        Case("an unknown command inside MULTI aborts EXEC", [c("MULTI"), c("NOPE"), c("EXEC")]),
        Case("WATCH / UNWATCH then EXEC", [c("WATCH", "k"), c("UNWATCH"), c("MULTI"), c("PING"), c("EXEC")]),
        Case("WATCH inside MULTI", [c("MULTI"), c("WATCH", "k"), c("EXEC")]),
        Case("an empty MULTI / EXEC", [c("MULTI"), c("EXEC")]),
        Case("WATCH: another client's SET aborts EXEC", [c("SET", "k", "1"), c("WATCH", "k"), Other(["SET", "k", "2"]), c("MULTI"), c("GET", "k"), c("EXEC"), c("GET", "k")]),
        Case("WATCH of a missing key: another client creates it", [c("WATCH", "k"), Other(["SET", "k", "1"]), c("MULTI"), c("PING"), c("EXEC")]),
        # docs/resp.md: Blink's WATCH aborts EXEC when any entry changed (never a false commit).
        Case(
            "WATCH: a write to another key (Redis runs EXEC; Blink aborts)",
            [c("WATCH", "k"), Other(["SET", "j", "1"]), c("MULTI"), c("INCR", "n"), c("EXEC")],
            blink_expect=[b"+OK\r\n", b"+OK\r\n", b"+OK\r\n", b"+QUEUED\r\n", b"*-1\r\n"],
            blink_expect3=[b"+OK\r\n", b"+OK\r\n", b"+OK\r\n", b"+QUEUED\r\n", b"_\r\n"],
        ),
        Case("WATCH: this client's own write inside MULTI", [c("WATCH", "k"), c("MULTI"), c("SET", "k", "1"), c("EXEC"), c("GET", "k")]),
        Case("WATCH: this client's own write before MULTI aborts", [c("WATCH", "k"), c("SET", "k", "1"), c("MULTI"), c("PING"), c("EXEC")]),
        Case("UNWATCH forgets the watch", [c("WATCH", "k"), c("UNWATCH"), Other(["SET", "k", "2"]), c("MULTI"), c("PING"), c("EXEC")]),
        Case("WATCH: another client's DEL aborts", [c("SET", "k", "1"), c("WATCH", "k"), Other(["DEL", "k"]), c("MULTI"), c("PING"), c("EXEC")]),
        Case("WATCH: another client's FLUSHALL aborts", [c("SET", "k", "1"), c("WATCH", "k"), Other(["FLUSHALL"]), c("MULTI"), c("PING"), c("EXEC")]),
        Case("WATCH: EXEC clears the watch", [c("WATCH", "k"), c("MULTI"), c("EXEC"), Other(["SET", "k", "2"]), c("MULTI"), c("PING"), c("EXEC")]),
    ]  # fmt: skip


def pipeline_cases() -> list[Case]:
    commands: list[list[Arg]] = []
    for n in range(20):
        commands += [
            c("SET", f"p{n}", f"v{n}"),
            c("GET", f"p{n}"),
            c("INCR", "counter"),
            c("EXISTS", f"p{n}", f"p{n + 1}"),
            c("DEL", f"p{n - 1}") if n % 2 else c("NOPE", n),
        ]
    assert len(commands) == 100
    data = b"".join(encode(cmd) for cmd in commands)
    return [
        Case(
            "a pipeline of 100 mixed commands in one write",
            [Raw(data, 100), c("DBSIZE")],
        )
    ]


def auth_cases(token: str) -> list[Case]:
    cases = [
        Case("before AUTH: GET is NOAUTH", [c("GET", "k")]),
        Case("before AUTH: SET is NOAUTH", [c("SET", "k", "v")]),
        Case("before AUTH: PING", [c("PING")]),
        Case("before AUTH: an unknown command", [c("NOPE", "x")]),
        Case("before AUTH: wrong arity", [c("GET")]),
        Case("before AUTH: HELLO 3 without AUTH", [c("HELLO", "3")]),
        Case("before AUTH: QUIT", [c("QUIT"), EOF]),
        Case("AUTH token", [c("AUTH", token), c("GET", "k"), c("SET", "k", "v"), c("GET", "k")]),
        Case("AUTH default token", [c("AUTH", "default", token), c("GET", "k")]),
        Case("AUTH with a wrong token", [c("AUTH", "wrong"), c("GET", "k"), c("AUTH", token), c("GET", "k")], blink_expect=[WRONGPASS, b"<EOF>"]),
        Case("AUTH default with a wrong token", [c("AUTH", "default", "wrong"), c("GET", "k")], blink_expect=[WRONGPASS, b"<EOF>"]),
        Case("AUTH with an unknown user", [c("AUTH", "someone", token)]),
        Case("AUTH with an empty token", [c("AUTH", "")]),
        Case("AUTH twice", [c("AUTH", token), c("AUTH", token), c("PING")]),
        Case("a wrong AUTH after a right one", [c("AUTH", token), c("AUTH", "wrong"), c("GET", "k")], blink_expect=[b"+OK\r\n", WRONGPASS, b"<EOF>"]),
        Case("HELLO 3 AUTH default token", [c("HELLO", "3", "AUTH", "default", token), c("GET", "k")]),
        Case("HELLO 2 AUTH default token", [c("HELLO", "2", "AUTH", "default", token), c("GET", "k")]),
        Case("HELLO 3 AUTH with a wrong token", [c("HELLO", "3", "AUTH", "default", "wrong"), c("GET", "k")], blink_expect=[WRONGPASS, b"<EOF>"]),
        Case("HELLO 3 AUTH SETNAME", [c("HELLO", "3", "AUTH", "default", token, "SETNAME", "n1"), c("CLIENT", "GETNAME")]),
        Case("RESET ends the authentication", [c("AUTH", token), c("RESET"), c("GET", "k")]),
        Case("inline AUTH", [Raw(f"AUTH {token}\r\n".encode(), 1), c("GET", "k")]),
    ]  # fmt: skip
    for case in cases:
        case.section = "auth"
        case.resp3 = False
    return cases


def redis72_cases() -> list[Case]:
    """CLIENT SETINFO (Redis 7.2): absent from the 7.0.15 reference; replies per 7.2's source."""
    arity = b"-ERR wrong number of arguments for 'client|setinfo' command\r\n"
    cases = [
        Case(
            "CLIENT SETINFO lib-name",
            [c("CLIENT", "SETINFO", "lib-name", "redis-py")],
            expect=[b"+OK\r\n"],
        ),
        Case(
            "CLIENT SETINFO lib-ver",
            [c("CLIENT", "SETINFO", "lib-ver", "5.0.1")],
            expect=[b"+OK\r\n"],
        ),
        Case(
            "CLIENT SETINFO LIB-NAME upper case",
            [c("client", "setinfo", "LIB-NAME", "x_v1")],
            expect=[b"+OK\r\n"],
        ),
        Case(
            "CLIENT SETINFO an unknown attribute",
            [c("CLIENT", "SETINFO", "lib-colour", "x")],
            expect=[b"-ERR Unrecognized option 'lib-colour'\r\n"],
        ),
        Case(
            "CLIENT SETINFO a value with a space",
            [c("CLIENT", "SETINFO", "lib-name", "a b")],
            expect=[b"-ERR lib-name cannot contain spaces, newlines or special characters.\r\n"],
        ),
        Case(
            "CLIENT SETINFO without a value",
            [c("CLIENT", "SETINFO", "lib-name")],
            expect=[arity],
        ),
    ]
    for case in cases:
        case.section = "redis72"
    return cases


def blink_cases() -> list[Case]:
    """Blink's deliberate differences. MEMORY USAGE is the exact charge the memory cap
    counts (key + value + 57), where Redis reports its allocator's estimate."""

    def usage(key: bytes, value: bytes) -> Case:
        charge = len(key) + len(value) + ENTRY_OVERHEAD_BYTES
        return Case(
            f"MEMORY USAGE is key + value + 57 ({len(key)} + {len(value)})",
            [c("SET", key, value), c("MEMORY", "USAGE", key)],
            section="blink",
            expect=[b"+OK\r\n", b":%d\r\n" % charge],
            redis_same_types=True,
        )

    return [
        # Blink stores strings only: Redis's other data types are unknown commands.
        Case(
            "a command of another data type (LPUSH) is unknown",
            [c("LPUSH", "l", "a"), c("HSET", "h", "f", "v")],
            section="blink",
            expect=[
                b"-ERR unknown command 'LPUSH', with args beginning with: 'l' 'a' \r\n",
                b"-ERR unknown command 'HSET', with args beginning with: 'h' 'f' 'v' \r\n",
            ],
        ),
        # The binary protocol's key limit (--max-key-bytes, 1 024 by default); the
        # connection stays usable.
        Case(
            "a key over --max-key-bytes is refused, the connection kept",
            [c("SET", b"k" * 1025, "v"), c("SET", b"k" * 1024, "v"), c("PING")],
            section="blink",
            expect=[
                b"-ERR key exceeds the server's key size limit (--max-key-bytes)\r\n",
                b"+OK\r\n",
                b"+PONG\r\n",
            ],
        ),
        usage(b"k", b"v"),
        usage(b"key:0123456789", b"x" * 100),
        usage(b"", b""),
        usage(b"bin\x00\r\n", b"\x00" * 1000),
        Case(
            "MEMORY USAGE SAMPLES is accepted",
            [c("SET", "k", "vv"), c("MEMORY", "USAGE", "k", "SAMPLES", "0")],
            section="blink",
            expect=[b"+OK\r\n", b":%d\r\n" % (1 + 2 + ENTRY_OVERHEAD_BYTES)],
            redis_same_types=True,
        ),
    ]


#: The small Blink test.sh starts for cap_cases: --memory-limit 1MiB.
SMALL_CAP_BYTES = 1 << 20


def cap_cases() -> list[Case]:
    """Blink at its memory cap (a server started with --memory-limit 1MiB): where Redis
    (maxmemory 0, or noeviction) would grow or refuse with -OOM, Blink evicts least
    recently used keys so that the charged bytes stay within the cap, every SET succeeds,
    and the count is exact: cap // (key + value + 57) items stay."""
    value = b"v" * 20000
    keys = [b"e:%03d" % n for n in range(100)]
    charge = len(keys[0]) + len(value) + ENTRY_OVERHEAD_BYTES
    kept = SMALL_CAP_BYTES // charge
    sets = b"".join(encode(["SET", key, value]) for key in keys)
    return [
        Case(
            f"100 SETs of {charge} charged bytes into a 1 MiB cap: {kept} stay, LRU order",
            [
                Raw(sets, len(keys)),
                c("DBSIZE"),
                c("EXISTS", keys[0], keys[100 - kept - 1]),
                c("EXISTS", *keys[100 - kept :]),
                c("MEMORY", "USAGE", keys[-1]),
                c("CONFIG", "GET", "maxmemory"),
            ],
            section="blink-cap",
            resp3=False,
            expect=[
                *[b"+OK\r\n"] * len(keys),
                b":%d\r\n" % kept,
                b":0\r\n",
                b":%d\r\n" % kept,
                b":%d\r\n" % charge,
                b"*2\r\n$9\r\nmaxmemory\r\n$7\r\n%d\r\n" % SMALL_CAP_BYTES,
            ],
        ),
        Case(
            "a read refreshes a key: it outlives later writes that evict its neighbours",
            [
                Raw(b"".join(encode(["SET", key, value]) for key in keys[:50]), 50),
                c("GET", keys[0]),
                Raw(b"".join(encode(["SET", key, value]) for key in keys[50:]), 50),
                c("EXISTS", keys[0], keys[1]),
            ],
            section="blink-cap",
            resp3=False,
            expect=[*[b"+OK\r\n"] * 50, b"$20000\r\n" + value + b"\r\n", *[b"+OK\r\n"] * 50, b":1\r\n"],
        ),
    ]


def all_cases() -> list[Case]:
    return [
        *connection_cases(),
        *string_cases(),
        *expiry_cases(),
        *keyspace_cases(),
        *error_cases(),
        *inline_cases(),
        *pipeline_cases(),
        *transaction_cases(),
        *arity_cases(),
        *redis72_cases(),
        *blink_cases(),
    ]


# ---------------------------------------------------------------------------------------


def check_expected(tally: Tally, expect: list[bytes], label: str, observed: list[Observation], skip: int) -> None:
    got = [o.raw for o in observed[skip:]]
    ok = got == expect
    detail = ""
    if not ok:
        lines = []
        for index in range(max(len(got), len(expect))):
            want = expect[index] if index < len(expect) else None
            have = got[index] if index < len(got) else None
            mark = "  " if want == have else "!!"
            step = observed[skip + index].label if skip + index < len(observed) else "?"
            lines.append(f"{mark} step {index + 1}: {step}")
            if want != have:
                lines.append(f"     expected: {esc(want) if want is not None else '(nothing)'}")
                lines.append(f"       actual: {esc(have) if have is not None else '(nothing)'}")
        detail = "\n".join(lines)
    tally.check(label, ok, detail)


#: The reference this table's texts were taken from (the file header).
REFERENCE_VERSION = b"7.0.15"


def main() -> int:
    tally = Tally("differential")
    kind = target_kind()
    probe = open_reader(env("RESP_REF_TCP"))
    version = re.search(rb"redis_version:(\S+)", probe.command("INFO", "server")[0])
    probe.close()
    if version is None or version[1] != REFERENCE_VERSION:
        print(
            f"NOTE: the reference is redis {version[1] if version else '?'!r}, the table was written "
            f"against {REFERENCE_VERSION!r}: error texts may have changed"
        )
    token = env("RESP_AUTH_TOKEN")
    servers = {
        "plain": (env("RESP_REF_TCP"), env("RESP_TGT_TCP"), None),
        "auth": (env("RESP_REF_AUTH_TCP"), env("RESP_TGT_AUTH_TCP"), token),
    }
    if kind == "blink":
        servers["small"] = (env("RESP_REF_TCP"), env("RESP_TGT_SMALL_TCP"), None)
    unix = {env("RESP_REF_TCP"): env("RESP_REF_UNIX"), env("RESP_TGT_TCP"): env("RESP_TGT_UNIX")}
    admins = {name: (Admin(ref, tok), Admin(tgt, tok)) for name, (ref, tgt, tok) in servers.items()}
    only = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RESP_FILTER", "")
    cases = [*all_cases(), *auth_cases(token), *cap_cases()]
    not_run = 0
    for case in cases:
        if only and only not in case.name:
            continue
        if case.section in ("redis72", "blink", "blink-cap") and kind != "blink":
            not_run += 2 if case.resp3 else 1
            continue
        pair = {"auth": "auth", "blink-cap": "small"}.get(case.section, "plain")
        # Core cases run over TCP in RESP2 and RESP3, then over the Unix socket in RESP2.
        runs = [("tcp", proto) for proto in ((2, 3) if case.resp3 else (2,))]
        if case.section == "core":
            runs.append(("unix", 2))
        for transport, proto in runs:
            ref, tgt, _ = servers[pair]
            if transport == "unix":
                ref, tgt = unix[ref], unix[tgt]
            prefix: list[Step] = [c("HELLO", "3")] if proto == 3 else []
            label = f"[{case.section}] RESP{proto}{'/unix' if transport == 'unix' else ''} {case.name}"
            for admin in admins[pair]:
                admin.run("FLUSHALL")
                for setup in case.setup:
                    admin.run(*setup)
            tgt_obs = run_steps(tgt, case.steps, prefix)
            if kind == "blink" and case.blink_expect is not None:
                expect = case.blink_expect3 if proto == 3 and case.blink_expect3 else case.blink_expect
                check_expected(tally, expect, label + " (Blink differs on purpose)", tgt_obs, len(prefix))
                continue
            if case.expect is not None:
                if case.redis_same_types:
                    # Redis gives a reply of the same type (its own estimate for MEMORY USAGE).
                    for admin in admins[pair][:1]:
                        admin.run("FLUSHALL")
                    ref_obs = run_steps(ref, case.steps, prefix)
                    types = [o.raw[:1] for o in ref_obs[len(prefix) :]]
                    want = [e[:1] for e in case.expect]
                    if types != want:
                        tally.check(
                            label + " (Redis reply types)",
                            False,
                            f"redis: {[esc(o.raw) for o in ref_obs]}",
                        )
                        continue
                expect = case.expect3 if proto == 3 and case.expect3 else case.expect
                check_expected(tally, expect, label, tgt_obs, len(prefix))
                continue
            ref_obs = run_steps(ref, case.steps, prefix)
            same = [o.norm for o in ref_obs] == [o.norm for o in tgt_obs]
            tally.check(
                label,
                same,
                "" if same else diff_text(ref_obs, tgt_obs, ("redis", kind)),
            )
    if not_run:
        print(f"not run against {kind} (Blink-only sections): {not_run} checks, not counted")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
