// fulcrum-decap: attaches Fulcrum's decapsulation program (src/xdp/decap.bpf.c) to an
// interface of a real server, so that the packets a Fulcrum balancer sends it by IPIP,
// IP6IP6 (either across families) or GUE reach the socket bound on the VIP.
//
//   fulcrum-decap attach IFACE [--gue-port N] [--generic]
//   fulcrum-decap detach IFACE
//
// `attach` loads the program, gives it the interface's addresses (tunnels to other
// addresses pass untouched) and attaches it in native mode (or --generic), then stays
// in the foreground, printing its counters every 10 s, until SIGINT/SIGTERM detaches it.
// `detach` removes any XDP program from the interface. Needs root (CAP_NET_ADMIN, CAP_BPF).
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "decap.skel.h"
#include "xdp_abi.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: fulcrum-decap attach IFACE [--gue-port N] [--generic]\n"
               "       fulcrum-decap detach IFACE\n");
  return 2;
}

// The interface's IPv4 and IPv6 addresses, as the program keys them.
std::vector<fulcrum_addr> addressesOf(const char* iface) {
  std::vector<fulcrum_addr> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || std::strcmp(a->ifa_name, iface) != 0) continue;
    fulcrum_addr k{};
    if (a->ifa_addr->sa_family == AF_INET) {
      k.b[10] = k.b[11] = 0xff;
      std::memcpy(k.b + 12, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, 4);
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      std::memcpy(k.b, &reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr, 16);
    } else {
      continue;
    }
    out.push_back(k);
  }
  freeifaddrs(list);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string verb = argv[1];
  const char* iface = argv[2];
  const int ifindex = static_cast<int>(if_nametoindex(iface));
  if (ifindex == 0) {
    std::fprintf(stderr, "fulcrum-decap: no interface '%s'\n", iface);
    return 1;
  }
  if (verb == "detach") {
    if (bpf_xdp_detach(ifindex, 0, nullptr) != 0) {
      std::fprintf(stderr, "fulcrum-decap: cannot detach from %s: %s\n", iface, strerror(errno));
      return 1;
    }
    return 0;
  }
  if (verb != "attach") return usage();
  uint16_t guePort = 6080;
  uint32_t flags = XDP_FLAGS_DRV_MODE;
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--gue-port" && i + 1 < argc) {
      guePort = static_cast<uint16_t>(std::atoi(argv[++i]));
    } else if (a == "--generic") {
      flags = XDP_FLAGS_SKB_MODE;
    } else {
      return usage();
    }
  }
  fulcrum_decap* skel = fulcrum_decap__open();
  if (skel == nullptr) {
    std::fprintf(stderr, "fulcrum-decap: cannot open the BPF object: %s\n", strerror(errno));
    return 1;
  }
  skel->rodata->gue_port = htons(guePort);
  if (fulcrum_decap__load(skel) != 0) {
    std::fprintf(stderr,
                 "fulcrum-decap: the kernel refused the program: %s (root with CAP_BPF is "
                 "needed)\n",
                 strerror(errno));
    fulcrum_decap__destroy(skel);
    return 1;
  }
  uint8_t one = 1;
  for (const fulcrum_addr& a : addressesOf(iface))
    bpf_map_update_elem(bpf_map__fd(skel->maps.fulcrum_decap_addrs), &a, &one, BPF_ANY);
  // Addresses on lo too (VIPs are there, and tunnels may be addressed to them).
  for (const fulcrum_addr& a : addressesOf("lo"))
    bpf_map_update_elem(bpf_map__fd(skel->maps.fulcrum_decap_addrs), &a, &one, BPF_ANY);
  const int prog = bpf_program__fd(skel->progs.fulcrum_decap);
  if (bpf_xdp_attach(ifindex, prog, flags, nullptr) != 0) {
    std::fprintf(stderr, "fulcrum-decap: cannot attach to %s in %s mode: %s%s\n", iface,
                 flags == XDP_FLAGS_DRV_MODE ? "native" : "generic", strerror(errno),
                 flags == XDP_FLAGS_DRV_MODE ? " (try --generic if the driver has no XDP)" : "");
    fulcrum_decap__destroy(skel);
    return 1;
  }
  std::printf("fulcrum-decap: attached to %s (GUE port %u)\n", iface, guePort);
  std::fflush(stdout);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  pollfd p{sfd, POLLIN, 0};
  for (;;) {
    if (poll(&p, 1, 10000) > 0) break;
    std::vector<fulcrum_decap_stats> per(static_cast<size_t>(libbpf_num_possible_cpus()));
    uint32_t zero = 0;
    fulcrum_decap_stats sum{};
    if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.fulcrum_decap_stats), &zero, per.data()) == 0)
      for (const auto& s : per) {
        sum.decapsulated += s.decapsulated;
        sum.passed += s.passed;
        sum.malformed += s.malformed;
      }
    std::printf("decapsulated %llu passed %llu malformed %llu\n",
                static_cast<unsigned long long>(sum.decapsulated),
                static_cast<unsigned long long>(sum.passed),
                static_cast<unsigned long long>(sum.malformed));
    std::fflush(stdout);
  }
  bpf_xdp_detach(ifindex, flags, nullptr);
  fulcrum_decap__destroy(skel);
  std::printf("fulcrum-decap: detached from %s\n", iface);
  return 0;
}
