#include "xdp/program.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/core.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "balancer.skel.h"

namespace fulcrum::xdp {

namespace {

// libbpf's own messages go to our log only at debug level; errors are reported by us.
int quietLibbpf(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level != LIBBPF_WARN) return 0;
  return vfprintf(stderr, fmt, args);
}

std::string loadAdvice(int err) {
  if (err == EPERM || err == EACCES)
    return "the process needs CAP_BPF and CAP_NET_ADMIN (run fulcrum as root, or grant them in "
           "the service unit: AmbientCapabilities=CAP_BPF CAP_NET_ADMIN CAP_PERFMON)";
  if (err == ENOMEM || err == E2BIG)
    return "the maps do not fit: lower xdp-conn-table, xdp-max-services or xdp-max-reals";
  if (err == EINVAL)
    return "the kernel refused the program (a kernel older than 5.10, or without BPF or BTF?)";
  return "see the kernel's message above";
}

}  // namespace

Result<std::unique_ptr<Program>> Program::load(const model::XdpSettings& x, uint32_t ringSize) {
  libbpf_set_print(quietLibbpf);
  std::unique_ptr<Program> p(new Program());
  p->skel_ = fulcrum_balancer__open();
  if (p->skel_ == nullptr)
    return Error{
        fmt::format("packet data plane: cannot open the XDP program: {}", strerror(errno))};
  auto& maps = p->skel_->maps;
  p->limits_.ringSize = ringSize;
  p->limits_.maxServices = x.maxServices;
  p->limits_.maxReals = x.maxReals;
  p->limits_.maxVips = std::max<uint32_t>(64, 8 * x.maxServices);
  p->skel_->rodata->ring_size = ringSize;
  bpf_map__set_max_entries(maps.fulcrum_vips, p->limits_.maxVips);
  bpf_map__set_max_entries(maps.fulcrum_reals, x.maxReals);
  bpf_map__set_max_entries(maps.fulcrum_rings, 2 * ringSize * x.maxServices);
  bpf_map__set_max_entries(maps.fulcrum_rr, x.maxServices);
  bpf_map__set_max_entries(maps.fulcrum_vip_stats, x.maxServices);
  bpf_map__set_max_entries(maps.fulcrum_real_stats, x.maxReals);
  bpf_map__set_max_entries(maps.fulcrum_conns, x.connTable);
  bpf_map__set_max_entries(maps.fulcrum_nat, x.connTable);
  if (int err = fulcrum_balancer__load(p->skel_); err != 0) {
    const int e = -err;
    return Error{fmt::format("packet data plane: cannot load the XDP program: {}; {}", strerror(e),
                             loadAdvice(e))};
  }
  return p;
}

Program::~Program() {
  detach();
  if (skel_ != nullptr) fulcrum_balancer__destroy(skel_);
}

Status Program::attach(const std::vector<model::XdpInterface>& interfaces) {
  const int prog = bpf_program__fd(skel_->progs.fulcrum_balancer);
  for (const model::XdpInterface& itf : interfaces) {
    const int ifindex = static_cast<int>(if_nametoindex(itf.name.c_str()));
    if (ifindex == 0) {
      detach();
      return Error{fmt::format("{}:{}: xdp-interface '{}': no such interface", itf.loc.file,
                               itf.loc.line, itf.name)};
    }
    // A BPF link: the kernel detaches the program when the link's last descriptor
    // closes, so it leaves the interface when the process exits, however it exits and
    // whatever privileges it dropped; and a link never replaces another program there.
    LIBBPF_OPTS(bpf_link_create_opts, opts,
                .flags = itf.generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
    const int link = bpf_link_create(prog, ifindex, BPF_XDP, &opts);
    if (link < 0) {
      const int e = errno;
      detach();
      std::string advice =
          e == EBUSY || e == EEXIST
              ? "another XDP program is attached there (see 'ip link show'; remove it or "
                "choose another interface)"
          : e == EOPNOTSUPP || e == EINVAL
              ? (itf.generic ? "the kernel refused generic XDP"
                             : "its driver has no native XDP: write 'xdp-interface " + itf.name +
                                   " generic' (slower) or use a driver with XDP support")
          : e == EPERM ? "the process needs CAP_NET_ADMIN"
                       : "see the kernel log";
      return Error{
          fmt::format("{}:{}: xdp-interface '{}': cannot attach the XDP program "
                      "({} mode): {}; {}",
                      itf.loc.file, itf.loc.line, itf.name, itf.generic ? "generic" : "native",
                      strerror(e), advice)};
    }
    links_.push_back(link);
    attachedNames_.push_back(itf.name);
  }
  return Ok{};
}

void Program::detach() {
  for (int link : links_) ::close(link);
  links_.clear();
  attachedNames_.clear();
}

int Program::vips() const { return bpf_map__fd(skel_->maps.fulcrum_vips); }
int Program::reals() const { return bpf_map__fd(skel_->maps.fulcrum_reals); }
int Program::rings() const { return bpf_map__fd(skel_->maps.fulcrum_rings); }
int Program::settings() const { return bpf_map__fd(skel_->maps.fulcrum_settings); }
int Program::stats() const { return bpf_map__fd(skel_->maps.fulcrum_stats); }
int Program::vipStats() const { return bpf_map__fd(skel_->maps.fulcrum_vip_stats); }
int Program::realStats() const { return bpf_map__fd(skel_->maps.fulcrum_real_stats); }
int Program::conns() const { return bpf_map__fd(skel_->maps.fulcrum_conns); }
int Program::rr() const { return bpf_map__fd(skel_->maps.fulcrum_rr); }
int Program::programFd() const { return bpf_program__fd(skel_->progs.fulcrum_balancer); }

}  // namespace fulcrum::xdp
