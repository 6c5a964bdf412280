"""redis-py (latest from PyPI, default settings) against the target over TCP and the Unix
socket: every command of the differential table through its API, pipelines without
transactions, a seeded mixed workload checked against a dict model, RESP3 (protocol=3),
and password authentication.
"""

from __future__ import annotations

import random
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import redis

from harness import Tally, env, target_kind

#: Operations in the mixed workload, and the keys it draws from (few, so they collide).
WORKLOAD_OPS = 3000
WORKLOAD_KEYS = 50
FIXED_AT_S = 2_000_000_000


def client(address: str, **options: object) -> redis.Redis:
    kind, _, rest = address.partition(":")
    if kind == "unix":
        return redis.Redis(unix_socket_path=rest, **options)  # type: ignore[arg-type]
    host, _, port = rest.rpartition(":")
    return redis.Redis(host=host, port=int(port), **options)  # type: ignore[arg-type]


def eq(actual: object, expected: object, what: str) -> None:
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def raises(call: Callable[[], object], text: str, what: str) -> None:
    try:
        result = call()
    except redis.ResponseError as error:
        eq(str(error), text, what)
        return
    raise AssertionError(f"{what}: expected the error {text!r}, got {result!r}")


def strings(r: redis.Redis) -> None:
    r.flushall()
    eq(r.ping(), True, "PING")
    eq(r.echo("a\r\nb"), b"a\r\nb", "ECHO")
    eq(r.set("k", "v"), True, "SET")
    eq(r.get("k"), b"v", "GET")
    eq(r.get("missing"), None, "GET missing")
    eq(r.set("k", "w", nx=True), None, "SET NX on an existing key")
    eq(r.set("new", "w", xx=True), None, "SET XX on a missing key")
    eq(r.set("k", "x", xx=True, get=True), b"v", "SET XX GET")
    eq(r.set("e", "v", ex=100), True, "SET EX")
    assert 95 <= r.ttl("e") <= 100, "TTL after EX"
    eq(r.set("e", "v2", keepttl=True), True, "SET KEEPTTL")
    assert 95 <= r.ttl("e") <= 100, "TTL after KEEPTTL"
    eq(r.set("p", "v", px=100000), True, "SET PX")
    assert 95000 <= r.pttl("p") <= 100000, "PTTL after PX"
    eq(r.set("a", "v", exat=FIXED_AT_S), True, "SET EXAT")
    eq(r.expiretime("a"), FIXED_AT_S, "EXPIRETIME")
    eq(r.set("a", "v", pxat=FIXED_AT_S * 1000), True, "SET PXAT")
    eq(r.pexpiretime("a"), FIXED_AT_S * 1000, "PEXPIRETIME")
    raises(lambda: r.set("k", "v", ex=0), "invalid expire time in 'set' command", "SET EX 0")
    eq(r.setnx("nx", "1"), True, "SETNX new")
    eq(r.setnx("nx", "2"), False, "SETNX existing")
    eq(r.setex("sx", 100, "v"), True, "SETEX")
    eq(r.psetex("psx", 100000, "v"), True, "PSETEX")
    eq(r.getdel("sx"), b"v", "GETDEL")
    eq(r.getdel("sx"), None, "GETDEL again")
    eq(r.getex("psx", persist=True), b"v", "GETEX PERSIST")
    eq(r.ttl("psx"), -1, "TTL after PERSIST")
    eq(r.getex("psx", ex=100), b"v", "GETEX EX")
    eq(r.getex("psx", px=100000), b"v", "GETEX PX")
    eq(r.getex("psx", exat=FIXED_AT_S), b"v", "GETEX EXAT")
    eq(r.getex("psx", pxat=FIXED_AT_S * 1000), b"v", "GETEX PXAT")
    eq(r.mset({"m1": "1", "m2": "2"}), True, "MSET")
    eq(r.mget("m1", "m2", "m3"), [b"1", b"2", None], "MGET")
    eq(r.msetnx({"m1": "x", "m9": "9"}), False, "MSETNX")
    eq(r.exists("m1", "m1", "m3"), 2, "EXISTS with a duplicate")
    eq(r.type("m1"), b"string", "TYPE")
    eq(r.type("m3"), b"none", "TYPE none")
    eq(r.strlen("k"), 1, "STRLEN")
    eq(r.append("k", "yz"), 3, "APPEND")
    eq(r.incr("n"), 1, "INCR")
    eq(r.incrby("n", 10), 11, "INCRBY")
    eq(r.decr("n"), 10, "DECR")
    eq(r.decrby("n", 3), 7, "DECRBY")
    raises(lambda: r.incr("k"), "value is not an integer or out of range", "INCR of a string")
    r.set("big", str(2**63 - 1))
    raises(lambda: r.incr("big"), "increment or decrement would overflow", "INCR overflow")
    eq(r.delete("m1", "m2", "m3"), 2, "DEL")
    eq(r.unlink("nx", "nothing"), 1, "UNLINK")
    eq(r.set(b"k\r\n\x00", b"\x00\r\n"), True, "SET binary")
    eq(r.get(b"k\r\n\x00"), b"\x00\r\n", "GET binary")
    eq(r.set("", ""), True, "SET empty")
    eq(r.get(""), b"", "GET empty")


def expiry_and_keyspace(r: redis.Redis) -> None:
    r.flushall()
    r.set("k", "v")
    eq(r.expire("k", 100, nx=True), True, "EXPIRE NX")
    eq(r.expire("k", 200, nx=True), False, "EXPIRE NX again")
    eq(r.expire("k", 200, gt=True), True, "EXPIRE GT")
    eq(r.expire("k", 100, lt=True), True, "EXPIRE LT")
    eq(r.expire("k", 100, xx=True), True, "EXPIRE XX")
    eq(r.expire("missing", 100), False, "EXPIRE missing")
    eq(r.pexpire("k", 100000), True, "PEXPIRE")
    eq(r.expireat("k", FIXED_AT_S), True, "EXPIREAT")
    eq(r.pexpireat("k", FIXED_AT_S * 1000), True, "PEXPIREAT")
    eq(r.persist("k"), True, "PERSIST")
    eq(r.ttl("k"), -1, "TTL -1")
    eq(r.ttl("missing"), -2, "TTL -2")
    eq(r.pttl("missing"), -2, "PTTL -2")
    eq(r.expiretime("k"), -1, "EXPIRETIME -1")
    raises(
        lambda: r.execute_command("EXPIRE", "k", "10", "NX", "XX"),
        "NX and XX, GT or LT options at the same time are not compatible",
        "EXPIRE NX XX",
    )
    r.flushdb()
    eq(r.dbsize(), 0, "DBSIZE after FLUSHDB")
    r.mset({f"key:{n}": n for n in range(30)})
    eq(r.dbsize(), 30, "DBSIZE")
    eq(
        sorted(r.scan_iter(match="key:1*", count=5)),
        sorted(f"key:{n}".encode() for n in [1, *range(10, 20)]),
        "SCAN MATCH",
    )
    eq(len(set(r.scan_iter(_type="string"))), 30, "SCAN TYPE string")
    eq(r.flushall(asynchronous=True), True, "FLUSHALL ASYNC")
    eq(r.dbsize(), 0, "DBSIZE after FLUSHALL")


def connection(r: redis.Redis) -> None:
    eq(r.client_setname("peer-py"), True, "CLIENT SETNAME")
    eq(r.client_getname(), "peer-py", "CLIENT GETNAME (redis-py decodes it)")
    assert isinstance(r.client_id(), int), "CLIENT ID"
    info = r.info()
    assert "redis_version" in info and info.get("loading") == 0, f"INFO parsed: {sorted(info)[:10]}"
    assert "connected_clients" in r.info("clients"), "INFO clients"
    eq(sorted(r.config_get("maxmemory")), ["maxmemory"], "CONFIG GET maxmemory")
    r.set("mu", "v")
    assert isinstance(r.memory_usage("mu"), int), "MEMORY USAGE"
    eq(r.select(0), True, "SELECT 0")
    raises(lambda: r.select(1), "DB index is out of range", "SELECT 1")
    raises(
        lambda: r.execute_command("FOO", "a", "b"),
        "unknown command 'FOO', with args beginning with: 'a' 'b' ",
        "unknown command",
    )
    raises(lambda: r.execute_command("GET"), "wrong number of arguments for 'get' command", "arity")


def pipelines(r: redis.Redis) -> None:
    r.flushall()
    pipe = r.pipeline(transaction=False)
    for n in range(200):
        pipe.set(f"p{n}", n)
        pipe.incr("count")
        pipe.get(f"p{n}")
    replies = pipe.execute()
    eq(len(replies), 600, "pipeline reply count")
    eq(replies[-1], b"199", "last pipeline reply")
    eq(r.get("count"), b"200", "pipeline INCRs")
    pipe = r.pipeline(transaction=False)
    pipe.set("s", "abc")
    pipe.incr("s")
    pipe.get("s")
    replies = pipe.execute(raise_on_error=False)
    assert isinstance(replies[1], redis.ResponseError), f"error inside a pipeline: {replies!r}"
    eq(replies[2], b"abc", "the pipeline goes on after an error")


#: Keys present for a whole SCAN, and keys added between its rounds.
SCAN_KEYS = 3000
SCAN_ADDED_PER_ROUND = 20


def scan_during_writes(r: redis.Redis) -> None:
    """SCAN's guarantee: a key present for the whole iteration is returned (Redis: at least
    once; Blink, docs/resp.md: exactly once, even while the index grows)."""
    r.flushall()
    pipe = r.pipeline(transaction=False)
    for n in range(SCAN_KEYS):
        pipe.set(f"s:{n}", n)
    pipe.execute()
    seen: list[bytes] = []
    cursor, rounds, added = 0, 0, 0
    while True:
        cursor, keys = r.scan(cursor, match="s:*", count=50)
        seen.extend(keys)
        rounds += 1
        assert rounds < 10 * SCAN_KEYS, "SCAN did not finish"
        if cursor == 0:
            break
        pipe = r.pipeline(transaction=False)
        for _ in range(SCAN_ADDED_PER_ROUND):
            pipe.set(f"s:new:{added}", 1)
            added += 1
        pipe.execute()
    originals = [key for key in seen if not key.startswith(b"s:new:")]
    missing = {f"s:{n}".encode() for n in range(SCAN_KEYS)} - set(originals)
    assert not missing, f"{len(missing)} keys never returned, e.g. {sorted(missing)[:3]}"
    if target_kind() == "blink":
        eq(len(originals), SCAN_KEYS, "each original key returned exactly once")


def default_pipeline(r: redis.Redis) -> None:
    """pipeline() at its default, transaction=True: wrapped in MULTI / EXEC."""
    r.flushall()
    pipe = r.pipeline()
    pipe.set("tx", "1").incr("tx").get("tx")
    eq(pipe.execute(), [True, 2, b"2"], "MULTI/EXEC pipeline")


def workload(r: redis.Redis) -> None:
    """Seeded random SET/GET/DEL/INCR/APPEND/EXISTS/MGET against a dict model."""
    r.flushall()
    rng = random.Random(20261201)
    model: dict[bytes, bytes] = {}
    keys = [f"w:{n}".encode() for n in range(WORKLOAD_KEYS)]
    for op in range(WORKLOAD_OPS):
        key = rng.choice(keys)
        choice = rng.randrange(7)
        if choice == 0:
            value = rng.randbytes(rng.randrange(0, 64))
            eq(r.set(key, value), True, f"op {op} SET")
            model[key] = value
        elif choice == 1:
            eq(r.get(key), model.get(key), f"op {op} GET {key!r}")
        elif choice == 2:
            eq(r.delete(key), int(key in model), f"op {op} DEL")
            model.pop(key, None)
        elif choice == 3:
            current = model.get(key, b"0")
            if current.lstrip(b"-").isdigit() and str(int(current)).encode() == current:
                eq(r.incr(key), int(current) + 1, f"op {op} INCR")
                model[key] = str(int(current) + 1).encode()
            else:
                raises(lambda k=key: r.incr(k), "value is not an integer or out of range", f"op {op} INCR")
        elif choice == 4:
            tail = rng.randbytes(3)
            model[key] = model.get(key, b"") + tail
            eq(r.append(key, tail), len(model[key]), f"op {op} APPEND")
        elif choice == 5:
            picked = rng.sample(keys, 3)
            eq(r.exists(*picked), sum(k in model for k in picked), f"op {op} EXISTS")
        else:
            picked = rng.sample(keys, 5)
            eq(r.mget(picked), [model.get(k) for k in picked], f"op {op} MGET")
    eq(r.dbsize(), len(model), "DBSIZE after the workload")


#: Threads sharing one client (its connection pool), and the operations each does.
SHARED_THREADS = 16
SHARED_OPS = 300


def shared_client(r: redis.Redis) -> None:
    """RELIABILITY H7 over RESP: threads share one client; no reply crosses to another."""
    r.flushall()

    def worker(thread: int) -> None:
        for op in range(SHARED_OPS):
            key, value = f"t{thread}:{op % 10}", f"{thread}-{op}"
            eq(r.set(key, value), True, "SET")
            eq(r.get(key), value.encode(), f"thread {thread} op {op} GET")

    with ThreadPoolExecutor(SHARED_THREADS) as pool:
        for future in [pool.submit(worker, n) for n in range(SHARED_THREADS)]:
            future.result(timeout=60)


#: A pipeline whose replies (GETS x VALUE_BYTES) dwarf any output cap while the client is
#: still writing its requests: redis-py writes the whole pipeline before reading.
BIG_PIPELINE_GETS = 20000
BIG_PIPELINE_VALUE_BYTES = 4096


#: Redis needs well under a second for it; past this the server is taken to be stuck.
BIG_PIPELINE_DEADLINE_S = 20.0


def big_replies_pipeline(address: str) -> None:
    r = client(address, socket_timeout=BIG_PIPELINE_DEADLINE_S)
    outcome: list[BaseException | int] = []

    def run() -> None:
        try:
            r.set("big", b"x" * BIG_PIPELINE_VALUE_BYTES)
            pipe = r.pipeline(transaction=False)
            for _ in range(BIG_PIPELINE_GETS):
                pipe.get("big")
            replies = pipe.execute()
            eq({len(reply) for reply in replies}, {BIG_PIPELINE_VALUE_BYTES}, "reply sizes")
            outcome.append(len(replies))
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(BIG_PIPELINE_DEADLINE_S)
    if worker.is_alive():
        r.connection_pool.disconnect()  # unblocks the worker's socket calls
        worker.join(5)
        raise AssertionError(f"the pipeline did not complete within {BIG_PIPELINE_DEADLINE_S} s")
    r.close()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    eq(outcome[0], BIG_PIPELINE_GETS, "reply count")


def resp3(address: str) -> None:
    r = client(address, protocol=3)
    try:
        eq(r.ping(), True, "RESP3 PING")
        r.set("k3", "v")
        eq(r.get("k3"), b"v", "RESP3 GET")
        eq(r.get("missing"), None, "RESP3 null")
        eq(r.connection_pool.get_connection().protocol in (3, "3"), True, "RESP3 negotiated")
        eq(sorted(r.config_get("maxmemory")), ["maxmemory"], "RESP3 CONFIG GET (a map)")
        info = r.info()
        assert "redis_version" in info, "RESP3 INFO (a verbatim string)"
        pipe = r.pipeline(transaction=False)
        pipe.set("k3", "w").get("k3").ttl("k3").exists("k3")
        eq(pipe.execute(), [True, b"w", -1, 1], "RESP3 pipeline")
    finally:
        r.close()


def auth(address: str, token: str) -> None:
    r = client(address, password=token)
    try:
        eq(r.ping(), True, "PING with a password")
        r.set("a", "1")
        eq(r.get("a"), b"1", "GET with a password")
    finally:
        r.close()
    wrong = client(address, password="wrong")
    try:
        wrong.ping()
    except redis.AuthenticationError:
        pass
    else:
        raise AssertionError("a wrong password was accepted")
    finally:
        wrong.close()
    # redis-py 8 connects with HELLO 3, which fails first without a password; with
    # protocol=2 it sends no HELLO, and the GET itself is refused.
    for protocol, text in [
        (None, "HELLO must be called with the client already authenticated, otherwise the HELLO"),
        (2, "Authentication required."),
    ]:
        anonymous = client(address) if protocol is None else client(address, protocol=protocol)
        try:
            anonymous.get("a")
        except redis.AuthenticationError as error:
            assert str(error).startswith(text), f"NOAUTH text (protocol {protocol}): {error}"
        else:
            raise AssertionError("a command before AUTH succeeded")
        finally:
            anonymous.close()


def with_client(address: str, check: Callable[[redis.Redis], None], **options: object) -> None:
    r = client(address, **options)
    try:
        check(r)
    finally:
        r.close()


def main() -> int:
    tally = Tally("redis-py")
    kind = target_kind()
    print(f"redis-py {redis.__version__} against {kind}")
    addresses = {"tcp": env("RESP_TGT_TCP"), "unix": env("RESP_TGT_UNIX")}
    for transport, address in addresses.items():
        for name, check in [
            ("strings", strings),
            ("expiry and keyspace", expiry_and_keyspace),
            ("connection commands", connection),
            ("pipelines (transaction=False)", pipelines),
            ("pipeline() at its default (transaction=True, MULTI/EXEC)", default_pipeline),
            (f"mixed workload of {WORKLOAD_OPS} ops against a model", workload),
            (f"{SHARED_THREADS} threads sharing one client", shared_client),
            ("SCAN while keys are added between rounds", scan_during_writes),
        ]:
            r = client(address)
            started = time.monotonic()
            try:
                check(r)
                tally.check(f"{transport}: {name} ({time.monotonic() - started:.2f} s)", True)
            except Exception as error:
                tally.check(f"{transport}: {name}", False, f"{error!r}\n{traceback.format_exc(limit=3)}")
            finally:
                r.close()
        for name, run in [
            ("RESP3 (protocol=3, redis-py 8's default)", lambda a=address: resp3(a)),
            ("RESP2 (protocol=2): strings", lambda a=address: with_client(a, strings, protocol=2)),
            (
                f"a pipeline of {BIG_PIPELINE_GETS} GETs of {BIG_PIPELINE_VALUE_BYTES} bytes (replies > output cap)",
                lambda a=address: big_replies_pipeline(a),
            ),
        ]:
            started = time.monotonic()
            try:
                run()
                tally.check(f"{transport}: {name} ({time.monotonic() - started:.2f} s)", True)
            except Exception as error:
                elapsed = time.monotonic() - started
                tally.check(
                    f"{transport}: {name} ({elapsed:.2f} s)", False, f"{error!r}\n{traceback.format_exc(limit=3)}"
                )
    try:
        auth(env("RESP_TGT_AUTH_TCP"), env("RESP_AUTH_TOKEN"))
        tally.check("tcp: password / token authentication", True)
    except Exception as error:
        tally.check("tcp: password / token authentication", False, f"{error!r}\n{traceback.format_exc(limit=3)}")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
