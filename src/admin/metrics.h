// Prometheus text exposition (format 0.0.4) of the stats rows and the process figures,
// served by the admin HTTP listener at GET /metrics. A pure function of its inputs, so
// that it is tested without a running process. docs/operations.md lists every family.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "admin/control.h"
#include "admin/stats_view.h"
#include "model/stats.h"

namespace fulcrum::admin {

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

std::string renderPrometheus(const std::vector<StatRow>& rows, const ProcessInfo& info,
                             const model::ProcessStats& process);

// Escapes a label value: backslash, double quote and line feed (exposed for tests).
std::string escapeLabelValue(std::string_view v);

}  // namespace fulcrum::admin
