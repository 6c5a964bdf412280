#!/usr/bin/env python3
"""Turns the JSON lines written by benches/compare.sh into docs/benchmarks.md
and docs/benchmarks.png.

Usage: compare_report.py RESULTS.jsonl OUT.md OUT.png

Line kinds: machine (one), run (one blink-bench result per server, transport
and workload; the servers include the floor, benches/floor), calibration (redis-benchmark vs blink-bench), memory (RSS
before/after loading N items), cap (peak RSS under a memory cap), instructions (callgrind counts), redis-benchmark
(redis-benchmark GET and SET against Redis and Blink over RESP).
"""

import json
import sys

SERVERS = [("redis", "tcp"), ("memcached", "tcp"), ("blink", "tcp"), ("blink", "uds"),
           ("blink-resp", "tcp"), ("blink-resp", "uds"), ("floor", "tcp"), ("floor", "uds"),
           ("floor-resp", "tcp"), ("floor-resp", "uds")]
# The floor that each server's "× floor" divides by: the same protocol.
FLOOR_OF = {"blink-resp": "floor-resp"}
NAMES = {("redis", "tcp"): "Redis", ("memcached", "tcp"): "memcached",
         ("blink", "tcp"): "Blink TCP", ("blink", "uds"): "Blink UDS",
         ("blink-resp", "tcp"): "Blink RESP TCP", ("blink-resp", "uds"): "Blink RESP UDS",
         ("floor", "tcp"): "floor TCP", ("floor", "uds"): "floor UDS",
         ("floor-resp", "tcp"): "floor RESP TCP", ("floor-resp", "uds"): "floor RESP UDS"}
COLORS = {("redis", "tcp"): "#d62728", ("memcached", "tcp"): "#2ca02c",
          ("blink", "tcp"): "#1f77b4", ("blink", "uds"): "#9ecae1",
          ("blink-resp", "tcp"): "#9467bd", ("blink-resp", "uds"): "#c5b0d5",
          ("floor", "tcp"): "#7f7f7f", ("floor", "uds"): "#c7c7c7",
          ("floor-resp", "tcp"): "#bcbd22", ("floor-resp", "uds"): "#dbdb8d"}
WORKLOADS = ["get90-set10-p1", "get90-set10-p16", "set-p1", "get90-set10-open"]
WORKLOAD_NAMES = {
    "get90-set10-p1": "get90/set10, pipeline 1",
    "get90-set10-p16": "get90/set10, pipeline 16",
    "set-p1": "set only, pipeline 1",
    "get90-set10-open": "get90/set10, open loop at a fixed rate",
}
SERVER_NAMES = {"redis": "Redis", "memcached": "memcached", "blink": "Blink"}
ITEM_PAYLOAD_BYTES = 16 + 100
MIB = 1 << 20


def median_run(results):
    """The median round (the lower middle one for an even count), so every
    figure in a row comes from one run: by throughput in closed loop, by
    p99.9 latency in open loop (where every round runs at the same rate).
    The ops/s of all rounds ride along."""
    def key(r):
        return r["latency_us"]["p99.9"] if r["rate_per_s"] is not None else r["ops_per_s"]
    ordered = sorted(results, key=key)
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["rounds_ops_per_s"] = [r["ops_per_s"] for r in results]
    return chosen


def load(path):
    lines = [json.loads(line) for line in open(path) if line.strip()]
    machine = next((l for l in lines if l["kind"] == "machine"), {})
    rounds = {}
    for l in lines:
        if l["kind"] == "run":
            rounds.setdefault((l["server"], l["transport"], l["workload"]), []).append(l["result"])
    runs = {key: median_run(results) for key, results in rounds.items()}
    calibration = [l for l in lines if l["kind"] == "calibration"]
    memory = {l["server"]: l for l in lines if l["kind"] == "memory"}
    cap = {l["server"]: l for l in lines if l["kind"] == "cap"}
    instructions = {(l["server"], l["pipeline"]): l for l in lines if l["kind"] == "instructions"}
    third_party = [l for l in lines if l["kind"] == "redis-benchmark"]
    return machine, runs, calibration, memory, cap, instructions, third_party


def fmt(value, spec="{:,.0f}"):
    return "n/a" if value is None else spec.format(value)


def ratio(value, base):
    if value is None or not base:
        return None
    return value / base


def throughput_table(runs):
    out = ["| workload | server | ops/s | × Redis | server CPU µs/req | × Redis | × floor | p50 µs | p99 µs | p99.9 µs | p99.99 µs | errors | ops/s of each round |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for workload in WORKLOADS:
        redis = runs.get(("redis", "tcp", workload))
        for server, transport in SERVERS:
            r = runs.get((server, transport, workload))
            if r is None:
                continue
            # The floor over the same transport and protocol: what any server pays.
            floor = runs.get((FLOOR_OF.get(server, "floor"), transport, workload))
            lat = r["latency_us"]
            errors = r["error_replies"] + r["conn_errors"]
            out.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                WORKLOAD_NAMES[workload], NAMES[(server, transport)], fmt(r["ops_per_s"]),
                fmt(ratio(r["ops_per_s"], redis and redis["ops_per_s"]), "{:.2f}"),
                fmt(r["server_cpu_us_per_request"], "{:.2f}"),
                fmt(ratio(r["server_cpu_us_per_request"], redis and redis["server_cpu_us_per_request"]), "{:.2f}"),
                fmt(ratio(r["server_cpu_us_per_request"], floor and floor["server_cpu_us_per_request"]), "{:.2f}"),
                fmt(lat["p50"]), fmt(lat["p99"]), fmt(lat["p99.9"]), fmt(lat["p99.99"]), errors,
                ", ".join(fmt(v) for v in r["rounds_ops_per_s"])))
    return out


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def client_us_per_request(ops, shares):
    """Client CPU µs per request of each round: core share / request rate."""
    return [share / op * 1e6 for op, share in zip(ops, shares) if op and share is not None]


def calibration_table(calibration):
    out = ["| workload against Redis | redis-benchmark ops/s: median (runs) | its client CPU µs/req | "
           "Redis CPU µs/req under it | blink-bench ops/s: median (runs) | its client CPU µs/req | "
           "Redis CPU µs/req under it | ops/s difference | within 15% |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for c in calibration:
        theirs, ours = c["redis_benchmark_ops_per_s"], c["blink_bench_ops_per_s"]
        diff = ratio(median(ours), median(theirs))
        ok = "yes" if diff is not None and abs(diff - 1) <= 0.15 else "no"
        out.append("| GET only, 50 conns, pipeline {} | {} ({}) | {} | {} | {} ({}) | {} | {} | {} | {} |".format(
            c["pipeline"], fmt(median(theirs)), ", ".join(fmt(v) for v in theirs),
            fmt(median(client_us_per_request(theirs, c.get("redis_benchmark_cpu_share", []))), "{:.1f}"),
            fmt(median(c.get("redis_cpu_us_per_request_under_redis_benchmark", [])), "{:.2f}"),
            fmt(median(ours)), ", ".join(fmt(v) for v in ours),
            fmt(median(client_us_per_request(ours, c.get("blink_bench_cpu_share", []))), "{:.1f}"),
            fmt(median(c.get("redis_cpu_us_per_request_under_blink_bench", [])), "{:.2f}"),
            fmt(None if diff is None else (diff - 1) * 100, "{:+.1f}%"), ok))
    return out


def memory_per_item(m):
    return (m["rss_after_kib"] - m["rss_before_kib"]) * 1024 / m["items"]


def memory_table(memory):
    out = ["| server | RSS before MiB | RSS after MiB | RSS per item B | overhead per item B | accounted bytes |",
           "|---|---:|---:|---:|---:|---:|"]
    for server in ["redis", "memcached", "blink"]:
        m = memory.get(server)
        if m is None:
            continue
        per_item = memory_per_item(m)
        out.append("| {} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {} |".format(
            SERVER_NAMES[server], m["rss_before_kib"] / 1024, m["rss_after_kib"] / 1024, per_item,
            per_item - ITEM_PAYLOAD_BYTES, fmt(m["accounted_bytes"])))
    return out


def cap_limit_kib(c):
    return (1.1 * c["cap_mib"] + 16) * 1024


def cap_table(cap):
    out = ["| server | value bytes written | SETs ok / errors | peak RSS (VmHWM) MiB | peak / cap | within 1.1×cap+16 MiB | final accounted bytes |",
           "|---|---:|---:|---:|---:|---|---:|"]
    for server in ["redis", "memcached", "blink"]:
        c = cap.get(server)
        if c is None:
            continue
        r = c["result"] or {}
        ok = r.get("sets", 0) - r.get("error_replies", 0)
        out.append("| {} | {} | {} / {} | {:.1f} | {:.2f} | {} | {} |".format(
            SERVER_NAMES[server], fmt(r.get("value_bytes_sent")), fmt(ok), fmt(r.get("error_replies")),
            c["peak_rss_kib"] / 1024, c["peak_rss_kib"] / 1024 / c["cap_mib"],
            "yes" if c["peak_rss_kib"] <= cap_limit_kib(c) else "no", fmt(c["accounted_bytes"])))
    return out


def targets_table(runs, memory, cap):
    def get(server, workload, field):
        r = runs.get((server, "tcp", workload))
        if r is None:
            return None
        return r["latency_us"]["p99.9"] if field == "p99.9" else r[field]

    rows = []

    def check(name, value, limit, good, shown):
        met = "not measured" if value is None else ("met" if good(value, limit) else "missed")
        rows.append("| {} | {} | {} |".format(name, shown(value), met))

    for workload, base, limit in [("get90-set10-p1", "redis", 0.85), ("get90-set10-p16", "redis", 0.5),
                                  ("get90-set10-p16", "floor", 1.4)]:
        value = ratio(get("blink", workload, "server_cpu_us_per_request"),
                      get(base, workload, "server_cpu_us_per_request"))
        check("server CPU/req ≤ {}× {} ({})".format(limit, NAMES[(base, "tcp")], WORKLOAD_NAMES[workload]),
              value, limit, lambda v, l: v <= l, lambda v: fmt(v, "{:.2f}×"))
    for workload, server, base, limit in [("get90-set10-p1", "blink-resp", "blink", 1.1),
                                          ("get90-set10-p16", "blink-resp", "blink", 1.1),
                                          ("get90-set10-p16", "blink-resp", "redis", 0.6)]:
        value = ratio(get(server, workload, "server_cpu_us_per_request"),
                      get(base, workload, "server_cpu_us_per_request"))
        check("RESP: server CPU/req ≤ {}× {} ({})".format(limit, NAMES[(base, "tcp")], WORKLOAD_NAMES[workload]),
              value, limit, lambda v, l: v <= l, lambda v: fmt(v, "{:.2f}×"))
    value = ratio(get("blink", "get90-set10-p16", "ops_per_s"), get("redis", "get90-set10-p16", "ops_per_s"))
    check("ops/s ≥ 1.3× Redis (pipeline 16)", value, 1.3, lambda v, l: v >= l, lambda v: fmt(v, "{:.2f}×"))
    for server in ["blink", "blink-resp"]:
        for workload in ["get90-set10-open", "get90-set10-p1", "get90-set10-p16"]:
            ours, redis = get(server, workload, "p99.9"), get("redis", workload, "p99.9")
            value = None if ours is None or redis is None else (ours, redis)
            check("{}: p99.9 ≤ Redis's ({})".format(NAMES[(server, "tcp")], WORKLOAD_NAMES[workload]), value, None,
                  lambda v, l: v[0] <= v[1], lambda v: "n/a" if v is None else "{:,.0f} vs {:,.0f} µs".format(*v))
    m = memory.get("blink")
    value = None if m is None else memory_per_item(m) - ITEM_PAYLOAD_BYTES
    check("RSS overhead per 100-byte item ≤ 32 B", value, 32, lambda v, l: v <= l, lambda v: fmt(v, "{:.1f} B"))
    c = cap.get("blink")
    value = None if c is None else c["peak_rss_kib"]
    check("memory cap: peak RSS ≤ 1.1 × cap + 16 MiB", value, None if c is None else cap_limit_kib(c),
          lambda v, l: v <= l, lambda v: fmt(None if v is None else v / 1024, "{:.1f} MiB"))
    return ["| target (Blink-Store vs Redis and the floor, same run) | measured | |", "|---|---:|---|"] + rows


def open_rate(runs):
    rates = [r["rate_per_s"] for (_, _, w), r in runs.items() if w == "get90-set10-open"]
    return fmt(rates[0] if rates else None)


def instructions_table(instructions):
    out = ["| workload (get90/set10, 50 conns) | Redis instructions/request | Blink instructions/request | "
           "Blink over RESP | floor instructions/request | Blink ÷ Redis | Blink ÷ floor | RESP ÷ Blink |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for pipeline in [1, 16]:
        per_request = {}
        for server in ["redis", "blink", "blink-resp", "floor"]:
            entry = instructions.get((server, pipeline))
            if entry and entry["result"] and entry["result"]["requests"]:
                per_request[server] = entry["instructions"] / entry["result"]["requests"]
        if per_request:
            out.append("| pipeline {} | {} | {} | {} | {} | {} | {} | {} |".format(
                pipeline, fmt(per_request.get("redis")), fmt(per_request.get("blink")),
                fmt(per_request.get("blink-resp")), fmt(per_request.get("floor")),
                fmt(ratio(per_request.get("blink"), per_request.get("redis")), "{:.2f}"),
                fmt(ratio(per_request.get("blink"), per_request.get("floor")), "{:.2f}"),
                fmt(ratio(per_request.get("blink-resp"), per_request.get("blink")), "{:.2f}")))
    return out


def third_party_table(third_party):
    out = ["| pipeline | server | GET ops/s | SET ops/s | GET p50 / p99 ms | SET p50 / p99 ms | "
           "server CPU µs/req | × Redis | errors |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    by_key = {(t["server"], t["pipeline"]): t for t in third_party}
    for pipeline in [1, 16]:
        redis = by_key.get(("redis", pipeline))
        for server in ["redis", "blink-resp"]:
            t = by_key.get((server, pipeline))
            if t is None:
                continue
            get, set_ = t["tests"].get("GET", {}), t["tests"].get("SET", {})
            out.append("| {} | {} | {} | {} | {} / {} | {} / {} | {} | {} | {} |".format(
                pipeline, NAMES[(server, "tcp")], fmt(get.get("rps")), fmt(set_.get("rps")),
                fmt(get.get("p50_ms"), "{:.3f}"), fmt(get.get("p99_ms"), "{:.3f}"),
                fmt(set_.get("p50_ms"), "{:.3f}"), fmt(set_.get("p99_ms"), "{:.3f}"),
                fmt(t["server_cpu_us_per_request"], "{:.2f}"),
                fmt(ratio(t["server_cpu_us_per_request"], redis and redis["server_cpu_us_per_request"]), "{:.2f}"),
                t["errors"]))
    return out


def write_markdown(path, machine, runs, calibration, memory, cap, instructions, third_party):
    lines = ["# Benchmarks: Blink-Store, Redis and memcached", "",
             "Generated by `benches/compare.sh`; do not edit by hand. Raw results: `benchmarks.jsonl`. "
             "Where Blink-Store's time and bytes go: [performance-notes.md](performance-notes.md).", "",
             "## Machine and command", "",
             "- CPU: {} ({} cores)".format(machine.get("cpu"), machine.get("cores")),
             "- kernel: {}".format(machine.get("kernel")),
             "- {}; {}; {}".format(machine.get("redis"), machine.get("memcached"), machine.get("rustc")),
             "- load average when the run started: {}".format(" ".join(machine.get("load_average", []))),
             "- command: `{}` ({} s per throughput run; {} round(s) rotating through the servers, "
             "each row is the median round: by ops/s in closed loop, by p99.9 in open loop)".format(
                 machine.get("command"), machine.get("duration_s"), machine.get("rounds", 1)),
             "- every server pinned to CPU 0 (`taskset -c 0`, memcached `-t 1`, Redis `--save '' --appendonly no`), "
             "blink-bench and redis-benchmark pinned to CPU 1; loopback only; 50 connections, "
             "16-byte keys (`key:000000012345`, redis-benchmark's names), 100-byte values, 100k keys prefilled.",
             "- latency: closed loop from each batch's send; open loop ({} requests/s in total, at most 16 "
             "outstanding per connection) from each request's intended send time.".format(open_rate(runs)),
             "- floor: `benches/floor` (`blink-floor`), Blink-Store's loop shape, listeners and request decoder "
             "answering every request with a canned reply of the right shape and storing nothing; "
             "\"× floor\" divides a server's CPU per request by the floor's over the same transport, "
             "so it is the cost of being a cache on top of what any server on this kernel pays.",
             "", "![charts](benchmarks.png)", "",
             "## Targets", ""] + targets_table(runs, memory, cap) + [
             "", "## Throughput, server CPU and latency", ""] + throughput_table(runs) + [
             "", "## Calibration", "",
             "redis-benchmark and blink-bench, same shape (GET only over the prefilled keys), against the same Redis:", ""
             ] + calibration_table(calibration) + [
             "",
             "Client CPU per request is each tool's user + system time divided by the requests it completed; "
             "Redis CPU per request is read from /proc around each tool's run. "
             "Both tools count the same thing: Redis's `total_commands_processed` advanced by exactly blink-bench's "
             "completed plus in-flight requests in a cross-check. Where the rates differ, the cause is the "
             "client's own cost: `strace -c` shows redis-benchmark making 7 system calls per request at pipeline 1 "
             "(5 `epoll_ctl` from re-arming the writable event for every request, plus `sendto` and `recvfrom`) "
             "against blink-bench's 2, which is the gap in client CPU per request above. Whenever the client's "
             "core is saturated or shared with other work, redis-benchmark's rate is its own limit rather than "
             "Redis's. The server's CPU per request, the figure the targets are stated in, depends on the client "
             "only through the load it offers (more requests per wake-up cost less each), so it agrees better "
             "across the two tools than their rates do.",
             "", "## The same third-party tool: redis-benchmark", "",
             "`redis-benchmark -t get,set -c 50 -r 100000 -d 100 --csv` against Redis and against Blink-Store "
             "spoken to in RESP (\"Blink RESP\": the same binary, a connection's first byte chooses the protocol); "
             "server CPU per request from /proc around each run.", ""] + third_party_table(third_party) + [
             "", "## Memory per item", "",
             "{:,} items, 16-byte keys, 100-byte values; overhead = RSS per item − {} B of key and value.".format(
                 next(iter(memory.values()))["items"] if memory else 0, ITEM_PAYLOAD_BYTES), ""
             ] + memory_table(memory) + [
             "", "## Memory cap", "",
             "Cap 64 MiB (Redis `maxmemory 64mb allkeys-lru`, memcached `-m 64`, Blink `--memory-limit 64MiB`); "
             "1 GiB of values of 100 B to 100 KiB written to distinct keys.", ""] + cap_table(cap) + [
             "", "## Instructions per request", "",
             "User-space instructions (the server and its libraries; the kernel is not counted) per request "
             "under `valgrind --tool=callgrind`, counted after the prefill: repeatable, unlike the timings "
             "above. The gap between these ratios and the CPU-time ratios is the kernel's share and the cost "
             "of cache misses, which instruction counts do not see. The floor's count is what the loop and "
             "the decoder cost any server; `benches/profile.sh` breaks Blink's down by function and adds "
             "simulated cache misses and system calls.", ""] + instructions_table(instructions) + [""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def short_number(value):
    """Three significant digits, never in exponent notation."""
    return "{:.0f}".format(value) if value >= 100 else "{:.3g}".format(value)


def bar_group(ax, runs, workloads, value_of):
    """One bar per server in each workload's group; returns the bar containers."""
    width = 0.8 / len(SERVERS)
    containers = []
    for i, key in enumerate(SERVERS):
        xs, ys = [], []
        for j, w in enumerate(workloads):
            r = runs.get((key[0], key[1], w))
            value = None if r is None else value_of(r)
            if value is None:
                continue
            xs.append(j + (i - (len(SERVERS) - 1) / 2) * width)
            ys.append(value)
        containers.append(ax.bar(xs, ys, width, label=NAMES[key], color=COLORS[key]))
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels([WORKLOAD_NAMES[w].replace(", ", "\n") for w in workloads], fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.margins(y=0.15)
    return containers


def write_chart(path, runs, memory, cap):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator

    fig, axes = plt.subplots(2, 3, figsize=(17, 9.5))
    workloads = [w for w in WORKLOADS if any(k[2] == w for k in runs)]
    panels = [
        (axes[0][0], "throughput, k ops/s (higher is better)", lambda r: r["ops_per_s"] / 1000, False),
        (axes[0][1], "server CPU per request, µs (lower is better)", lambda r: r["server_cpu_us_per_request"], False),
        (axes[1][0], "p99 latency, ms (lower is better; log)", lambda r: r["latency_us"]["p99"] / 1000, True),
        (axes[1][1], "p99.9 latency, ms (lower is better; log)", lambda r: r["latency_us"]["p99.9"] / 1000, True),
    ]
    for ax, title, value_of, log in panels:
        for bars in bar_group(ax, runs, workloads, value_of):
            ax.bar_label(bars, labels=[short_number(b.get_height()) for b in bars], fontsize=7, padding=1)
        ax.set_title(title, fontsize=11)
        if log:
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: "{:g}".format(v)))
            ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    axes[0][0].legend(fontsize=9, loc="upper right")

    servers = [s for s in ["redis", "memcached", "blink"] if s in memory or s in cap]
    names = [SERVER_NAMES[s] for s in servers]
    colors = [COLORS[(s, "tcp")] for s in servers]
    ax = axes[0][2]
    overhead = [memory_per_item(memory[s]) - ITEM_PAYLOAD_BYTES if s in memory else 0 for s in servers]
    ax.bar_label(ax.bar(names, overhead, color=colors), fmt="%.0f", fontsize=9)
    ax.axhline(32, color="black", linestyle=":", linewidth=1, label="Blink target: 32 B")
    ax.set_title("memory overhead per 100-byte item, bytes\n(RSS per item − key − value; 1M items)", fontsize=11)
    ax.legend(fontsize=9)
    ax.margins(y=0.15)
    ax = axes[1][2]
    peak = [cap[s]["peak_rss_kib"] / 1024 / cap[s]["cap_mib"] if s in cap else 0 for s in servers]
    ax.bar_label(ax.bar(names, peak, color=colors), fmt="%.2f", fontsize=9)
    ax.axhline(1.1 + 16 / 64, color="black", linestyle=":", linewidth=1, label="Blink target: 1.1 × cap + 16 MiB")
    ax.set_title("peak RSS / 64 MiB cap after writing 1 GiB", fontsize=11)
    ax.legend(fontsize=9)
    ax.margins(y=0.15)
    fig.suptitle("Blink-Store vs Redis vs memcached: each server on one pinned core, same load generator", fontsize=13)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    results, md_path, png_path = sys.argv[1:4]
    machine, runs, calibration, memory, cap, instructions, third_party = load(results)
    write_markdown(md_path, machine, runs, calibration, memory, cap, instructions, third_party)
    write_chart(png_path, runs, memory, cap)


if __name__ == "__main__":
    main()
