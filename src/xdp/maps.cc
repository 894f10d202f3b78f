#include "xdp/maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstring>

namespace fulcrum::xdp {

namespace {

bool sameKey(const fulcrum_vip_key& a, const fulcrum_vip_key& b) {
  return std::memcmp(&a, &b, sizeof(a)) == 0;
}

}  // namespace

std::vector<NamedCounter> namedCounters(const fulcrum_global_stats& s) {
  return {
      {"packets", s.packets, "Packets seen by the XDP program."},
      {"passed_no_vip", s.passed_no_vip, "Packets for no VIP, passed to the kernel untouched."},
      {"passed_other", s.passed_other, "Packets that are not TCP or UDP over IP, passed."},
      {"passed_frag", s.passed_frag, "IP fragments, passed to the kernel."},
      {"passed_options", s.passed_options, "IPv4 options or IPv6 extension headers, passed."},
      {"malformed", s.malformed, "Truncated or inconsistent headers, dropped."},
      {"conn_table_hits", s.lru_hits, "Packets whose flow was in the connection table."},
      {"conn_table_misses", s.lru_misses, "Packets whose flow was scheduled by the VIP's ring."},
      {"no_real", s.no_real, "Packets dropped because the VIP had no usable real."},
      {"encap_failed", s.encap_failed, "Packets dropped for lack of room to encapsulate."},
      {"forwarded", s.forwarded, "Packets sent to a real."},
      {"nat_returned", s.nat_returned, "NAT replies rewritten back to their VIP."},
      {"nat_family", s.nat_family, "Packets dropped: NAT to a real of the other IP family."},
      {"flood_skipped", s.flood_skipped,
       "New flows forwarded but not stored: the flood guard's rate was reached."},
      {"icmp_forwarded", s.icmp_forwarded, "ICMP too-big errors sent to the flow's real."},
  };
}

// The first write of a ring goes to half 0, unless adopted VIPs read half 0 of it.
MapWriter::MapWriter(const Program& program)
    : p_(program), activeHalf_(program.limits().maxServices, 1) {
  if (!program.adopted()) return;
  fulcrum_vip_key key{}, next{};
  const fulcrum_vip_key* prev = nullptr;
  while (bpf_map_get_next_key(program.vips(), prev, &next) == 0) {
    fulcrum_vip_meta meta{};
    if (bpf_map_lookup_elem(program.vips(), &next, &meta) == 0) {
      adoptedVips_.push_back(next);
      if (meta.ring < activeHalf_.size()) activeHalf_[meta.ring] = meta.half & 1;
    }
    key = next;
    prev = &key;
  }
  for (uint32_t i = 0; i < program.limits().maxReals; ++i) {
    fulcrum_real_def def{};
    if (bpf_map_lookup_elem(program.reals(), &i, &def) == 0 && def.forward != 0)
      adoptedReals_.push_back(i);
  }
}

void MapWriter::write(const Tables& t) {
  const Program& p = p_;
  const uint32_t zero = 0;
  bpf_map_update_elem(p.settings(), &zero, &t.settings, BPF_ANY);
  // 1. Reals, before any ring names them. An index that had no server starts its
  // counters at zero.
  const int ncpus = libbpf_num_possible_cpus();
  for (const auto& [index, def] : t.reals) {
    const bool known = written_ && written_->reals.count(index) != 0;
    if (known) {
      auto it = written_->reals.find(index);
      if (std::memcmp(&it->second, &def, sizeof(def)) == 0) continue;
    } else if (ncpus > 0) {
      std::vector<fulcrum_real_stats> zeroStats(static_cast<size_t>(ncpus));
      bpf_map_update_elem(p.realStats(), &index, zeroStats.data(), BPF_ANY);
      ++realEpochs_[index];
    }
    bpf_map_update_elem(p.reals(), &index, &def, BPF_ANY);
  }
  // 2. Rings that changed, into their idle half.
  const uint32_t size = p.limits().ringSize;
  std::vector<uint32_t> keys;
  for (size_t r = 0; r < t.rings.size(); ++r) {
    const bool same = written_ && r < written_->rings.size() &&
                      (written_->rings[r] == t.rings[r] || *written_->rings[r] == *t.rings[r]);
    if (same) continue;
    const uint32_t half = 1 - activeHalf_[r];
    keys.resize(size);
    for (uint32_t s = 0; s < size; ++s) keys[s] = (static_cast<uint32_t>(r) * 2 + half) * size + s;
    uint32_t count = size;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    if (bpf_map_update_batch(p.rings(), keys.data(), t.rings[r]->data(), &count, &opts) != 0) {
      for (uint32_t s = 0; s < size; ++s)  // kernels without batch ops on arrays
        bpf_map_update_elem(p.rings(), &keys[s], &(*t.rings[r])[s], BPF_ANY);
    }
    activeHalf_[r] = half;
  }
  // A ring given to another service (or a first time) starts its counters and its
  // round-robin walk at zero.
  for (size_t r = 0; r < t.rings.size(); ++r) {
    auto serviceOf = [r](const Tables& tb) -> const std::string* {
      for (const Vip& v : tb.vips)
        if (v.ring == r) return &v.service;
      return nullptr;
    };
    const std::string* now = serviceOf(t);
    const std::string* before = written_ ? serviceOf(*written_) : nullptr;
    if (now == nullptr || (before != nullptr && *before == *now)) continue;
    const int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) continue;
    const auto ring = static_cast<uint32_t>(r);
    std::vector<fulcrum_vip_stats> zeroStats(static_cast<size_t>(ncpu));
    std::vector<uint32_t> zeroPos(static_cast<size_t>(ncpu));
    bpf_map_update_elem(p.vipStats(), &ring, zeroStats.data(), BPF_ANY);
    bpf_map_update_elem(p.rr(), &ring, zeroPos.data(), BPF_ANY);
  }
  // 3. VIPs, each pointing at its ring's fresh half.
  for (const Vip& v : t.vips) {
    fulcrum_vip_meta meta{};
    meta.ring = v.ring;
    meta.flags = v.flags;
    meta.half = activeHalf_[v.ring];
    bpf_map_update_elem(p.vips(), &v.key, &meta, BPF_ANY);
  }
  // 4. What went away: VIPs, then reals (their flows are scheduled anew).
  if (!written_) {  // adopted maps: what the previous process left and these tables lack
    for (const fulcrum_vip_key& old : adoptedVips_) {
      bool kept = false;
      for (const Vip& v : t.vips) kept = kept || sameKey(v.key, old);
      if (!kept) bpf_map_delete_elem(p.vips(), &old);
    }
    for (uint32_t index : adoptedReals_) {
      if (t.reals.count(index) != 0) continue;
      const fulcrum_real_def none{};
      bpf_map_update_elem(p.reals(), &index, &none, BPF_ANY);
    }
    adoptedVips_.clear();
    adoptedReals_.clear();
  }
  if (written_) {
    for (const Vip& old : written_->vips) {
      bool kept = false;
      for (const Vip& v : t.vips) kept = kept || sameKey(v.key, old.key);
      if (!kept) bpf_map_delete_elem(p.vips(), &old.key);
    }
    for (const auto& [index, def] : written_->reals) {
      if (t.reals.count(index) != 0) continue;
      const fulcrum_real_def none{};
      bpf_map_update_elem(p.reals(), &index, &none, BPF_ANY);
    }
  }
  written_ = t;
}

PacketStats MapWriter::stats() const {
  PacketStats out;
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return out;
  const uint32_t zero = 0;
  std::vector<fulcrum_global_stats> per(static_cast<size_t>(ncpu));
  if (bpf_map_lookup_elem(p_.stats(), &zero, per.data()) == 0) {
    for (const auto& s : per) {
      const auto* a = reinterpret_cast<const uint64_t*>(&s);
      auto* b = reinterpret_cast<uint64_t*>(&out.global);
      for (size_t i = 0; i < sizeof(s) / 8; ++i) b[i] += a[i];
    }
  }
  if (written_) {
    std::vector<fulcrum_vip_stats> vs(static_cast<size_t>(ncpu));
    for (const Vip& v : written_->vips) {
      if (out.services.count(v.service) != 0) continue;
      fulcrum_vip_stats sum{};
      if (bpf_map_lookup_elem(p_.vipStats(), &v.ring, vs.data()) == 0)
        for (const auto& s : vs) {
          sum.packets += s.packets;
          sum.bytes += s.bytes;
          sum.new_flows += s.new_flows;
        }
      out.services[v.service] = {v.ring, sum};
    }
    std::vector<fulcrum_real_stats> rs(static_cast<size_t>(ncpu));
    for (const auto& [index, def] : written_->reals) {
      PacketStats::Real& r = out.reals[index];
      auto e = realEpochs_.find(index);
      r.epoch = e != realEpochs_.end() ? e->second : 0;
      if (bpf_map_lookup_elem(p_.realStats(), &index, rs.data()) != 0) continue;
      for (const auto& s : rs) {
        r.counters.packets += s.packets;
        r.counters.bytes += s.bytes;
        r.counters.new_flows += s.new_flows;
      }
    }
  }
  return out;
}

}  // namespace fulcrum::xdp
