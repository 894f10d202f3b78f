// fulcrum-xdp-bench: nanoseconds per packet of the XDP program (balancer.bpf.o), measured
// through BPF_PROG_TEST_RUN.
//
// The trap it avoids: with repeat > 1 the kernel runs the program again on the buffer
// the previous run modified, so after one encapsulation every later run sees an IPIP
// packet (for no VIP) and measures the pass path. Here every run is one call with
// repeat = 1 on a fresh copy of the input frame, and its verdict is checked. The kernel
// times that one run (duration, ns) with its own clock reads around it; their cost is
// measured the same way on a program that only returns XDP_PASS, and subtracted.
//
//   fulcrum-xdp-bench [--runs N] [--table N]
//     --runs N    runs per case (default 20000)
//     --table N   connection table entries, filled before the miss case (default 1024)
// Prints one line per case: case, median ns, p90 ns, mean ns (all net of the clock
// reads), and the baseline. Needs root (CAP_BPF).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "balancer.skel.h"
#include "packet.h"
#include "xdp_abi.h"

using namespace fulcrum::test::pkt;

namespace {

constexpr uint32_t kRing = 65537;

struct Stats {
  double median = 0, p90 = 0, mean = 0;
};

Stats summarize(std::vector<uint32_t> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.median = v[v.size() / 2];
  s.p90 = v[v.size() * 9 / 10];
  double sum = 0;
  for (uint32_t x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  return s;
}

// One run of `prog` on a fresh copy of `in`; returns the kernel's duration in ns, or -1
// when the verdict is not `want`.
int64_t runOnce(int prog, const Bytes& in, uint32_t want) {
  Bytes out(in.size() + 128);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = out.data(),
              .data_size_in = static_cast<uint32_t>(in.size()),
              .data_size_out = static_cast<uint32_t>(out.size()), .repeat = 1);
  if (bpf_prog_test_run_opts(prog, &opts) != 0) return -1;
  if (opts.retval != want) return -1;
  return opts.duration;
}

Ip flow(uint32_t client, uint16_t sport, const char* vip, uint8_t flags) {
  Ip ip;
  char src[32];
  std::snprintf(src, sizeof(src), "198.%u.%u.%u", 18 + (client >> 16) % 2, (client >> 8) & 0xff,
                client & 0xff);
  ip.src = Addr::parse(src);
  ip.dst = Addr::parse(vip);
  ip.l4 = {6, sport, 80, flags, std::string(64, 'x')};
  return ip;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 20000;
  uint32_t table = 1024;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--runs") runs = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--table") table = static_cast<uint32_t>(std::atoll(argv[i + 1]));
  }
  // The baseline: a program that only returns XDP_PASS.
  const bpf_insn nop[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  int nopFd = bpf_prog_load(BPF_PROG_TYPE_XDP, "nop", "GPL", nop, 2, nullptr);
  fulcrum_balancer* skel = fulcrum_balancer__open();
  if (nopFd < 0 || skel == nullptr) {
    std::fprintf(stderr, "cannot load BPF programs: %s (root needed)\n", strerror(errno));
    return 1;
  }
  skel->rodata->ring_size = kRing;
  bpf_map__set_max_entries(skel->maps.fulcrum_rings, 2 * kRing);
  bpf_map__set_max_entries(skel->maps.fulcrum_conns, table + static_cast<uint32_t>(runs) + 16);
  if (fulcrum_balancer__load(skel) != 0) {
    std::fprintf(stderr, "cannot load balancer.bpf.o: %s\n", strerror(errno));
    return 1;
  }
  const int prog = bpf_program__fd(skel->progs.fulcrum_balancer);
  uint32_t zero = 0;
  fulcrum_settings st{};
  std::memcpy(st.src_mac, kLbMac.data(), 6);
  std::memcpy(st.next_hop_mac, kNextHopMac.data(), 6);
  st.outer_v4_base = htonl(0x0a640000);
  st.outer_v4_count = 256;
  st.udp_timeout_ns = 300ull * 1000 * 1000 * 1000;
  bpf_map_update_elem(bpf_map__fd(skel->maps.fulcrum_settings), &zero, &st, BPF_ANY);
  fulcrum_vip_key vk{};
  std::memcpy(vk.addr, Addr::parse("192.0.2.10").b.data(), 16);
  vk.port = htons(80);
  vk.proto = 6;
  fulcrum_vip_meta vm{};
  bpf_map_update_elem(bpf_map__fd(skel->maps.fulcrum_vips), &vk, &vm, BPF_ANY);
  for (uint32_t r = 0; r < 3; ++r) {
    fulcrum_real_def rd{};
    std::memcpy(rd.addr, Addr::parse("10.0.1." + std::to_string(r + 1)).b.data(), 16);
    rd.forward = FULCRUM_FWD_IPIP;
    bpf_map_update_elem(bpf_map__fd(skel->maps.fulcrum_reals), &r, &rd, BPF_ANY);
  }
  for (uint32_t s = 0; s < kRing; ++s) {
    uint32_t real = s % 3;
    bpf_map_update_elem(bpf_map__fd(skel->maps.fulcrum_rings), &s, &real, BPF_ANY);
  }
  // The table holds `table` flows before the miss case inserts more.
  for (uint32_t i = 0; i < table; ++i)
    if (runOnce(prog, frame(flow(i, 1000, "192.0.2.10", kSyn)), XDP_TX) < 0) return 1;

  auto measure = [&](const char* name, int fd, uint32_t want, auto makeFrame) {
    std::vector<Bytes> frames;
    frames.reserve(static_cast<size_t>(runs));
    for (int i = 0; i < runs; ++i) frames.push_back(makeFrame(i));
    std::vector<uint32_t> ns;
    ns.reserve(frames.size());
    for (const Bytes& f : frames) {
      int64_t d = runOnce(fd, f, want);
      if (d < 0) {
        std::fprintf(stderr, "%s: unexpected verdict or error\n", name);
        std::exit(1);
      }
      ns.push_back(static_cast<uint32_t>(d));
    }
    return summarize(ns);
  };
  const Bytes hitFrame = frame(flow(7, 1000, "192.0.2.10", kAck));  // in the table
  Stats base = measure("baseline", nopFd, XDP_PASS, [&](int) { return hitFrame; });
  struct Case {
    const char* name;
    Stats s;
  } cases[] = {
      {"pass (no VIP)", measure("pass", prog, XDP_PASS,
                                [&](int) { return frame(flow(7, 1000, "192.0.2.99", kAck)); })},
      {"LRU hit, IPIP", measure("hit", prog, XDP_TX, [&](int) { return hitFrame; })},
      {"LRU miss, SYN inserted, IPIP",
       measure("miss", prog, XDP_TX,
               [&](int i) {
                 return frame(flow(static_cast<uint32_t>(100000 + i), 2000, "192.0.2.10", kSyn));
               })},
  };
  std::printf("# fulcrum-xdp-bench: %d runs per case, table of %u flows before the miss case\n",
              runs, table);
  std::printf(
      "# baseline (a program returning XDP_PASS, the kernel's clock reads): median %.0f "
      "ns, mean %.1f ns; subtracted below\n",
      base.median, base.mean);
  std::printf("case\tmedian_ns\tp90_ns\tmean_ns\n");
  for (const Case& c : cases)
    std::printf("%s\t%.0f\t%.0f\t%.1f\n", c.name, c.s.median - base.median, c.s.p90 - base.median,
                c.s.mean - base.mean);
  fulcrum_balancer__destroy(skel);
  close(nopFd);
  return 0;
}
