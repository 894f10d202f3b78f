// HAProxy's "show stat" output forms of the StatsView rows: the CSV (HAProxy 2.6's column
// order, the columns Fulcrum has no figure for left empty), and the typed forms ("typed"
// text and "json"), which hold only the filled fields, each with HAProxy's position, tags
// and value type (admin/typed_field.h).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "admin/stats_view.h"

namespace fulcrum::admin {

// Which rows "show stat" prints: HAProxy's "show stat [{IID|PROXY} TYPE SID] [up|no-maint]".
struct StatFilter {
  int64_t proxyId = -1;   // -1: every proxy
  std::string proxyName;  // when not empty: only this proxy
  int typeMask = -1;      // 1 frontends, 2 backends, 4 servers; -1: all
  int64_t serverId = -1;  // -1: every server
  bool upOnly = false;    // "up": only servers UP (and frontends, backends)
  bool noMaint = false;   // "no-maint": no server in MAINT
  bool matches(const StatRow& row) const;
};

// The "# pxname,svname,..." line, without the newline.
std::string statCsvHeader();
// The rows in HAProxy's order: proxy by proxy (by id), its FRONTEND, its servers, its
// BACKEND.
std::vector<const StatRow*> statOrder(const std::vector<StatRow>& rows, const StatFilter& filter);
// The cells of one row keyed by CSV column name; only the filled ones. `showAddr`: the
// server address column (HAProxy hides it below the operator level).
nlohmann::json statCells(const StatRow& row, bool showAddr);
// Header line and one line per row, each ending in '\n'.
std::string renderStatCsv(const std::vector<const StatRow*>& rows, bool showAddr);
// "show stat typed": one "F.IID.SID.POS.NAME.1:TAGS:TYPE:VALUE" line per filled field.
std::string renderStatTyped(const std::vector<const StatRow*>& rows, bool showAddr);
// "show stat json": an array per row of typed field objects, as HAProxy prints it.
std::string renderStatJson(const std::vector<const StatRow*>& rows, bool showAddr);

}  // namespace fulcrum::admin
