#!/usr/bin/python3
"""Turns the raw measurements of bench/run into a Markdown report and a PNG chart.

usage: report.py RAW.tsv META.txt OUT.md OUT.png [FULCRUM_LOG]

RAW.tsv has one measurement a line: workload, threads, target, round, metric, value.
META.txt has one "key<TAB>value" a line (machine, versions, parameters).
Only the standard library is used; the chart is drawn by gnuplot.
"""
import collections
import os
import re
import statistics
import subprocess
import sys
import tempfile

PROXIES = ["fulcrum", "haproxy", "nginx"]
NAMES = {
    "fulcrum": "Fulcrum",
    "fulcrum-splice": "Fulcrum splice",
    "fulcrum-base": "Fulcrum baseline",
    "haproxy": "HAProxy",
    "haproxy-splice": "HAProxy splice",
    "nginx": "nginx",
    "dnsdist": "dnsdist",
    "direct": "no proxy",
}
UDP_PROXIES = ["fulcrum", "nginx"]  # HAProxy 2.6 (free) has no UDP
MISSING = "—"  # a UDP target whose measurement is missing


def udp_variant_key(label):
    """Sort key of a udp workload variant label such as "64B-1flow" or "512B-10000flows"."""
    m = re.fullmatch(r"(\d+)B-(\d+)flows?", label)
    return (int(m.group(1)), int(m.group(2)), label) if m else (1 << 30, 0, label)


def udp_variant_text(label):
    """ "64B-10000flows" -> "64 B, 10,000 flows" """
    size, flows, _ = udp_variant_key(label)
    if size == 1 << 30:
        return label
    return f"{size} B, {flows:,} flow{'s' if flows != 1 else ''}"


def load(raw_path, meta_path):
    data = collections.defaultdict(list)  # (workload, threads, target, metric) -> [values]
    by_round = {}  # (workload, threads, target, metric, round) -> value
    with open(raw_path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 6:
                continue
            workload, threads, target, rnd, metric, value = parts
            v = float(value)
            data[(workload, threads, target, metric)].append(v)
            by_round[(workload, threads, target, metric, rnd)] = v
    meta = {}
    with open(meta_path) as f:
        for line in f:
            if "\t" in line:
                k, v = line.rstrip("\n").split("\t", 1)
                meta[k] = v
    return data, by_round, meta


def added_latency(by_round):
    """Per round: proxy percentile minus the no-proxy percentile of the same round."""
    out = collections.defaultdict(list)
    for (workload, threads, target, metric, rnd), v in by_round.items():
        if workload != "latency" or target == "direct" or not metric.endswith("_us"):
            continue
        base = by_round.get((workload, threads, "direct", metric, rnd))
        if base is not None:
            out[("latency", threads, target, "added_" + metric)].append(v - base)
    return out


class Stat:
    def __init__(self, values):
        self.values = sorted(values)
        self.median = statistics.median(self.values)
        self.lo = self.values[0]
        self.hi = self.values[-1]


def fmt_num(v):
    a = abs(v)
    if float(v).is_integer() and a < 1000:
        return str(int(v))
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def fmt_stat(s):
    if s is None:
        return "–"
    if len(s.values) == 1:
        return fmt_num(s.median)
    return f"{fmt_num(s.median)} ({fmt_num(s.lo)}–{fmt_num(s.hi)})"


def fmt_ratio(a, b):
    if a is None or b is None or b.median == 0:
        return "–"
    return f"{a.median / b.median:.2f}×"


def main():
    raw_path, meta_path, out_md, out_png = sys.argv[1:5]
    fulcrum_log = []
    if len(sys.argv) > 5 and os.path.exists(sys.argv[5]):
        with open(sys.argv[5], errors="replace") as f:
            fulcrum_log = [line.rstrip() for line in f if line.strip()]
    data, by_round, meta = load(raw_path, meta_path)
    data.update(added_latency(by_round))

    def stat(workload, threads, target, metric):
        vals = data.get((workload, str(threads), target, metric))
        return Stat(vals) if vals else None

    threads_list = meta.get("threads", "1 2").split()

    def mode(target, short=False):
        """The relay mode the strace check saw, or None if it was not checked."""
        s = stat("throughput", "1", target, "splice_share")
        if s is None:
            return None
        if short:
            return "splice" if s.hi > 0 else "copy"
        return f"spliced ({s.hi:.0f}% of reads)" if s.hi > 0 else "copied"

    splice_kw = meta.get("fulcrum_splice_kw") == "1"
    nosplice_kw = meta.get("fulcrum_nosplice_kw") == "1"
    fulcrum_both = splice_kw or nosplice_kw
    baseline = any(k[2] == "fulcrum-base" for k in data)
    fulcrum_cfg = {
        "fulcrum": "with `nosplice`" if nosplice_kw else "with its default relay mode (this build "
                   "does not accept `nosplice` yet)",
        "fulcrum-splice": "with `option splice-auto`" if splice_kw else "with its default relay "
                          "mode (this build does not accept `option splice-auto` yet)",
    }
    fulcrum_splice_missing = ("not supported yet" if not (mode("fulcrum") or "").startswith("spliced")
                              else "no second mode yet (see note)")
    lines = []
    w = lines.append
    w(f"# Fulcrum benchmark results — {meta.get('date', '')}")
    w("")
    w(f"Command: `{meta.get('command', 'bench/run').strip()}` ({meta.get('mode')} mode: "
      f"{meta.get('rounds')} interleaved round(s), {meta.get('duration')} s per measurement, "
      f"{int(meta.get('elapsed', 0)) // 60} min {int(meta.get('elapsed', 0)) % 60} s in all).")
    w("Each cell is the median over the rounds, with the spread (min–max) in brackets. "
      "Ratios are of medians. See [docs/benchmarks.md](../../docs/benchmarks.md) for what "
      "each workload measures.")
    w("")
    w("## Machine")
    w("")
    w("| | |")
    w("|---|---|")
    for key, label in [("cpu", "CPU"), ("nproc", "nproc"), ("kernel", "kernel"), ("os", "OS"),
                       ("fulcrum", "Fulcrum"), ("haproxy", "HAProxy"), ("nginx", "nginx"),
                       ("iperf3", "iperf3")] + ([("dnsdist", "dnsdist"), ("nsd", "nsd"),
                                                 ("dnsperf", "dnsperf")]
                                                if any(k[0].startswith("udp") for k in data)
                                                else []) + ([("baseline", "Fulcrum baseline")]
                                                if meta.get("baseline") else []) + [
                       ("proxy_cpus", "proxy CPUs (1 thread)"),
                       ("mt_proxy_cpus", "proxy CPUs (2 threads)"),
                       ("load_cpus", "load generator + backend CPUs"),
                       ("load_start", "load average at start"), ("load_end", "load average at end"),
                       ("busy_start", "CPU busy with other work just before the run, %"),
                       ("busy_end", "CPU busy with other work just after the run, %")]:
        w(f"| {label} | {meta.get(key, '?')} |")
    w("")

    # -------------------------------------------------------------- targets
    targets = []
    def tp_target(fk, hk, label):
        f = stat("throughput", 1, fk, "cpu_s_per_gb")
        h = stat("throughput", 1, hk, "cpu_s_per_gb")
        if f and h:
            r = h.median / f.median
            targets.append((f"throughput per proxy CPU-second, 1 thread: {label}", "≥ 1.6× HAProxy",
                            f"{1 / f.median:.2f} vs {1 / h.median:.2f} GB per CPU-s: {r:.2f}×",
                            r >= 1.6))

    for fk in ("fulcrum", "fulcrum-splice"):
        for hk in ("haproxy", "haproxy-splice"):
            tp_target(fk, hk, f"Fulcrum {mode(fk, True) or '?'} vs HAProxy {mode(hk, True) or '?'}")
    f_c = stat("churn", 1, "fulcrum", "cpu_us_per_conn")
    h_c = stat("churn", 1, "haproxy", "cpu_us_per_conn")
    if f_c and h_c:
        r = f_c.median / h_c.median
        targets.append(("proxy CPU per connection, 1 thread", "≤ 0.7× HAProxy",
                        f"{fmt_num(f_c.median)} vs {fmt_num(h_c.median)} µs: {r:.2f}×", r <= 0.7))
    f_m = stat("memory", 1, "fulcrum", "bytes_per_conn")
    h_m = stat("memory", 1, "haproxy", "bytes_per_conn")
    if f_m and h_m and h_m.median > 0:
        r = f_m.median / h_m.median
        targets.append(("memory (RSS) per idle proxied connection", "≤ 0.3× HAProxy",
                        f"{fmt_num(f_m.median)} vs {fmt_num(h_m.median)} bytes: {r:.2f}×", r <= 0.3))
    f_l = stat("latency", 1, "fulcrum", "added_p99_us")
    h_l = stat("latency", 1, "haproxy", "added_p99_us")
    if f_l and h_l:
        targets.append(("added p99 latency", "≤ HAProxy",
                        f"{fmt_num(f_l.median)} vs {fmt_num(h_l.median)} µs", f_l.median <= h_l.median))
    if targets:
        w("## Targets")
        w("")
        w("| target | goal | Fulcrum vs HAProxy (medians) | met? |")
        w("|---|---|---|---|")
        for name, goal, figures, met in targets:
            w(f"| {name} | {goal} | {figures} | {'yes' if met else '**no**'} |")
        w("")
        if meta.get("mode") == "quick":
            w("_Quick mode: the figures are too short to mean anything; run the full suite._")
            w("")

    # -------------------------------------------------------------- tables
    def table(title, rows, columns, ratio_pairs, note=None, level="##"):
        w(f"{level} {title}")
        w("")
        if note:
            w(note)
            w("")
        head = ["metric", "better"] + [NAMES[c] for c in columns] + \
               [f"{NAMES[a]}/{NAMES[b]}" for a, b in ratio_pairs]
        w("| " + " | ".join(head) + " |")
        w("|" + "---|" * len(head))
        for label, better, workload, threads, metric in rows:
            cells = [label, better]
            for c in columns:
                st = stat(workload, threads, c, metric)
                if c == "fulcrum-splice" and st is None and workload == "throughput":
                    cells.append(f"_{fulcrum_splice_missing}_")
                else:
                    cells.append(fmt_stat(st))
            for a, b in ratio_pairs:
                if metric in ("splice_share", "others_pct", "proxy_drops", "fds_per_flow"):
                    cells.append("–")
                else:
                    cells.append(fmt_ratio(stat(workload, threads, a, metric),
                                           stat(workload, threads, b, metric)))
            w("| " + " | ".join(cells) + " |")
        w("")

    others_label = "other work on the proxy CPU, % (noise)"
    tp_rows, churn_rows = [], []
    for t in threads_list:
        tl = f"{t} thread{'s' if t != '1' else ''}"
        if t == "1":
            tp_rows.append((others_label, "lower", "throughput", t, "others_pct"))
            churn_rows.append((others_label, "lower", "churn", t, "others_pct"))
        tp_rows += [(f"Gbit/s, {tl}", "higher", "throughput", t, "gbps"),
                    (f"proxy CPU-s per GB, {tl}", "lower", "throughput", t, "cpu_s_per_gb"),
                    (f"proxy CPU use %, {tl}", "–", "throughput", t, "cpu_pct")]
        churn_rows += [(f"connections/s, {tl}", "higher", "churn", t, "conns_per_s"),
                       (f"proxy CPU-µs per connection, {tl}", "lower", "churn", t, "cpu_us_per_conn"),
                       (f"failed connections, {tl}", "lower", "churn", t, "errors")]
    if any(k[0] == "throughput" and k[3] == "splice_share" for k in data):
        tp_rows.append(("splice check: % of reads done by splice()", "–", "throughput", "1",
                        "splice_share"))
    if any(k[0] == "throughput" for k in data):
        pairs = [("fulcrum", "haproxy"), ("fulcrum", "haproxy-splice"), ("fulcrum", "nginx")]
        if fulcrum_both:
            pairs.insert(2, ("fulcrum-splice", "haproxy-splice"))
        splice_note = (f"\"Fulcrum\" ran {fulcrum_cfg['fulcrum']}, \"Fulcrum splice\" "
                       f"{fulcrum_cfg['fulcrum-splice']}. ")
        if not fulcrum_both:
            splice_note = (f"\"Fulcrum\" ran {fulcrum_cfg['fulcrum']}, and as this build accepts "
                           "neither `nosplice` nor `option splice-auto` yet, it has no second "
                           "mode to run: the \"Fulcrum splice\" column says so rather than "
                           "repeat a number. ")
        splice_note += ("The relay mode each really used is checked: " + "; ".join(
            f"{NAMES[k]} {mode(k)}" for k in ("fulcrum", "fulcrum-splice", "haproxy",
                                                "haproxy-splice", "nginx") if mode(k)) + ".")
        tp_columns = ["fulcrum", "fulcrum-splice", "haproxy", "haproxy-splice", "nginx", "direct"]
        if baseline:
            tp_columns.insert(1, "fulcrum-base")
            pairs.insert(0, ("fulcrum", "fulcrum-base"))
            splice_note += (f" \"Fulcrum baseline\" is a second Fulcrum binary run alongside "
                            f"({meta.get('baseline', '?')}), with the same configuration.")
        table("1. Throughput (iperf3 through the proxy)", tp_rows, tp_columns, pairs,
              "One iperf3 stream per worker thread, client → proxy → iperf3 server. "
              "\"HAProxy\" is copy mode (`nosplice`), \"HAProxy splice\" is `option splice-auto`. "
              + splice_note + " \"no proxy\" is iperf3 straight to its server: the ceiling of "
              "the load CPU(s), not of the proxy. The last row checks each mode: strace counts the "
              "proxy's splice() and read/recv calls during 1 s of a separate, unmeasured 3-s "
              "transfer (1 thread).")
    if any(k[0] == "churn" for k in data):
        churn_columns = PROXIES + ["direct"]
        churn_pairs = [("fulcrum", "haproxy"), ("fulcrum", "nginx")]
        if baseline:
            churn_columns.insert(1, "fulcrum-base")
            churn_pairs.insert(0, ("fulcrum", "fulcrum-base"))
        table("2. Connection churn (short connections)", churn_rows, churn_columns, churn_pairs,
              f"{meta.get('churn_concurrency', '?')} connections at a time, each: connect, "
              "64-byte request, 64-byte answer, the backend closes."
              + (f" \"Fulcrum baseline\": {meta.get('baseline', '?')}." if baseline else ""))
    if any(k[0] == "latency" for k in data):
        lat_rows = [("added p50 µs", "lower", "latency", "1", "added_p50_us"),
                    ("added p99 µs", "lower", "latency", "1", "added_p99_us"),
                    ("added p99.9 µs", "lower", "latency", "1", "added_p999_us"),
                    ("p50 µs (absolute)", "lower", "latency", "1", "p50_us"),
                    ("p99 µs (absolute)", "lower", "latency", "1", "p99_us"),
                    ("p99.9 µs (absolute)", "lower", "latency", "1", "p999_us"),
                    (others_label, "lower", "latency", "1", "others_pct")]
        table("3. Added latency (request/response at a fixed rate)", lat_rows,
              PROXIES + ["direct"], [("fulcrum", "haproxy"), ("fulcrum", "nginx")],
              f"{meta.get('latency_rate', '?')} requests/s of 64 bytes on one connection to an "
              f"echo backend, open loop, measured by {meta.get('latency_tool', 'fbench')}"
              + (", with the proxies, the backend and the client under SCHED_FIFO"
                 if meta.get("latency_rt") == "1" else "") + ". \"added\" = the proxy's percentile minus the no-proxy "
              "percentile of the same round (difference of percentiles). 1 worker thread.")
    if any(k[0] == "xdp" for k in data):
        xdp_rows = []
        for tbl, label in (("1024", "1k-entry table"), ("1048576", "1M-entry table")):
            if not any(k[0] == "xdp" and k[1] == tbl for k in data):
                continue
            xdp_rows += [(f"no VIP (XDP_PASS), ns, {label}", "lower", "xdp", tbl, "pass_median_ns"),
                         (f"LRU hit, IPIP, ns, {label}", "lower", "xdp", tbl, "hit_median_ns"),
                         (f"LRU miss, SYN inserted, IPIP, ns, {label}", "lower", "xdp", tbl,
                          "miss_median_ns"),
                         (f"LRU miss, p90 ns, {label}", "lower", "xdp", tbl, "miss_p90_ns")]
        table("5. Packet path (the XDP program, ns per packet)", xdp_rows, ["fulcrum"], [],
              "Median ns per packet of Fulcrum's XDP program through BPF_PROG_TEST_RUN: one "
              "fresh frame per run (a repeated run would see the frame the previous run "
              "encapsulated), the verdict of every run checked, the kernel's clock reads "
              "measured on a program returning XDP_PASS and subtracted (bench/xdp_bench.cc). "
              "The miss case inserts a new flow into a table already holding that many.")
    if any(k[0] == "memory" for k in data):
        mem_rows = [("RSS bytes per idle connection", "lower", "memory", "1", "bytes_per_conn"),
                    ("RSS kB before", "lower", "memory", "1", "rss_before_kb"),
                    ("RSS kB with the idle connections", "lower", "memory", "1", "rss_after_kb"),
                    ("fds still open after they all closed", "lower", "memory", "1", "fds_left")]
        table(f"4. Memory per idle connection ({meta.get('idle_conns', '?')} idle connections)",
              mem_rows, PROXIES, [("fulcrum", "haproxy"), ("fulcrum", "nginx")],
              "Each proxy freshly started (1 worker thread); every connection has carried one "
              "byte each way and then stays idle. Socket buffers held by the kernel are not in "
              "RSS and are not counted. Then the client closes them all at once and the proxy's "
              "open fds are counted again (up to 5 s later): any above the count before is a leak.")

    udp_report(w, table, stat, data, meta, others_label)

    problems = []
    noise = collections.defaultdict(list)  # workload -> median noise % of each proxy
    for (workload, threads, target, metric), vals in sorted(data.items()):
        if metric == "splice_share":
            spliced = max(vals) > 0
            if target.endswith("-splice") and not spliced:
                problems.append(f"- throughput, {NAMES[target]}: no splice() call during the "
                                "check transfer: it did not splice.")
            copy_asked = target == "haproxy" or (target == "fulcrum" and nosplice_kw)
            if copy_asked and spliced:
                problems.append(f"- throughput, {NAMES[target]}: splice() calls during the check "
                                "transfer although splicing was off.")
        if metric == "failed":
            label = udp_variant_text(threads) if workload == "udp" else f"{threads} thread(s)"
            problems.append(f"- {workload}, {label}, {NAMES.get(target, target)}: "
                            f"{len(vals)} run(s) failed (no figure recorded).")
        if metric == "others_pct" and target != "direct":
            noise[workload].append(statistics.median(vals))
        if metric == "fds_left" and max(vals) > 0:
            problems.append(f"- memory, {NAMES.get(target, target)}: {int(max(vals))} fds still "
                            "open 5 s after all the idle connections were closed.")
        where = (f"{workload}, {udp_variant_text(threads)}" if workload == "udp"
                 else workload if workload.startswith("udp") else f"{workload}, {threads} thread(s)")
        if metric in ("errors", "lost") and sum(vals) > 0:
            what = {"errors": "failed connections", "udp": "lost datagrams (unanswered for 1 s, "
                    "or refused by the kernel on send)", "udp-dns": "lost queries"}.get(
                        metric if metric == "errors" else workload, "lost requests")
            problems.append(f"- {where}, {NAMES.get(target, target)}: {int(sum(vals))} {what} "
                            "over all rounds.")
        if metric == "proxy_drops" and sum(vals) > 0:
            problems.append(f"- {where}, {NAMES.get(target, target)}: Fulcrum's counters show "
                            f"{int(sum(vals))} dropped datagrams over all rounds (kernel receive-"
                            "queue drops, flow table full, no server, send errors, oversize).")
    for workload, medians in sorted(noise.items()):
        if max(medians) >= 10:
            if workload == "latency" and meta.get("latency_rt") == "1":
                consequence = ("the proxies ran under SCHED_FIFO, ahead of that work, but "
                               "interrupts and cache sharing still disturb the tail (p99.9)")
            else:
                consequence = "these figures are disturbed; rerun on an idle machine"
            problems.append(f"- {workload}: other work took {min(medians):.0f}–{max(medians):.0f}% "
                            "of the proxy CPU during the measurements (median of each proxy): "
                            f"{consequence}.")
    if fulcrum_log:
        problems.append(f"- Fulcrum logged {len(fulcrum_log)} warning/error line(s) (it runs with "
                        "`-q`); the first ones:")
        problems.append("")
        problems.append("  ```")
        problems.extend("  " + line[:200] for line in fulcrum_log[:8])
        problems.append("  ```")
    w("## Problems seen during the run")
    w("")
    lines.extend(problems or ["None: every run completed, every connection succeeded and "
                              "Fulcrum logged no warning."])
    w("")
    busy = max(int(meta.get("busy_start", "0")), int(meta.get("busy_end", "0")))
    if busy >= 10:
        w(f"_Note: other processes kept the CPUs {busy}% busy around the run (load average "
          f"{meta.get('load_start')} at the start), so these figures are noisier than on an idle "
          "machine._")
        w("")
    w(f"![benchmark chart]({os.path.basename(out_png)})")
    w("")

    with open(out_md, "w") as f:
        f.write("\n".join(lines))
    chart(stat, threads_list, out_png, udp_variants(data))


def udp_variants(data):
    return sorted({k[1] for k in data if k[0] == "udp"}, key=udp_variant_key)


def udp_report(w, table, stat, data, meta, others_label):
    """The UDP section: targets, then datagrams, DNS and memory per idle flow."""
    if not any(k[0].startswith("udp") for k in data):
        return
    variants = udp_variants(data)
    w("## 6. UDP")
    w("")
    w("Fulcrum (`udp-lb`) and nginx (stream module, `listen ... udp`), 1 worker each on the "
      "proxy CPU; dnsdist in the DNS part. **HAProxy is absent from the UDP rows: HAProxy "
      "2.6 (the free edition) has no UDP load balancing** (it is an HAProxy Enterprise "
      "feature). See [docs/benchmarks.md](../../docs/benchmarks.md#7-udp).")
    w("")

    def median(workload, threads, target, metric):
        s = stat(workload, threads, target, metric)
        return None if s is None else s.median

    rows = []  # (target, goal, figures, met)
    for v in variants or [None]:
        f = median("udp", v, "fulcrum", "cpu_us_per_dgram") if v else None
        n = median("udp", v, "nginx", "cpu_us_per_dgram") if v else None
        name = "proxy CPU per datagram" + (f", {udp_variant_text(v)}" if v else "")
        if f is not None and n is not None and n > 0:
            r = f / n
            rows.append((name, "≤ 0.5× nginx (≥ 2× its datagrams per CPU-second)",
                         f"{fmt_num(f)} vs {fmt_num(n)} µs ({1e6 / f:,.0f} vs {1e6 / n:,.0f} "
                         f"datagrams per CPU-s): {r:.2f}×", "yes" if r <= 0.5 else "**no**"))
        else:
            rows.append((name, "≤ 0.5× nginx (≥ 2× its datagrams per CPU-second)", MISSING,
                         MISSING))
    f = median("udp-dns", "1", "fulcrum", "cpu_us_per_query")
    d = median("udp-dns", "1", "dnsdist", "cpu_us_per_query")
    if f is not None and d is not None and f > 0:
        r = d / f
        rows.append(("DNS queries per proxy CPU-second", "≥ dnsdist",
                     f"{1e6 / f:,.0f} vs {1e6 / d:,.0f} queries per CPU-s: {r:.2f}×",
                     "yes" if r >= 1 else "**no**"))
    else:
        rows.append(("DNS queries per proxy CPU-second", "≥ dnsdist", MISSING, MISSING))
    f = median("udp-memory", "1", "fulcrum", "bytes_per_flow")
    n = median("udp-memory", "1", "nginx", "bytes_per_flow")
    if f is not None and n is not None and n > 0:
        r = f / n
        rows.append(("memory (RSS) per idle flow", "≤ 0.5× nginx",
                     f"{fmt_num(f)} vs {fmt_num(n)} bytes: {r:.2f}×",
                     "yes" if r <= 0.5 else "**no**"))
    else:
        rows.append(("memory (RSS) per idle flow", "≤ 0.5× nginx", MISSING, MISSING))
    w("### UDP targets")
    w("")
    w("| target | goal | Fulcrum vs the reference (medians) | met? |")
    w("|---|---|---|---|")
    for name, goal, figures, met in rows:
        w(f"| {name} | {goal} | {figures} | {met} |")
    w("")
    if meta.get("mode") == "quick":
        w("_Quick mode: the figures are too short to mean anything; run the full suite._")
        w("")

    if variants:
        dg_rows = []
        for v in variants:
            t = udp_variant_text(v)
            dg_rows += [(f"datagrams/s, {t}", "higher", "udp", v, "dgrams_per_s"),
                        (f"proxy CPU-µs per datagram, {t}", "lower", "udp", v, "cpu_us_per_dgram"),
                        (f"lost datagrams, {t}", "lower", "udp", v, "lost"),
                        (f"datagrams Fulcrum dropped (its counters), {t}", "lower", "udp", v,
                         "proxy_drops"),
                        (f"{others_label}, {t}", "lower", "udp", v, "others_pct")]
        table("6.1 UDP datagrams (echo through the proxy)", dg_rows, UDP_PROXIES + ["direct"],
              [("fulcrum", "nginx")],
              f"`fbench udpload`: closed loop, {meta.get('udp_inflight', '?')} datagrams in "
              "flight over all flows, to a `recvmmsg`/`sendmmsg` echo backend; with 1 flow one "
              "socket keeps them all in flight, with many flows each socket (its own source "
              "port, so its own flow) has at most 1 in flight and the free places go round "
              "robin. A warm-up (every flow answered once) comes first and is not measured. "
              "A \"datagram\" is one round trip: the client's datagram and its echo, i.e. two "
              "datagrams relayed by the proxy. Proxy CPU-µs per datagram = the proxy's CPU "
              "time ÷ datagrams answered; Fulcrum/nginx below 0.5 meets the target. \"no "
              "proxy\" is the client straight to the echo backend (the load CPU's ceiling).",
              level="###")
    if any(k[0] == "udp-dns" for k in data):
        dns_rows = [("queries/s", "higher", "udp-dns", "1", "queries_per_s"),
                    ("proxy CPU-µs per query", "lower", "udp-dns", "1", "cpu_us_per_query"),
                    ("average latency µs (dnsperf)", "lower", "udp-dns", "1", "latency_avg_us"),
                    ("lost queries", "lower", "udp-dns", "1", "lost"),
                    ("datagrams Fulcrum dropped (its counters)", "lower", "udp-dns", "1",
                     "proxy_drops"),
                    (others_label, "lower", "udp-dns", "1", "others_pct")]
        table("6.2 DNS (dnsperf → proxy → nsd)", dns_rows, UDP_PROXIES + ["dnsdist", "direct"],
              [("fulcrum", "nginx"), ("fulcrum", "dnsdist")],
              f"`dnsperf -c {meta.get('dns_clients', '?')} -q {meta.get('dns_outstanding', '?')}` "
              "(one A query, answered by nsd from a small zone). Fulcrum with `proxy-requests 1` "
              "and `proxy-responses 1`, nginx with `proxy_requests 1; proxy_responses 1;`: every "
              "query is a new flow that ends with its answer, so queries/s is also new flows per "
              "second on one core. dnsdist (no cache) runs as one process pinned to the proxy "
              "CPU, all its threads measured. Fulcrum/dnsdist CPU-µs per query at or below 1 "
              "meets the target.", level="###")
    if any(k[0] == "udp-memory" for k in data):
        mem_rows = [("RSS bytes per idle flow", "lower", "udp-memory", "1", "bytes_per_flow"),
                    ("RSS kB before", "lower", "udp-memory", "1", "rss_before_kb"),
                    ("RSS kB with the idle flows", "lower", "udp-memory", "1", "rss_after_kb"),
                    ("proxy fds per flow", "–", "udp-memory", "1", "fds_per_flow")]
        table(f"6.3 Memory per idle UDP flow ({meta.get('udp_idle_flows', '?')} idle flows)",
              mem_rows, UDP_PROXIES, [("fulcrum", "nginx")],
              "Each proxy freshly started (1 worker); `fbench udpidle` makes every flow with one "
              "1-byte datagram echoed back, then holds its sockets. RSS of the proxy (nginx: its "
              "worker) before and after; socket buffers held by the kernel are not counted. "
              "nginx allocates its connection slots (`worker_connections`) at start, so they are "
              "in its \"before\" figure. Fulcrum/nginx at or below 0.5 meets the target.",
              level="###")


def chart(stat, threads_list, out_png, variants=()):
    """Six bar charts (median, with min–max error bars) drawn by gnuplot."""
    tmp = tempfile.mkdtemp(prefix="fulcrum-chart.")

    def write(name, labels, series):
        # series: list of (title, [Stat or None per label])
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            for i, label in enumerate(labels):
                row = ['"' + label.replace(" ", "\\n") + '"']  # two-line tic labels
                for _, stats in series:
                    s = stats[i]
                    row += ["NaN"] * 3 if s is None else [f"{s.median:g}", f"{s.lo:g}", f"{s.hi:g}"]
                f.write(" ".join(row) + "\n")
        return path

    tp_targets = ["fulcrum", "fulcrum-splice", "haproxy", "haproxy-splice", "nginx", "direct"]
    if not any(stat("throughput", t, "fulcrum-splice", "gbps") for t in threads_list):
        tp_targets.remove("fulcrum-splice")
    cpu_targets = [t for t in tp_targets if t != "direct"]
    panels = []

    def per_threads(workload, metric, targets, title, ylabel):
        series = [(f"{t} thread{'s' if t != '1' else ''}",
                   [stat(workload, t, x, metric) for x in targets]) for t in threads_list]
        if all(s is None for _, st in series for s in st):
            return
        panels.append((write(f"{workload}-{metric}.dat", [NAMES[x] for x in targets], series),
                       [t for t, _ in series], title, ylabel))

    per_threads("throughput", "gbps", tp_targets, "Throughput (iperf3)", "Gbit/s")
    per_threads("throughput", "cpu_s_per_gb", cpu_targets, "Proxy CPU per GB moved", "CPU-s / GB")
    per_threads("churn", "conns_per_s", PROXIES + ["direct"], "Connection churn", "connections/s")
    per_threads("churn", "cpu_us_per_conn", PROXIES, "Proxy CPU per connection", "CPU-µs / connection")
    lat = [(p, [stat("latency", "1", x, "added_" + p + "_us") for x in PROXIES])
           for p in ("p50", "p99", "p999")]
    if any(s for _, st in lat for s in st):
        panels.append((write("latency.dat", [NAMES[x] for x in PROXIES], lat),
                       ["p50", "p99", "p99.9"], "Added latency (1 thread)", "µs over no proxy"))
    mem = [("bytes", [stat("memory", "1", x, "bytes_per_conn") for x in PROXIES])]
    if any(s for _, st in mem for s in st):
        panels.append((write("memory.dat", [NAMES[x] for x in PROXIES], mem),
                       ["RSS"], "Memory per idle connection", "bytes"))
    udp = [(NAMES[p], [stat("udp", v, p, "cpu_us_per_dgram") for v in variants])
           for p in UDP_PROXIES]
    if any(s for _, st in udp for s in st):
        panels.append((write("udp.dat", [v.replace("-", " ") for v in variants], udp),
                       [t for t, _ in udp], "UDP: proxy CPU per datagram", "CPU-µs / datagram"))
    dns_targets = UDP_PROXIES + ["dnsdist"]
    dns = [("query", [stat("udp-dns", "1", x, "cpu_us_per_query") for x in dns_targets])]
    if any(s for _, st in dns for s in st):
        panels.append((write("dns.dat", [NAMES[x] for x in dns_targets], dns),
                       ["CPU"], "DNS: proxy CPU per query", "CPU-µs / query"))
    umem = [("bytes", [stat("udp-memory", "1", x, "bytes_per_flow") for x in UDP_PROXIES])]
    if any(s for _, st in umem for s in st):
        panels.append((write("udp-memory.dat", [NAMES[x] for x in UDP_PROXIES], umem),
                       ["RSS"], "Memory per idle UDP flow", "bytes"))
    if not panels:
        return
    cols = 3
    rows = (len(panels) + cols - 1) // cols
    gp = [f'set terminal pngcairo size {cols * 520},{rows * 400} font "DejaVu Sans,10"',
          f'set output "{out_png}"',
          f'set multiplot layout {rows},{cols}',  # bars: median; error bars: min–max
          "set style data histogram",
          "set style histogram errorbars gap 1 lw 1",
          "set style fill solid 0.8 border -1",
          "set boxwidth 0.9",
          "set grid ytics",
          "set yrange [0:*]",
          "set key outside top center horizontal",
          "set xtics nomirror",
          "set bmargin 4",  # room for two-line tic labels, also in the last row
          "set datafile missing NaN"]
    for path, titles, title, ylabel in panels:
        gp.append(f'set title "{title}"')
        gp.append(f'set ylabel "{ylabel}"')
        plots = []
        for i, t in enumerate(titles):
            c = 2 + 3 * i
            xt = ":xtic(1)" if i == 0 else ""
            plots.append(f'"{path}" using {c}:{c + 1}:{c + 2}{xt} title "{t}"')
        gp.append("plot " + ", ".join(plots))
    gp.append("unset multiplot")
    script = os.path.join(tmp, "chart.gp")
    with open(script, "w") as f:
        f.write("\n".join(gp) + "\n")
    subprocess.run(["gnuplot", script], check=True)


if __name__ == "__main__":
    main()
