#include "xdp/program.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/core.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/stat.h>
#include <sys/statfs.h>
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

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// The pin directory, made if missing; it must be on a BPF filesystem.
Status preparePinDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Error{fmt::format("xdp-pin-path '{}': cannot create it: {}", dir, strerror(errno))};
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0)
    return Error{fmt::format("xdp-pin-path '{}': {}", dir, strerror(errno))};
  if (static_cast<unsigned long>(fs.f_type) != BPF_FS_MAGIC)
    return Error{
        fmt::format("xdp-pin-path '{}' is not on a BPF filesystem (mount one: 'mount -t bpf bpf "
                    "/sys/fs/bpf', which systemd does at boot)",
                    dir)};
  return Ok{};
}

}  // namespace

std::vector<AdoptedReal> adoptedReals(const std::string& pinPath) {
  std::vector<AdoptedReal> out;
  if (pinPath.empty()) return out;
  const int fd = bpf_obj_get((pinPath + "/fulcrum_reals").c_str());
  if (fd < 0) return out;
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.value_size == sizeof(fulcrum_real_def)) {
    for (uint32_t i = 0; i < info.max_entries; ++i) {
      fulcrum_real_def def{};
      if (bpf_map_lookup_elem(fd, &i, &def) != 0 || def.forward == 0) continue;
      AdoptedReal r;
      r.index = i;
      std::memcpy(r.addr.data(), def.addr, 16);
      r.port = ntohs(def.port);
      out.push_back(r);
    }
  }
  ::close(fd);
  return out;
}

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
  if (!x.pinPath.empty()) {
    if (auto st = preparePinDir(x.pinPath); !st)
      return Error{fmt::format("packet data plane: {}", st.error())};
    p->pinPath_ = x.pinPath;
    p->adopted_ = exists(x.pinPath + "/fulcrum_vips");
    bpf_map* m = nullptr;
    bpf_object__for_each_map(m, p->skel_->obj) {
      // Not pinned: .rodata (set by each load) and the devmap of egress ports (written
      // from the configuration at each start; the kernel reports it otherwise than
      // declared, so libbpf would not reuse it).
      if (bpf_map__is_internal(m) || bpf_map__type(m) == BPF_MAP_TYPE_DEVMAP) continue;
      bpf_map__set_pin_path(m, (x.pinPath + "/" + bpf_map__name(m)).c_str());
    }
  }
  if (int err = fulcrum_balancer__load(p->skel_); err != 0) {
    const int e = -err;
    if (p->adopted_ && e == EINVAL)
      return Error{fmt::format(
          "packet data plane: cannot reuse the maps pinned in '{}' (another shape: "
          "xdp-conn-table, xdp-max-services or xdp-max-reals changed, or another version "
          "of the program); remove that directory to start afresh (flows are lost)",
          x.pinPath)};
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
    // A pinned link of an earlier process: this program replaces its own in one step.
    const std::string pin = pinPath_.empty() ? "" : pinPath_ + "/link_" + itf.name;
    if (!pin.empty() && exists(pin)) {
      const int old = bpf_obj_get(pin.c_str());
      if (old >= 0 && bpf_link_update(old, prog, nullptr) == 0) {
        links_.push_back(old);
        linkPins_.push_back(pin);
        attachedNames_.push_back(itf.name);
        continue;
      }
      if (old >= 0) ::close(old);
      ::unlink(pin.c_str());  // a link whose interface went away: made anew below
    }
    // A BPF link: the kernel detaches the program when the link's last descriptor
    // closes (or, pinned, its pin too), so it leaves the interface when the process
    // exits, however it exits and whatever privileges it dropped; and a link never
    // replaces another program there.
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
    if (!pin.empty() && bpf_obj_pin(link, pin.c_str()) != 0) {
      const int e = errno;
      ::close(link);
      detach();
      return Error{fmt::format("{}:{}: xdp-interface '{}': cannot pin its link at '{}': {}",
                               itf.loc.file, itf.loc.line, itf.name, pin, strerror(e))};
    }
    links_.push_back(link);
    linkPins_.push_back(pin);
    attachedNames_.push_back(itf.name);
  }
  return Ok{};
}

void Program::remove() {
  for (const std::string& pin : linkPins_)
    if (!pin.empty()) ::unlink(pin.c_str());
  detach();
  if (pinPath_.empty()) return;
  bpf_map* m = nullptr;
  bpf_object__for_each_map(m, skel_->obj) {
    if (bpf_map__get_pin_path(m) != nullptr) bpf_map__unpin(m, nullptr);
  }
  ::rmdir(pinPath_.c_str());
}

void Program::detach() {
  for (int link : links_) ::close(link);
  links_.clear();
  linkPins_.clear();
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
