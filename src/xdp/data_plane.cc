#include "xdp/data_plane.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fmt/core.h>
#include <netinet/in.h>

#include <cstring>
#include <thread>

#include "common/log.h"
#include "model/acl.h"
#include "sched/flow_hash.h"
#include "sched/maglev.h"
#include "xdp/host.h"

namespace fulcrum::xdp {

namespace {

// The plan slot of a publication: the packet path keeps its state in the maps.
class XdpPlan final : public control::DataPlanePlan {};

bool hasPacketServices(const model::Config& cfg) {
  for (const model::Service& svc : cfg.services)
    if (svc.forwarding == model::Forwarding::kPacket) return true;
  return false;
}

// How long a change waits, once per address, for the kernel to resolve a real's MAC.
constexpr Micros kResolveWait = 300 * kMillis;
constexpr Micros kResolveRetry = 5 * kSeconds;

}  // namespace

XdpDataPlane::XdpDataPlane(control::PublicationBox& box, size_t slot) : box_(box), slot_(slot) {}

XdpDataPlane::~XdpDataPlane() { stop(); }

Result<std::shared_ptr<const control::DataPlanePlan>> XdpDataPlane::plan(const model::Config& next,
                                                                         bool draining) {
  stopGrace_ = next.global.xdp.stopGrace;
  if (!draining && !program_ && hasPacketServices(next)) {
    const model::XdpSettings& x = next.global.xdp;
    auto host = interfaceDefaults(x.interfaces.empty() ? std::string() : x.interfaces[0].name);
    if (!host) {
      const model::XdpInterface& itf = x.interfaces[0];
      return Error{fmt::format("{}:{}: xdp-interface '{}': no such interface", itf.loc.file,
                               itf.loc.line, itf.name)};
    }
    auto prog = Program::load(x, sched::Maglev::kDefaultTableSize);
    if (!prog) return Error{prog.error()};
    if (auto st = (*prog)->attach(x.interfaces); !st) return Error{st.error()};
    host_ = *host;
    program_ = std::move(*prog);
    writer_ = std::make_unique<MapWriter>(*program_);
    std::string names;
    for (const auto& itf : x.interfaces)
      names += fmt::format("{}{} ({})", names.empty() ? "" : ", ", itf.name,
                           itf.generic ? "generic" : "native");
    if (program_->adopted())
      log::notice(
          "packet data plane: maps pinned in '{}' adopted (connection table, rings and "
          "reals of the previous process carry on)",
          x.pinPath);
    log::notice("packet data plane: XDP program attached to {}", names);
  }
  return std::shared_ptr<const control::DataPlanePlan>(std::make_shared<XdpPlan>());
}

Status XdpDataPlane::start() {
  started_ = true;
  if (auto pub = box_.current()) published(*pub);
  return Ok{};
}

void XdpDataPlane::published(const control::Publication& pub) {
  if (!program_ || !started_) return;
  // The reals' MACs: one read of the neighbour table per change. A real not in it is
  // asked for (at most every kResolveRetry); the first time, the change waits a little
  // for the answers, then reads the table again.
  NeighbourTable table = neighbours();
  std::vector<SockAddr> firstAsked;
  auto macOf = [&](const SockAddr& a) -> std::optional<Mac> {
    std::array<uint8_t, 16> key{};
    model::toV6Bytes(a, key.data());
    if (auto it = table.find(key); it != table.end()) return it->second;
    const std::string name = a.hostString();
    const Micros now = monotonicNow();
    auto asked = provoked_.find(name);
    if (asked == provoked_.end() || now - asked->second >= kResolveRetry) {
      if (asked == provoked_.end()) firstAsked.push_back(a);
      provokeResolution(a);
      provoked_[name] = now;
    }
    return std::nullopt;
  };
  auto t = tablesOf(pub, host_, macOf, program_->limits(), writer_->written());
  if (t && !t->unresolved.empty() && !firstAsked.empty()) {
    for (Micros waited = 0; waited < kResolveWait; waited += 10 * kMillis) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      table = neighbours();
      bool all = true;
      for (const SockAddr& a : firstAsked) {
        std::array<uint8_t, 16> key{};
        model::toV6Bytes(a, key.data());
        all = all && table.count(key) != 0;
      }
      if (all) break;
    }
    firstAsked.clear();
    t = tablesOf(pub, host_, macOf, program_->limits(), writer_->written());
  }
  if (!t) {
    log::error("packet data plane: generation {} not applied: {}", pub.generation, t.error());
    return;
  }
  if (t->unresolved != unresolved_) {  // logged when the set changes, not every second
    for (const std::string& s : t->unresolved)
      log::warning(
          "packet data plane: server {}: its MAC address is unknown (not in the neighbour "
          "table); left out until it is",
          s);
    unresolved_ = t->unresolved;
  }
  writer_->write(*t);
}

void XdpDataPlane::tick(const model::Snapshot& snap) {
  if (!writer_ || !writer_->written()) return;
  if (!writer_->written()->unresolved.empty())
    if (auto pub = box_.current()) published(*pub);
  // Ring counters are cumulative: the frontends get the difference since the last tick.
  const PacketStats stats = writer_->stats();
  const model::Config& cfg = *snap.config;
  for (const auto& [name, now] : stats.services) {
    const int s = cfg.findService(name);
    if (s < 0) continue;
    auto [it, fresh] = counted_.try_emplace(name, now);
    Counted& before = it->second;
    const fulcrum_vip_stats& a = before.counters;
    const fulcrum_vip_stats& b = now.counters;
    model::ServiceStats& st = *snap.serviceStats[static_cast<size_t>(s)];
    // A ring's counters start at zero when it is given to a service (MapWriter), so a
    // service's first sample on a ring is all it counted there.
    if (fresh || before.ring != now.ring) {
      st.packets.fetch_add(b.packets, std::memory_order_relaxed);
      st.bytesIn.fetch_add(b.bytes, std::memory_order_relaxed);
      st.accepted.fetch_add(b.new_flows, std::memory_order_relaxed);
    } else if (b.packets >= a.packets && b.bytes >= a.bytes && b.new_flows >= a.new_flows) {
      st.packets.fetch_add(b.packets - a.packets, std::memory_order_relaxed);
      st.bytesIn.fetch_add(b.bytes - a.bytes, std::memory_order_relaxed);
      st.accepted.fetch_add(b.new_flows - a.new_flows, std::memory_order_relaxed);
    }
    before = now;
  }
  // Per real: its server's packets, bytes (client to server) and flows (connections).
  for (size_t p = 0; p < cfg.pools.size(); ++p) {
    for (size_t i = 0; i < cfg.pools[p].servers.size(); ++i) {
      const uint32_t index = cfg.pools[p].servers[i].real;
      auto now = stats.reals.find(index);
      if (now == stats.reals.end()) continue;
      auto [it, fresh] = countedReals_.try_emplace(index, now->second);
      const fulcrum_real_stats& a = it->second.counters;
      const fulcrum_real_stats& b = now->second.counters;
      const bool restart = fresh || it->second.epoch != now->second.epoch;
      if (!restart && (b.packets < a.packets || b.bytes < a.bytes || b.new_flows < a.new_flows))
        continue;
      model::ServerStats& st = *snap.serverStats[p][i];
      st.packets.fetch_add(b.packets - (restart ? 0 : a.packets), std::memory_order_relaxed);
      st.bytesIn.fetch_add(b.bytes - (restart ? 0 : a.bytes), std::memory_order_relaxed);
      st.connections.fetch_add(b.new_flows - (restart ? 0 : a.new_flows),
                               std::memory_order_relaxed);
      it->second = now->second;
    }
  }
}

void XdpDataPlane::stop() {
  if (program_) {
    if (!program_->pinPath().empty() && stopGrace_ > 0) {
      log::notice("packet data plane: forwarding for xdp-stop-grace ({} ms) before leaving",
                  stopGrace_ / kMillis);
      std::this_thread::sleep_for(std::chrono::microseconds(stopGrace_));
    }
    program_->remove();
    log::notice("packet data plane: XDP program detached{}",
                program_->pinPath().empty() ? "" : " and its pins removed");
  }
  writer_.reset();
  program_.reset();
}

void XdpDataPlane::leave() {
  if (!program_ || program_->pinPath().empty()) {
    stop();
    return;
  }
  // This process's descriptors close; the pins keep the program attached and the maps.
  log::notice("packet data plane: left forwarding, pinned in '{}', for the next start",
              program_->pinPath());
  writer_.reset();
  program_.reset();
}

Result<std::string> XdpDataPlane::whichReal(const control::Publication& pub, model::Protocol proto,
                                            const SockAddr& vip, const SockAddr& client) const {
  const model::Config& cfg = pub.config();
  // The service: the VIP's exact port, else its all-ports bind (as the program looks).
  int found = -1;
  for (int pass = 0; pass < 2 && found < 0; ++pass)
    for (size_t i = 0; i < cfg.services.size() && found < 0; ++i) {
      const model::Service& svc = cfg.services[i];
      if (svc.forwarding != model::Forwarding::kPacket || svc.defaultPool < 0 ||
          svc.protocol != proto)
        continue;
      for (const model::Bind& b : svc.binds) {
        SockAddr want = vip;
        if (pass == 1) want.setPort(0);
        if (b.addr == want) found = static_cast<int>(i);
      }
    }
  const char* protoName = proto == model::Protocol::kUdp ? "udp" : "tcp";
  if (found < 0)
    return Error{fmt::format("No packet service serves {} {}.", protoName, vip.toString())};
  const model::Service& svc = cfg.services[static_cast<size_t>(found)];
  const auto p = static_cast<size_t>(svc.defaultPool);
  const model::Pool& pool = cfg.pools[p];
  auto serverAt = [&](size_t i) {
    const model::Server& s = pool.servers[i];
    return fmt::format("{}/{} ({})", pool.name, s.name, s.addr.toString());
  };
  // An existing flow: the connection table.
  if (program_) {
    fulcrum_flow_key key{};
    model::toV6Bytes(client, key.src);
    model::toV6Bytes(vip, key.dst);
    key.sport = htons(client.port());
    key.dport = htons(vip.port());
    key.proto = proto == model::Protocol::kUdp ? IPPROTO_UDP : IPPROTO_TCP;
    fulcrum_flow_value v{};
    if (bpf_map_lookup_elem(program_->conns(), &key, &v) == 0) {
      for (size_t i = 0; i < pool.servers.size(); ++i)
        if (pool.servers[i].real == v.real)
          return fmt::format("frontend {}: in the connection table: {}", svc.name, serverAt(i));
      return fmt::format(
          "frontend {}: in the connection table: real {} (no longer in '{}'; "
          "its next packet is scheduled anew)",
          svc.name, v.real, pool.name);
    }
  }
  const control::PoolTables& tables = *pub.pools.at(p);
  if (!tables.maglev || tables.maglev->size() == 0)
    return fmt::format(
        "frontend {}: a new flow would be dropped: backend '{}' has no usable server", svc.name,
        pool.name);
  const bool source = pool.balance.algo == model::BalanceAlgo::kSource;
  const bool rr = pool.balance.algo == model::BalanceAlgo::kRoundRobin ||
                  pool.balance.algo == model::BalanceAlgo::kStaticRr;
  const uint32_t hash =
      source ? sched::addrHash(client) : sched::flowHash(client, vip, IPPROTO_TCP);
  const uint32_t slot = tables.maglev->slotOf(hash);
  const int32_t index = tables.maglev->table()[slot];
  if (index < 0)
    return fmt::format(
        "frontend {}: a new flow would be dropped: backend '{}' has no usable server", svc.name,
        pool.name);
  const std::string who = serverAt(static_cast<size_t>(index));
  if (rr)
    return fmt::format(
        "frontend {}: a new flow (SYN) takes the next slot of the round-robin walk; "
        "another packet of the flow, without an entry, goes to {} (slot {} of {} "
        "by the flow hash)",
        svc.name, who, slot, tables.maglev->size());
  return fmt::format("frontend {}: a new flow goes to {} (slot {} of {} by the {} hash)", svc.name,
                     who, slot, tables.maglev->size(), source ? "client address" : "flow");
}

std::optional<PacketStats> XdpDataPlane::stats() const {
  if (!writer_) return std::nullopt;
  return writer_->stats();
}

}  // namespace fulcrum::xdp
