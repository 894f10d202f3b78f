// The HTML stats page (GET / and /stats on the admin HTTP listener) and the JSON it
// refreshes from (GET /stats.json). The page is rendered with the live figures, so it is
// complete without JavaScript; a small inline script then fetches /stats.json every few
// seconds and rewrites the figures in place. Both are pure functions of their inputs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "admin/control.h"
#include "admin/stats_view.h"

namespace fulcrum::admin {

struct StatsPageOptions {
  // Seconds between refreshes of the figures; 0: never (the ?refresh=N parameter).
  uint32_t refreshSeconds = 5;
  static constexpr uint32_t kMaxRefreshSeconds = 3600;
};

std::string renderStatsPage(const std::vector<StatRow>& rows, const ProcessInfo& info,
                            const StatsPageOptions& options = {});

// { "generated": "...", "process": {...,"cells":{...}}, "rows": [{"key","cls",...,
// "cells":{...}}] }: the raw figures, and the page's cells as the page shows them.
std::string renderStatsJson(const std::vector<StatRow>& rows, const ProcessInfo& info);

// Escapes & < > " ' for HTML text and attribute values (exposed for tests).
std::string escapeHtml(std::string_view text);

}  // namespace fulcrum::admin
