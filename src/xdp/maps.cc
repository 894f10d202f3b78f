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

// The first write of a ring goes to half 0.
MapWriter::MapWriter(const Program& program)
    : p_(program), activeHalf_(program.limits().maxServices, 1) {}

void MapWriter::write(const Tables& t) {
  const Program& p = p_;
  const uint32_t zero = 0;
  bpf_map_update_elem(p.settings(), &zero, &t.settings, BPF_ANY);
  // 1. Reals, before any ring names them.
  for (const auto& [index, def] : t.reals) {
    if (written_) {
      auto it = written_->reals.find(index);
      if (it != written_->reals.end() && std::memcmp(&it->second, &def, sizeof(def)) == 0) continue;
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
  // 3. VIPs, each pointing at its ring's fresh half.
  for (const Vip& v : t.vips) {
    fulcrum_vip_meta meta{};
    meta.ring = v.ring;
    meta.flags = v.flags;
    meta.half = activeHalf_[v.ring];
    bpf_map_update_elem(p.vips(), &v.key, &meta, BPF_ANY);
  }
  // 4. What went away: VIPs, then reals (their flows are scheduled anew).
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
      out.services[v.service] = sum;
    }
  }
  return out;
}

}  // namespace fulcrum::xdp
