#include "xdp/tables.h"

#include <arpa/inet.h>
#include <fmt/core.h>

#include <cstring>

#include "model/acl.h"
#include "xdp/rings.h"

namespace fulcrum::xdp {

bool Vip::operator==(const Vip& o) const {
  return std::memcmp(&key, &o.key, sizeof(key)) == 0 && ring == o.ring && flags == o.flags &&
         service == o.service;
}

namespace {

uint32_t schedFlags(const model::Pool& pool) {
  switch (pool.balance.algo) {
    case model::BalanceAlgo::kSource: return FULCRUM_VIP_SCHED_SOURCE;
    case model::BalanceAlgo::kRoundRobin:
    case model::BalanceAlgo::kStaticRr: return FULCRUM_VIP_SCHED_RR;
    default: return 0;  // maglev: the flow hash
  }
}

uint8_t forwardOf(model::ForwardMode m) {
  switch (m) {
    case model::ForwardMode::kIpip: return FULCRUM_FWD_IPIP;
    case model::ForwardMode::kGue: return FULCRUM_FWD_GUE;
    case model::ForwardMode::kDr: return FULCRUM_FWD_DR;
    case model::ForwardMode::kNat: return FULCRUM_FWD_NAT;
  }
  return 0;
}

fulcrum_settings settingsOf(const model::XdpSettings& x, const HostDefaults& host) {
  fulcrum_settings st{};
  std::memcpy(st.src_mac, host.sourceMac.data(), 6);
  if (x.nextHop) std::memcpy(st.next_hop_mac, x.nextHop->data(), 6);
  if (auto v4 = x.tunnelV4 ? x.tunnelV4 : host.ipv4) {
    std::memcpy(&st.outer_v4_base, v4->data(), 4);
    st.outer_v4_count = x.tunnelV4 ? x.tunnelV4Count : 1;
  } else {
    st.outer_v4_count = 1;
  }
  if (auto v6 = x.tunnelV6 ? x.tunnelV6 : host.ipv6) std::memcpy(st.outer_v6_base, v6->data(), 16);
  st.udp_timeout_ns = static_cast<uint64_t>(x.udpTimeout) * 1000;
  st.gue_port = htons(x.guePort);
  st.new_flow_rate = x.newFlowRate;
  return st;
}

}  // namespace

Result<Tables> tablesOf(const control::Publication& pub, const HostDefaults& host,
                        const MacOf& macOf, const Limits& limits, const Tables* previous) {
  const model::Config& cfg = pub.config();
  Tables t;
  t.settings = settingsOf(cfg.global.xdp, host);
  const bool haveNextHop = cfg.global.xdp.nextHop.has_value();
  std::vector<bool> poolDone(cfg.pools.size());
  for (const model::Service& svc : cfg.services) {
    if (svc.forwarding != model::Forwarding::kPacket || svc.defaultPool < 0) continue;
    const auto p = static_cast<size_t>(svc.defaultPool);
    const model::Pool& pool = cfg.pools[p];
    const control::PoolTables& tables = *pub.pools.at(p);
    const auto ring = static_cast<uint32_t>(t.rings.size());
    if (ring >= limits.maxServices)
      return Error{
          fmt::format("frontend '{}': more packet services than the {} the program was "
                      "loaded for (xdp-max-services; a restart applies a new value)",
                      svc.name, limits.maxServices)};
    // The ring: the pool's Maglev table in real indices, reused while the tables are.
    std::shared_ptr<const std::vector<uint32_t>> slots;
    if (previous != nullptr)
      for (size_t r = 0; r < previous->ringSources.size(); ++r)
        if (previous->ringSources[r] == &tables) slots = previous->rings[r];
    if (!slots) slots = std::make_shared<const std::vector<uint32_t>>(ringOf(pool, tables));
    if (slots->size() != limits.ringSize)
      return Error{
          fmt::format("backend '{}': its Maglev table has {} slots, the program's rings "
                      "{}",
                      pool.name, slots->size(), limits.ringSize)};
    t.rings.push_back(std::move(slots));
    t.ringSources.push_back(&tables);
    for (const model::Bind& b : svc.binds) {
      Vip v;
      model::toV6Bytes(b.addr, v.key.addr);
      v.key.port = htons(b.addr.port());
      v.key.proto = svc.protocol == model::Protocol::kUdp ? IPPROTO_UDP : IPPROTO_TCP;
      v.ring = ring;
      v.flags = schedFlags(pool) | (b.addr.port() == 0 ? FULCRUM_VIP_ALL_PORTS : 0);
      v.service = svc.name;
      t.vips.push_back(std::move(v));
    }
    if (t.vips.size() > limits.maxVips)
      return Error{fmt::format("frontend '{}': more VIPs than the {} the program was loaded for",
                               svc.name, limits.maxVips)};
    if (poolDone[p]) continue;
    poolDone[p] = true;
    for (size_t i = 0; i < pool.servers.size(); ++i) {
      const model::Server& s = pool.servers[i];
      if (s.real >= limits.maxReals)
        return Error{
            fmt::format("backend '{}': server '{}' has real index {}, beyond the {} the "
                        "program was loaded for (xdp-max-reals; a restart applies a new "
                        "value)",
                        pool.name, s.name, s.real, limits.maxReals)};
      fulcrum_real_def d{};
      model::toV6Bytes(s.addr, d.addr);
      d.flags = s.addr.isV6() ? FULCRUM_REAL_V6 : 0;
      const model::ForwardMode mode = s.forward.value_or(pool.forward);
      d.forward = forwardOf(mode);
      if (mode == model::ForwardMode::kNat) d.port = htons(s.addr.port());
      const model::ServerState state = pub.snapshot->runtime[p][i].state;
      if (state == model::ServerState::kDown || state == model::ServerState::kMaint) d.forward = 0;
      // Frames go to the real's own MAC when it is on the link (in the neighbour table);
      // else to the configured next hop. DR always needs the real's MAC.
      if (d.forward != 0) {
        if (auto mac = macOf(s.addr)) {
          std::memcpy(d.mac, mac->data(), 6);
        } else if (mode == model::ForwardMode::kDr || !haveNextHop) {
          d.forward = 0;
          t.unresolved.push_back(fmt::format("{}/{}", pool.name, s.name));
        }
      }
      t.reals[s.real] = d;
    }
  }
  return t;
}

}  // namespace fulcrum::xdp
