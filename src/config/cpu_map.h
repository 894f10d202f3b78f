// "cpu-map [auto:]PROCESSES[/THREADS] CPUS..." (HAProxy 2.6 syntax, one process).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "model/model.h"

namespace fulcrum::config {

constexpr uint32_t kMaxThreads = 4096;  // HAProxy's MAX_THREADS on 64-bit builds
constexpr uint32_t kMaxCpu = 1023;      // CPU numbers 0..1023, as HAProxy on Linux

// One cpu-map line before the final checks: an open-ended thread set ("all", "1/3-")
// stops at nbthread, which may be set later in the file.
struct PendingCpuMap {
  model::CpuMap map;  // map.lastThread is meaningless when openEnded
  bool openEnded = false;
  std::string warning;       // non-empty: a warning for the line (process numbers above 1)
  bool mapsNothing = false;  // a process set without process 1: warned about, not applied
};

// args are the words after "cpu-map".
Result<PendingCpuMap> parseCpuMap(const std::vector<std::string>& args);

// Resolves an open-ended thread set and checks thread numbers against nbthread (0: not
// set, one thread per CPU at run time). Without nbthread, "all" runs to kMaxThreads and
// the data plane ignores threads it does not have (as HAProxy ignores threads above
// nbthread).
Result<model::CpuMap> resolveCpuMap(const PendingCpuMap& pending, uint32_t nbthread);

}  // namespace fulcrum::config
