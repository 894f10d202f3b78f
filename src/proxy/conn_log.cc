#include "proxy/conn_log.h"

#include <ctime>

namespace fulcrum::proxy {
namespace {

constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void appendAddr(const SockAddr& a, fmt::memory_buffer& out) {
  fmt::format_to(std::back_inserter(out), "{}:{}", a.hostString(), a.port());
}

}  // namespace

void formatTcplog(const ConnLogRecord& r, fmt::memory_buffer& out) {
  time_t secs = static_cast<time_t>(r.acceptedWall / kSeconds);
  struct tm tm;
  localtime_r(&secs, &tm);
  auto it = std::back_inserter(out);
  appendAddr(*r.client, out);
  fmt::format_to(it,
                 " [{:02}/{}/{:04}:{:02}:{:02}:{:02}.{:03}] {} {}/{} {}/{}/{} {} {}{} "
                 "{}/{}/{}/{}/{} {}/{}",
                 tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, (r.acceptedWall / kMillis) % 1000, r.frontend, r.backend, r.server,
                 r.tw, r.tc, r.tt, r.bytesRead, r.term[0], r.term[1], r.actconn, r.feconn, r.beconn,
                 r.srvconn, r.retries, r.sq, r.bq);
}

void formatConnect(const SockAddr& client, const SockAddr& frontAddr, std::string_view frontend,
                   fmt::memory_buffer& out) {
  auto it = std::back_inserter(out);
  fmt::format_to(it, "Connect from ");
  appendAddr(client, out);
  fmt::format_to(it, " to ");
  appendAddr(frontAddr, out);
  fmt::format_to(it, " ({}/TCP)", frontend);
}

}  // namespace fulcrum::proxy
