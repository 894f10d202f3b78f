// Connection log lines in HAProxy's formats: the tcplog line written when a connection
// ends (option tcplog), and the "Connect from" line written at accept otherwise.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string_view>

#include "common/clock.h"
#include "common/net.h"

namespace fulcrum::proxy {

struct ConnLogRecord {
  const SockAddr* client = nullptr;
  Micros acceptedWall = 0;  // wall-clock accept time, µs since the epoch
  std::string_view frontend;
  std::string_view backend = "<NOSRV>";
  std::string_view server = "<NOSRV>";
  int64_t tw = -1;         // ms waiting in the queue, -1: never reached
  int64_t tc = -1;         // ms to connect to the server, -1: never connected
  int64_t tt = 0;          // ms from accept to close
  uint64_t bytesRead = 0;  // bytes from the server to the client
  char term[2] = {'-', '-'};
  int64_t actconn = 0, feconn = 0, beconn = 0, srvconn = 0;
  uint32_t retries = 0;
  int64_t sq = 0, bq = 0;
};

// "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq", no newline.
void formatTcplog(const ConnLogRecord& r, fmt::memory_buffer& out);
// "Connect from %ci:%cp to %fi:%fp (%f/TCP)", no newline.
void formatConnect(const SockAddr& client, const SockAddr& frontAddr, std::string_view frontend,
                   fmt::memory_buffer& out);

}  // namespace fulcrum::proxy
