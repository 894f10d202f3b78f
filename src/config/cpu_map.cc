#include "config/cpu_map.h"

#include <fmt/core.h>

#include <algorithm>
#include <bit>
#include <string_view>

#include "config/units.h"

namespace fulcrum::config {
namespace {

constexpr uint32_t kMaxProcess = 64;  // HAProxy's process numbers: 1 to LONGBITS

// "1 CPU", "2 CPUs".
std::string count(size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// "N", "N-" or "N-M" with min <= N <= M <= max; an open end is max (open set).
Status parseRange(std::string_view text, uint32_t min, uint32_t max, uint32_t& lo, uint32_t& hi,
                  bool& open) {
  open = false;
  auto dash = text.find('-');
  std::string_view a = text.substr(0, dash);
  auto first = parseUint(a, min, max);
  if (!first) return Error{first.error()};
  lo = hi = static_cast<uint32_t>(*first);
  if (dash == std::string_view::npos) return Ok{};
  std::string_view b = text.substr(dash + 1);
  if (b.empty()) {
    hi = max;
    open = true;
    return Ok{};
  }
  auto last = parseUint(b, min, max);
  if (!last) return Error{last.error()};
  hi = static_cast<uint32_t>(*last);
  if (hi < lo) return Error{fmt::format("range '{}' is reversed", text)};
  return Ok{};
}

// The process set, as a bit mask of processes 1..64 (bit 0 is process 1).
Result<uint64_t> parseProcesses(std::string_view text) {
  if (text == "all") return ~uint64_t{0};
  if (text == "odd") return uint64_t{0x5555555555555555};
  if (text == "even") return uint64_t{0xAAAAAAAAAAAAAAAA};
  uint32_t lo = 0, hi = 0;
  bool open = false;
  if (auto s = parseRange(text, 1, kMaxProcess, lo, hi, open); !s) {
    return Error{
        fmt::format("invalid process set '{}': {} (expected 1, all, or a range such as "
                    "1-2)",
                    text, s.error())};
  }
  uint64_t mask = 0;
  for (uint32_t p = lo; p <= hi; ++p) mask |= uint64_t{1} << (p - 1);
  return mask;
}

}  // namespace

Result<PendingCpuMap> parseCpuMap(const std::vector<std::string>& args) {
  if (args.size() < 2) {
    return Error{
        "expects a thread set such as '1/1-4' (or '1' for all threads) followed by "
        "one or more CPU sets"};
  }
  PendingCpuMap out;
  std::string_view spec = args[0];
  if (spec.starts_with("auto:")) {
    out.map.autoSpread = true;
    spec.remove_prefix(5);
  }
  std::string_view procText = spec;
  std::string_view threadText;
  bool hasThreads = false;
  if (auto slash = spec.find('/'); slash != std::string_view::npos) {
    procText = spec.substr(0, slash);
    threadText = spec.substr(slash + 1);
    hasThreads = true;
  }

  auto procs = parseProcesses(procText);
  if (!procs) return Error{procs.error()};
  if ((*procs & 1) == 0) {
    // HAProxy 2.6 accepts such a leftover of nbproc configurations and maps nothing.
    out.mapsNothing = true;
    out.warning = fmt::format(
        "process set '{}' does not include process 1: HAProxy has a single process since 2.5, "
        "so this line maps nothing; ignored (to map threads, write '1/THREADS')",
        procText);
    return out;
  }
  const int procCount = std::popcount(*procs);
  if (procCount > 1 && procText != "all") {
    out.warning = fmt::format(
        "process numbers above 1 in '{}' are ignored, as in HAProxy since 2.5 (one process); this "
        "line maps all threads of process 1 (to map threads, write '1/THREADS')",
        procText);
  }

  // Threads: "all" (the default without '/'), N, N- or N-M.
  uint32_t first = 1, last = kMaxThreads;
  bool open = true;
  if (hasThreads && threadText != "all") {
    if (threadText == "odd" || threadText == "even") {
      return Error{
          fmt::format("thread set '{}' is not supported yet (use numbers or ranges)", threadText)};
    }
    if (auto s = parseRange(threadText, 1, kMaxThreads, first, last, open); !s)
      return Error{fmt::format("invalid thread set '{}': {}", threadText, s.error())};
  }

  // CPUs: each argument is a comma-separated list of N, N-M or N- (to the last CPU).
  std::vector<uint32_t> cpus;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string_view list = args[i];
    size_t start = 0;
    while (true) {
      size_t comma = list.find(',', start);
      std::string_view item = list.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      uint32_t lo = 0, hi = 0;
      bool cpuOpen = false;
      if (item.empty()) return Error{fmt::format("empty CPU set in '{}'", list)};
      if (auto s = parseRange(item, 0, kMaxCpu, lo, hi, cpuOpen); !s)
        return Error{fmt::format("invalid CPU set '{}': {}", item, s.error())};
      for (uint32_t c = lo; c <= hi; ++c) cpus.push_back(c);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());

  if (out.map.autoSpread) {
    if (!hasThreads) {
      // HAProxy spreads the process set over the CPUs: process 1 takes the lowest CPU and
      // the other processes do not exist, so every thread runs on that CPU.
      if (static_cast<size_t>(procCount) != cpus.size()) {
        return Error{
            fmt::format("with 'auto:', the process set '{}' ({}) and the CPU set ({}) "
                        "must have the same size (to spread threads, write "
                        "'auto:1/THREADS')",
                        procText, count(static_cast<size_t>(procCount), "process", "processes"),
                        count(cpus.size(), "CPU", "CPUs"))};
      }
      out.map.autoSpread = false;
      cpus.resize(1);
    } else {
      if (procCount > 1) {
        return Error{
            fmt::format("with 'auto:', only one of the process set ('{}') and the "
                        "thread set ('{}') may be a range; write 'auto:1/{}'",
                        procText, threadText, threadText)};
      }
      if (!open && static_cast<size_t>(last - first + 1) != cpus.size()) {
        return Error{
            fmt::format("with 'auto:', the thread set '{}' ({}) and the CPU set ({}) "
                        "must have the same size",
                        threadText, count(last - first + 1, "thread", "threads"),
                        count(cpus.size(), "CPU", "CPUs"))};
      }
    }
  }
  out.map.firstThread = first;
  out.map.lastThread = last;
  out.openEnded = open;
  out.map.cpus = std::move(cpus);
  return out;
}

Result<model::CpuMap> resolveCpuMap(const PendingCpuMap& pending, uint32_t nbthread) {
  model::CpuMap m = pending.map;
  if (nbthread > 0) {
    if (m.firstThread > nbthread) {
      return Error{
          fmt::format("thread {} is beyond 'nbthread {}' (threads are numbered from 1 "
                      "to {})",
                      m.firstThread, nbthread, nbthread)};
    }
    if (pending.openEnded) {
      m.lastThread = nbthread;
    } else if (m.lastThread > nbthread) {
      return Error{
          fmt::format("thread {} is beyond 'nbthread {}' (threads are numbered from 1 "
                      "to {})",
                      m.lastThread, nbthread, nbthread)};
    }
  } else if (pending.openEnded && m.autoSpread) {
    return Error{
        "'auto:' with an open thread set ('all' or 'N-') needs 'nbthread' to know how "
        "many threads to spread over the CPUs"};
  }
  if (m.autoSpread && static_cast<size_t>(m.lastThread - m.firstThread + 1) != m.cpus.size()) {
    return Error{fmt::format(
        "with 'auto:', threads {} to {} ({}) and the CPU set ({}) must have "
        "the same size",
        m.firstThread, m.lastThread, count(m.lastThread - m.firstThread + 1, "thread", "threads"),
        count(m.cpus.size(), "CPU", "CPUs"))};
  }
  return m;
}

}  // namespace fulcrum::config
