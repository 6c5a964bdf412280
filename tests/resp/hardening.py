"""RELIABILITY I1-I3: protocol attacks and awkward first reads over RESP, plus the Blink
binary protocol on the same port.

Each attack is a list of writes (sent separately, with an optional pause between them),
the exact bytes the server must answer, and what must follow: `close` (EOF right after
those bytes, nothing more) or a follow-up request and its exact reply (the connection
stayed usable).

`where` says which servers are attacked:
  both   the behaviour is Redis's (reference: Debian's redis-server 7.0.15); checked on the
         reference redis-server and on the target, so the expectation itself is proven
  blink  Blink's own bound or protocol where Redis differs (each says how); target only,
         not run (and not counted) with RESP_TARGET=redis
`auth` attacks run on the pair started with a password / token.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from dataclasses import dataclass, field

from harness import Closed, Reader, Tally, TimedOut, encode, env, esc, open_reader, target_kind

#: Pause between the writes of a "slow" attack: long enough that the server has read the
#: earlier bytes on their own, and during which it must send nothing.
SLOW_GAP_S = 0.3
#: Blink's largest argument by default (--max-value-bytes, 1 MiB) and its pre-auth request
#: bound (SPEC §11: 4 096 bytes before AUTH).
BLINK_MAX_BULK_BYTES = 1024 * 1024
BLINK_PRE_AUTH_BYTES = 4096
#: Redis's bounds for a client that has not authenticated (networking.c, since 6.2.6,
#: CVE-2021-32675): at most 10 arguments and 16 KiB per argument.
REDIS_PRE_AUTH_ARGS = 10
REDIS_PRE_AUTH_BULK_BYTES = 16384
#: Redis's PROTO_INLINE_MAX_SIZE: longest inline request or `*`/`$` header line.
INLINE_MAX_BYTES = 64 * 1024

PING = encode(["PING"])
PONG = b"+PONG\r\n"
NOAUTH = b"-NOAUTH Authentication required.\r\n"
BLINK_PING = b"\x00\x00\x00\x01\x01"
BLINK_PONG = b"\x00\x00\x00\x01\x00"


def protocol_error(text: str) -> bytes:
    return f"-ERR Protocol error: {text}\r\n".encode()


@dataclass
class Attack:
    name: str
    writes: list[bytes]
    expect: bytes
    #: None: the server must close right after `expect`; else (request, exact reply).
    then: tuple[bytes, bytes] | None = None
    where: str = "both"
    auth: bool = False
    gap_s: float = 0.0
    #: Afterwards, on a fresh connection: (request, exact reply), e.g. that nothing after
    #: the offending bytes was executed.
    afterwards: tuple[bytes, bytes] | None = None
    #: Blink-only: run on the server started with --frame-timeout-ms 500 --idle-timeout-ms 1000.
    timeouts: bool = False
    #: Against Blink, the connection closes right after `expect` instead of `then`
    #: (docs/resp.md: a wrong token costs the connection, as on the binary protocol).
    blink_closes: bool = False
    #: Other answers that are as good as `expect` (where Redis's own answer depends on timing).
    alternatives: list[bytes] = field(default_factory=list)


def attacks(token: str) -> list[Attack]:
    big_bulk = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n"
    return [
        # I1: lengths, decided from the header; the body is never sent.
        Attack("multibulk length not a number", [b"*abc\r\n"], protocol_error("invalid multibulk length")),
        Attack("multibulk length above INT_MAX", [b"*3000000000\r\n"], protocol_error("invalid multibulk length")),
        Attack("multibulk length overflowing i64", [b"*99999999999999999999\r\n"], protocol_error("invalid multibulk length")),
        Attack("multibulk length with a sign and junk", [b"*+1\r\n"], protocol_error("invalid multibulk length")),
        Attack("negative multibulk length is ignored", [b"*-10\r\n"], b"", then=(PING, PONG)),
        Attack("bulk length not a number", [b"*1\r\n$abc\r\n"], protocol_error("invalid bulk length")),
        Attack("negative bulk length", [b"*1\r\n$-5\r\n"], protocol_error("invalid bulk length")),
        Attack("bulk length above 512 MB", [b"*2\r\n$3\r\nGET\r\n$600000000\r\n"], protocol_error("invalid bulk length")),
        Attack("'$' expected, got 'x'", [b"*1\r\nx\r\n"], protocol_error("expected '$', got 'x'")),
        Attack("'$' expected, got ':'", [b"*2\r\n$3\r\nGET\r\n:1\r\n"], protocol_error("expected '$', got ':'")),
        Attack("inline unbalanced quotes", [b'SET "a b\r\n'], protocol_error("unbalanced quotes in request")),
        Attack("inline request of 70 000 bytes without a newline", [b"A" * 70000], protocol_error("too big inline request")),
        Attack("multibulk count line of 70 000 digits", [b"*" + b"1" * 70000], protocol_error("too big mbulk count string")),
        Attack("bulk length line of 70 000 digits", [b"*1\r\n$" + b"1" * 70000], protocol_error("too big bulk count string")),
        Attack(
            "replies before a protocol error arrive; nothing after it runs",
            [PING + b"*abc\r\n" + encode(["SET", "after-error", "1"])],
            PONG + protocol_error("invalid multibulk length"),
            afterwards=(encode(["EXISTS", "after-error"]), b":0\r\n"),
        ),
        # HTTP: Redis treats "POST" and "Host:" as an attack, logs it and closes, sending nothing.
        Attack("HTTP POST", [b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"], b""),
        Attack("a Host: line alone", [b"Host: localhost\r\n"], b""),
        # Redis answers GET's arity error, but the Host: line read with it frees the client
        # before that reply is written: nothing arrives. Sending the error first is as good.
        Attack(
            "HTTP GET with a Host: line closes",
            [b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"],
            b"",
            alternatives=[b"-ERR wrong number of arguments for 'get' command\r\n"],
        ),
        # I3: a first read that does not decide the protocol yet.
        Attack("'*' alone, the rest later", [b"*", b"1\r\n$4\r\nPING\r\n"], PONG, then=(PING, PONG), gap_s=SLOW_GAP_S),
        Attack("telnet typing PI, NG, CRLF slowly", [b"PI", b"NG", b"\r\n"], PONG, then=(PING, PONG), gap_s=SLOW_GAP_S),
        Attack("telnet typing a SET slowly", [b"S", b"ET k", b" v\r", b"\n"], b"+OK\r\n", then=(b"GET k\r\n", b"$1\r\nv\r\n"), gap_s=SLOW_GAP_S),
        Attack(
            "a bulk split across writes",
            [b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhel", b"lo\r\n"],
            b"+OK\r\n",
            then=(encode(["GET", "k"]), b"$5\r\nhello\r\n"),
            gap_s=SLOW_GAP_S,
        ),
        Attack("a request one byte at a time", [bytes([b]) for b in encode(["ECHO", "hi"])], b"$2\r\nhi\r\n", then=(PING, PONG), gap_s=0.02),
        # I2: before AUTH.
        Attack("before AUTH: a command is NOAUTH, the connection stays", [encode(["GET", "k"])], NOAUTH, then=(PING, NOAUTH), auth=True),
        Attack(
            f"before AUTH: {REDIS_PRE_AUTH_ARGS + 1} arguments",
            [b"*%d\r\n" % (REDIS_PRE_AUTH_ARGS + 1)],
            protocol_error("unauthenticated multibulk length"),
            auth=True,
        ),
        Attack(
            "before AUTH: a million arguments",
            [b"*1000000\r\n"],
            protocol_error("unauthenticated multibulk length"),
            auth=True,
        ),
        Attack(
            "before AUTH: a multibulk length above INT_MAX is invalid before unauthenticated",
            [b"*3000000000\r\n"],
            protocol_error("invalid multibulk length"),
            auth=True,
        ),
        Attack(
            "before AUTH: a 16 KiB + 1 bulk inside an AUTH of 2 arguments",
            [b"*3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$16385\r\n"],
            protocol_error("unauthenticated bulk length"),
            auth=True,
        ),
        Attack(
            f"before AUTH: {REDIS_PRE_AUTH_ARGS} arguments are still parsed",
            [encode(["AUTH", *["x"] * (REDIS_PRE_AUTH_ARGS - 1)])],
            b"-ERR syntax error\r\n",
            then=(PING, NOAUTH),
            auth=True,
        ),
        Attack(
            f"before AUTH: a bulk of {REDIS_PRE_AUTH_BULK_BYTES + 1} bytes",
            [b"*2\r\n$4\r\nAUTH\r\n$%d\r\n" % (REDIS_PRE_AUTH_BULK_BYTES + 1)],
            protocol_error("unauthenticated bulk length"),
            auth=True,
        ),
        Attack(
            "before AUTH: a wrong token of 4 000 bytes is only wrong",
            [encode(["AUTH", b"x" * 4000])],
            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
            then=(PING, NOAUTH),
            auth=True,
            blink_closes=True,
        ),
        Attack(
            "after AUTH: a 100 KiB value is accepted",
            [encode(["AUTH", token]), encode(["SET", "k", b"v" * 102400])],
            b"+OK\r\n+OK\r\n",
            then=(encode(["STRLEN", "k"]), b":102400\r\n"),
            auth=True,
        ),
        # Blink's own: the binary protocol on the same port, and its tighter bounds.
        Attack("Blink PING frame on the RESP port", [BLINK_PING], BLINK_PONG, then=(BLINK_PING, BLINK_PONG), where="blink"),
        Attack("Blink PING frame split after its first byte", [BLINK_PING[:1], BLINK_PING[1:]], BLINK_PONG, then=(BLINK_PING, BLINK_PONG), where="blink", gap_s=SLOW_GAP_S),
        Attack(
            "'*' then NUL (Redis waits for a CR it never sees: its strchr stops at the NUL)",
            [b"*\x00\r\n"],
            protocol_error("invalid multibulk length"),
            where="blink",
        ),
        # Redis skips the two bytes after a bulk unread (here "xx", so PING runs); Blink
        # refuses a lost frame boundary rather than guess (docs/resp.md).
        Attack(
            "a bulk not followed by CRLF",
            [b"*1\r\n$4\r\nPINGxx"],
            protocol_error("expected '\\r\\n' after a bulk string"),
            where="blink",
        ),
        # Timeouts as on the binary protocol, their closing errors as -ERR lines (docs/resp.md);
        # Redis's `timeout` closes an idle client without a word, and has no frame timeout.
        Attack(
            "a request left incomplete past --frame-timeout-ms",
            [b"*1\r\n$4\r\nPI"],
            b"-ERR frame not completed in time\r\n",
            where="blink",
            timeouts=True,
        ),
        Attack(
            "a RESP connection idle past --idle-timeout-ms",
            [PING],
            PONG + b"-ERR idle too long\r\n",
            where="blink",
            timeouts=True,
        ),
        # SPEC §3.1: a first byte 0x00-0x10 is a Blink frame. CR (0x0D) and LF (0x0A) are in
        # that range, so a connection that opens with an empty inline line speaks Blink:
        # "\r\nPI" declares a frame of 0x0D0A5049 bytes, too large: refused and closed. Redis
        # skips the empty line; once a connection speaks RESP, Blink skips them too.
        Attack(
            "a connection opening with CRLF is decided as Blink (SPEC §3.1)",
            [b"\r\nPING\r\n"],
            b"\x00\x00\x00\x10\x82frame too large",
            where="blink",
        ),
        Attack(
            f"bulk length above Blink's limit ({BLINK_MAX_BULK_BYTES + 1}; Redis allows 512 MB)",
            [big_bulk % (BLINK_MAX_BULK_BYTES + 1)],
            protocol_error("invalid bulk length"),
            where="blink",
        ),
        Attack(
            "a value of exactly Blink's limit is stored and read back",
            [big_bulk % BLINK_MAX_BULK_BYTES + b"v" * BLINK_MAX_BULK_BYTES + b"\r\n"],
            b"+OK\r\n",
            then=(encode(["GET", "k"]), b"$%d\r\n%s\r\n" % (BLINK_MAX_BULK_BYTES, b"v" * BLINK_MAX_BULK_BYTES)),
            where="blink",
        ),
        Attack(
            "multibulk length above Blink's 1 048 576 arguments (Redis waits for them)",
            [b"*1048577\r\n"],
            protocol_error("invalid multibulk length"),
            where="blink",
        ),
        Attack(
            "a request whose arguments together pass Blink's request limit",
            [b"*5\r\n$4\r\nMSET\r\n$1\r\na\r\n$700000\r\n" + b"x" * 700000 + b"\r\n$1\r\nb\r\n$700000\r\n"],
            protocol_error("request exceeds the size limit"),
            where="blink",
        ),
        Attack(
            f"before AUTH: a bulk of {BLINK_PRE_AUTH_BYTES + 904} bytes (SPEC §11: 4 096; Redis allows 16 KiB)",
            [b"*2\r\n$4\r\nAUTH\r\n$%d\r\n" % (BLINK_PRE_AUTH_BYTES + 904)],
            protocol_error("unauthenticated bulk length"),
            where="blink",
            auth=True,
        ),
        Attack(
            "before AUTH: a Blink frame above 4 096 bytes (SPEC §11) is refused and closed",
            [b"\x00\x00\x20\x00\x11"],
            b"\x00\x00\x00\x10\x82frame too large",
            where="blink",
            auth=True,
        ),
    ]  # fmt: skip


def read_exactly(reader: Reader, count: int, timeout_s: float) -> tuple[bytes, str]:
    """Up to `count` bytes; the reason is "" when all arrived, else "EOF" or "timeout"."""
    deadline = time.monotonic() + timeout_s
    while len(reader.buf) < count:
        try:
            reader._fill(deadline)
        except Closed:
            return reader.buf, "EOF"
        except TimedOut:
            return reader.buf, "timeout"
    data, reader.buf = reader.buf[:count], reader.buf[count:]
    return data, ""


def run_attack(address: str, attack: Attack, token: str | None = None) -> str:
    """Returns "" when the server behaved, else a readable account of what it did."""
    problem = _attack(address, attack)
    if problem or attack.afterwards is None:
        return problem
    request, reply = attack.afterwards
    reader = open_reader(address)
    try:
        if token:
            reader.command("AUTH", token)
        reader.send(request)
        got, why = read_exactly(reader, len(reply), 5.0)
        if got != reply:
            return f"afterwards {esc(request)}: expected {esc(reply)}\n  actual {esc(got)}{' <' + why + '>' if why else ''}"
        return ""
    finally:
        reader.close()


def _attack(address: str, attack: Attack) -> str:
    """The writes and the answer on one connection (run_attack's first part)."""
    reader = open_reader(address)
    try:
        for index, chunk in enumerate(attack.writes):
            try:
                reader.send(chunk)
            except (BrokenPipeError, ConnectionResetError):
                return f"connection closed while sending write {index + 1}"
            if attack.gap_s and index < len(attack.writes) - 1:
                early = reader.quiet_for(attack.gap_s)
                if early:
                    return f"answered before the request was complete: {esc(early)}"
        want = attack.expect
        if attack.alternatives:
            rest = reader.wait_eof()
            if rest is None:
                return "the connection stayed open"
            if rest not in (want, *attack.alternatives):
                return f"expected {esc(want)} (or {' or '.join(map(esc, attack.alternatives))}) then EOF\n  actual {esc(rest)}"
            return ""
        got, why = read_exactly(reader, len(want), 5.0)
        if got != want:
            if not why:  # show the rest of what was sent, up to EOF or a short pause
                rest = reader.wait_eof(0.5)
                got, why = got + (reader.buf if rest is None else rest), "" if rest is None else "EOF"
            return f"expected {esc(want)}\n  actual {esc(got)}{' <' + why + '>' if why else ''}"
        if attack.then is None:
            rest = reader.wait_eof()
            if rest is None:
                return f"after {esc(want)} the connection stayed open"
            if rest:
                return f"after {esc(want)} extra bytes before EOF: {esc(rest)}"
            return ""
        request, reply = attack.then
        try:
            reader.send(request)
        except (BrokenPipeError, ConnectionResetError):
            return "closed; the connection should have stayed open"
        got, why = read_exactly(reader, len(reply), 5.0)
        if got != reply:
            return (
                f"follow-up {esc(request)}: expected {esc(reply)}\n  actual {esc(got)}{' <' + why + '>' if why else ''}"
            )
        return ""
    finally:
        reader.close()


#: Connections that each declare a bulk of BLINK_MAX_BULK_BYTES and never send it, and
#: how much the server's RSS may grow meanwhile: buffers grow with bytes received, never
#: with a declared length (RELIABILITY I1, Redis CVE-2021-32675).
DECLARED_CONNECTIONS = 64
DECLARED_RSS_GROWTH_MAX_BYTES = 16 * 1024 * 1024


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def declared_lengths_allocate_nothing(address: str, pid: int) -> str:
    """Returns "" when RSS stays flat while many connections declare bulks they never send."""
    before = rss_bytes(pid)
    readers = [open_reader(address) for _ in range(DECLARED_CONNECTIONS)]
    try:
        for reader in readers:
            reader.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\nabc" % BLINK_MAX_BULK_BYTES)
        # A bystander's round trip: the loop has had turns to read every header by now.
        started = time.monotonic()
        bystander = open_reader(address)
        got = bystander.command("PING")[0]
        bystander.close()
        rtt_s = time.monotonic() - started
        grown = rss_bytes(pid) - before
        if got != PONG or rtt_s > BYSTANDER_RTT_MAX_S:
            return f"bystander PING got {esc(got)} in {rtt_s:.3f} s"
        if grown > DECLARED_RSS_GROWTH_MAX_BYTES:
            return f"RSS grew {grown} bytes for {DECLARED_CONNECTIONS} declared {BLINK_MAX_BULK_BYTES}-byte bulks"
        print(f"    RSS grew {grown} bytes for {DECLARED_CONNECTIONS} declared bulks of {BLINK_MAX_BULK_BYTES} bytes")
        return ""
    finally:
        for reader in readers:
            reader.close()


#: The slow reader: GETs of a big value sent and never read, for longer than the output
#: timeout (500 ms on the short-timeouts Blink).
SLOW_READER_GETS = 200
SLOW_READER_VALUE_BYTES = 100 * 1024
SLOW_READER_PAUSE_S = 2.0
#: A bystander's round trip during the attacks must stay below this.
BYSTANDER_RTT_MAX_S = 0.2


def slow_reader_is_closed(address: str) -> str:
    """Returns "" when a client that stops reading is closed (Blink's output timeout; Redis
    would buffer without bound) while a bystander is served promptly."""
    setup = open_reader(address)
    setup.command("SET", "big", b"v" * SLOW_READER_VALUE_BYTES)
    setup.close()
    slow = open_reader(address)
    try:
        slow.send(encode(["GET", "big"]) * SLOW_READER_GETS)
        # The stimulus is the absence of reads: a deliberate pause past the output timeout.
        time.sleep(SLOW_READER_PAUSE_S)
        started = time.monotonic()
        bystander = open_reader(address)
        pong = bystander.command("PING")[0]
        bystander.close()
        rtt_s = time.monotonic() - started
        received = slow.wait_eof(10.0)
        total = SLOW_READER_GETS * (SLOW_READER_VALUE_BYTES + 12)
        if pong != PONG or rtt_s > BYSTANDER_RTT_MAX_S:
            return f"bystander PING: {esc(pong)} in {rtt_s:.3f} s"
        if received is None:
            return "the connection that stopped reading stayed open"
        if len(received) >= total:
            return f"all {len(received)} reply bytes were kept for a client that did not read"
        print(f"    closed after {len(received)} of {total} reply bytes; bystander PING {rtt_s * 1000:.1f} ms")
        return ""
    finally:
        slow.close()


def main() -> int:
    tally = Tally("hardening")
    kind = target_kind()
    token = env("RESP_AUTH_TOKEN")
    plain = {"redis": env("RESP_REF_TCP"), "target": env("RESP_TGT_TCP"), "target-unix": env("RESP_TGT_UNIX")}
    auth = {"redis": env("RESP_REF_AUTH_TCP"), "target": env("RESP_TGT_AUTH_TCP")}
    only = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RESP_FILTER", "")
    not_run = 0
    for attack in attacks(token):
        if only and only not in attack.name:
            continue
        servers = auth if attack.auth else plain
        if attack.timeouts:
            servers = {"target": env("RESP_TGT_TIMEOUTS_TCP")} if kind == "blink" else {}
        if attack.where == "blink" and kind != "blink":
            not_run += 1
            continue
        names = ["target"] if attack.where == "blink" else ["redis", "target"]
        if not attack.auth and attack.name.startswith(("'*' alone", "telnet typing PI", "Blink PING frame on")):
            names.append("target-unix")
        for name in names:
            shown = name.replace("target", "blink" if kind == "blink" else "target redis")
            if attack.blink_closes and name != "redis" and kind == "blink":
                attack = dataclasses.replace(attack, then=None)
            try:
                problem = run_attack(servers[name], attack, token if attack.auth else None)
            except OSError as error:
                problem = f"connection error: {error!r}"
            tally.check(f"[{attack.where}] {shown}: {attack.name}", not problem, problem)
    name = f"[blink] {kind}: a client that stops reading is closed (--output-timeout-ms), a bystander is not"
    if only and only not in name:
        pass
    elif kind != "blink":
        not_run += 1
    else:
        problem = slow_reader_is_closed(env("RESP_TGT_TIMEOUTS_TCP"))
        tally.check(name, not problem, problem)
    name = f"[blink] {kind}: {DECLARED_CONNECTIONS} connections declaring 1 MiB bulks allocate nothing"
    if only and only not in name:
        pass
    elif kind != "blink":
        not_run += 1
    else:
        problem = declared_lengths_allocate_nothing(plain["target"], int(env("RESP_TGT_PID")))
        tally.check(name, not problem, problem)
    if not_run:
        print(f"not run against {kind} (Blink-only attacks): {not_run}, not counted")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
