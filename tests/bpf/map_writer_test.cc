// The packet data plane's control side on the real program: publications made by the
// control plane's builder become map contents (xdp::tablesOf, xdp::MapWriter), and packets
// run through BPF_PROG_TEST_RUN follow every change: a new VIP, a real going DOWN, a
// weight of 0 (drain), a service removed by a reload, and each scheduler's flag.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>

#include "config/config.h"
#include "control/builder.h"
#include "packet.h"
#include "xdp/maps.h"
#include "xdp/program.h"
#include "xdp/tables.h"

namespace fulcrum::test {
namespace {

using namespace pkt;

const char* kGlobal =
    "global\n    xdp-interface eth0\n    xdp-next-hop 02:00:00:00:00:fe\n"
    "    xdp-tunnel-source 10.100.0.1\n    xdp-max-services 2\n    xdp-max-reals 16\n"
    "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n"
    "    timeout server 1s\n";

std::shared_ptr<const model::Config> parse(const std::string& body) {
  auto loaded = config::parseText(std::string(kGlobal) + body, "test.cfg");
  EXPECT_TRUE(loaded.ok());
  return loaded.config;
}

// The builder publishes `cfg` (a start or a reload, as the daemon makes them).
void publish(control::Builder& builder, std::shared_ptr<const model::Config> cfg) {
  auto change = builder.prepare(std::move(cfg), {});
  ASSERT_TRUE(change.ok()) << change.error();
  builder.commit(std::move(*change));
}

struct Sent {
  int verdict = -1;
  Bytes out;
};

class PacketPath {
 public:
  explicit PacketPath(const model::Config& cfg) {
    auto p = xdp::Program::load(cfg.global.xdp, sched::Maglev::kDefaultTableSize);
    if (!p) {
      error = p.error();
      return;
    }
    program = std::move(*p);
    writer = std::make_unique<xdp::MapWriter>(*program);
  }
  // Writes what the builder's current publication needs. The neighbour table knows the
  // reals of 10.0.3.0/24 (on the link: 02:00:00:00:00:33); the others are reached through
  // the configured next hop.
  void apply(const control::Publication& pub) {
    xdp::HostDefaults host;
    host.sourceMac = {2, 0, 0, 0, 0, 1};
    auto macOf = [](const SockAddr& a) -> std::optional<xdp::Mac> {
      if (a.hostString().rfind("10.0.3.", 0) == 0) return xdp::Mac{2, 0, 0, 0, 0, 0x33};
      return std::nullopt;
    };
    auto t = xdp::tablesOf(pub, host, macOf, program->limits(), writer->written());
    ASSERT_TRUE(t) << t.error();
    EXPECT_TRUE(t->unresolved.empty());
    writer->write(*t);
  }
  Sent run(const Bytes& in) {
    Sent r;
    r.out.resize(in.size() + 256);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = r.out.data(),
                .data_size_in = static_cast<uint32_t>(in.size()),
                .data_size_out = static_cast<uint32_t>(r.out.size()), .repeat = 1);
    EXPECT_EQ(bpf_prog_test_run_opts(program->programFd(), &opts), 0) << strerror(errno);
    r.verdict = static_cast<int>(opts.retval);
    r.out.resize(opts.data_size_out);
    return r;
  }
  // Where the program sent the frame: the outer IPv4 destination of an IPIP packet
  // ("10.0.1.1", to the next hop's MAC), or "dr" for the client's packet unchanged to the
  // on-link real's MAC.
  static std::string realOf(const Sent& r) {
    if (r.verdict != XDP_TX || r.out.size() < 34) return "none";
    const bool toNextHop = r.out[0] == 2 && r.out[5] == 0xfe;
    const bool toReal33 = r.out[0] == 2 && r.out[5] == 0x33;
    if (r.out[23] == 6 && toReal33) return "dr";
    if (r.out[23] != 4 || !toNextHop) return "unexpected";
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u", r.out[30], r.out[31], r.out[32], r.out[33]);
    return buf;
  }
  std::string syn(const std::string& client, uint16_t sport, const std::string& vip = "192.0.2.10",
                  uint16_t dport = 80, uint8_t flags = kSyn) {
    Ip ip;
    ip.src = Addr::parse(client);
    ip.dst = Addr::parse(vip);
    ip.l4 = {6, sport, dport, flags, ""};
    return realOf(run(frame(ip)));
  }

  std::unique_ptr<xdp::Program> program;
  std::unique_ptr<xdp::MapWriter> writer;
  std::string error;
};

const char* kTwoReals =
    "frontend vip\n    bind 192.0.2.10:80\n    dataplane xdp\n    default_backend b\n"
    "backend b\n    server r1 10.0.1.1:80\n    server r2 10.0.1.2:80\n";

TEST(MapWriter, APublicationBecomesMapsAndStateChangesFollow) {
  auto cfg = parse(kTwoReals);
  ASSERT_TRUE(cfg);
  control::PublicationBox box;
  control::Builder builder(box, {});
  ASSERT_NO_FATAL_FAILURE(publish(builder, cfg));
  PacketPath path(*cfg);
  ASSERT_TRUE(path.program) << path.error;
  path.apply(*builder.current());

  // Both reals take new flows (Maglev over 2 equal weights), by IPIP.
  std::map<std::string, int> seen;
  for (uint16_t i = 0; i < 200; ++i)
    ++seen[path.syn("198.51.100." + std::to_string(1 + i % 200), 1000 + i)];
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_GT(seen["10.0.1.1"], 40);
  EXPECT_GT(seen["10.0.1.2"], 40);
  // Not a VIP: passed.
  EXPECT_EQ(
      path.run(frame(Ip{
                   Addr::parse("198.51.100.1"), Addr::parse("192.0.2.99"), {6, 1, 80, kSyn, ""}}))
          .verdict,
      XDP_PASS);

  // r1 goes DOWN: no new flow reaches it, and its existing flows are scheduled anew.
  auto runtime = builder.current()->snapshot->runtime;
  runtime[0][0].state = model::ServerState::kDown;
  builder.publishRuntime(runtime, false);
  path.apply(*builder.current());
  for (uint16_t i = 0; i < 200; ++i)
    EXPECT_EQ(path.syn("198.51.100." + std::to_string(1 + i % 200), 1000 + i), "10.0.1.2");
  for (uint16_t i = 0; i < 50; ++i)
    EXPECT_EQ(path.syn("203.0.113." + std::to_string(1 + i), 2000 + i), "10.0.1.2");

  // Back UP, r2 drained (weight 0): new flows go to r1, r2's existing flows stay on r2.
  runtime[0][0].state = model::ServerState::kUp;
  runtime[0][1].effectiveWeight = 0;
  builder.publishRuntime(runtime, false);
  path.apply(*builder.current());
  for (uint16_t i = 0; i < 50; ++i)
    EXPECT_EQ(path.syn("198.51.100." + std::to_string(1 + i), 1000 + i, "192.0.2.10", 80, kAck),
              "10.0.1.2");  // existing flows, table hits
  for (uint16_t i = 0; i < 50; ++i)
    EXPECT_EQ(path.syn("192.0.2." + std::to_string(100 + i), 3000 + i), "10.0.1.1");

  // A reload without the service: its VIP passes to the stack.
  auto none = parse(
      "frontend other\n    bind 127.0.0.1:8080\n    default_backend b\n"
      "backend b\n    server r1 10.0.1.1:80\n");
  ASSERT_TRUE(none);
  ASSERT_NO_FATAL_FAILURE(publish(builder, none));
  path.apply(*builder.current());
  Ip ip{Addr::parse("198.51.100.1"), Addr::parse("192.0.2.10"), {6, 1000, 80, kSyn, ""}};
  EXPECT_EQ(path.run(frame(ip)).verdict, XDP_PASS);
  EXPECT_TRUE(path.writer->written()->vips.empty());
}

TEST(MapWriter, EachRealCountsItsPacketsBytesAndFlows) {
  auto cfg = parse(kTwoReals);
  ASSERT_TRUE(cfg);
  control::PublicationBox box;
  control::Builder builder(box, {});
  ASSERT_NO_FATAL_FAILURE(publish(builder, cfg));
  PacketPath path(*cfg);
  ASSERT_TRUE(path.program) << path.error;
  path.apply(*builder.current());
  std::map<std::string, int> seen;
  for (uint16_t i = 0; i < 100; ++i) ++seen[path.syn("198.51.100.7", 1000 + i)];
  for (uint16_t i = 0; i < 100; ++i)  // the same flows again: table hits, no new flow
    path.syn("198.51.100.7", 1000 + i, "192.0.2.10", 80, kAck);
  const auto& servers = builder.current()->config().pools[0].servers;
  const xdp::PacketStats stats = path.writer->stats();
  const size_t frameSize =
      frame(Ip{Addr::parse("198.51.100.7"), Addr::parse("192.0.2.10"), {6, 1, 80, kSyn, ""}})
          .size();
  for (size_t i = 0; i < 2; ++i) {
    const std::string addr = i == 0 ? "10.0.1.1" : "10.0.1.2";
    ASSERT_EQ(stats.reals.count(servers[i].real), 1u);
    const fulcrum_real_stats& c = stats.reals.at(servers[i].real).counters;
    EXPECT_EQ(c.new_flows, static_cast<uint64_t>(seen[addr])) << addr;
    EXPECT_EQ(c.packets, 2u * seen[addr]) << addr;
    EXPECT_EQ(c.bytes, 2u * seen[addr] * frameSize) << addr;
  }
}

TEST(MapWriter, AUdpVipForwardsUdpAndLeavesTcpOfThatPortAlone) {
  auto cfg = parse(
      "udp-lb dns\n    dgram-bind 192.0.2.10:53\n    dataplane xdp\n"
      "    server r1 10.0.1.1:53\n    server r2 10.0.1.2:53\n");
  ASSERT_TRUE(cfg);
  control::PublicationBox box;
  control::Builder builder(box, {});
  ASSERT_NO_FATAL_FAILURE(publish(builder, cfg));
  PacketPath path(*cfg);
  ASSERT_TRUE(path.program) << path.error;
  path.apply(*builder.current());
  std::map<std::string, int> seen;
  for (uint16_t i = 0; i < 100; ++i) {
    const Sent first = path.run(frame(Ip{Addr::parse("198.51.100.9"),
                                         Addr::parse("192.0.2.10"),
                                         {17, uint16_t(2000 + i), 53, 0, "q"}}));
    const Sent again = path.run(frame(Ip{Addr::parse("198.51.100.9"),
                                         Addr::parse("192.0.2.10"),
                                         {17, uint16_t(2000 + i), 53, 0, "q"}}));
    EXPECT_EQ(PacketPath::realOf(first), PacketPath::realOf(again)) << i;  // one real per flow
    ++seen[PacketPath::realOf(first)];
  }
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen["10.0.1.1"] + seen["10.0.1.2"], 100);
  EXPECT_EQ(path.run(frame(Ip{Addr::parse("198.51.100.9"),
                              Addr::parse("192.0.2.10"),
                              {6, 2000, 53, kSyn, ""}}))
                .verdict,
            XDP_PASS);
}

TEST(MapWriter, AFullConnectionTableStillSendsEveryFlowToItsReal) {
  // A table of 1024 entries and 6000 flows: most entries are evicted, and a flow's next
  // packet (not a SYN) misses; Maglev on the 5-tuple gives it the same real again.
  auto loaded = config::parseText(
      "global\n    xdp-interface eth0\n    xdp-next-hop 02:00:00:00:00:fe\n"
      "    xdp-tunnel-source 10.100.0.1\n    xdp-conn-table 1024\n"
      "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n"
      "    timeout server 1s\n" +
          std::string(kTwoReals),
      "test.cfg");
  ASSERT_TRUE(loaded.ok());
  auto cfg = loaded.config;
  control::PublicationBox box;
  control::Builder builder(box, {});
  ASSERT_NO_FATAL_FAILURE(publish(builder, cfg));
  PacketPath path(*cfg);
  ASSERT_TRUE(path.program) << path.error;
  path.apply(*builder.current());
  auto client = [](int i) {
    return "198.51." + std::to_string(100 + i / 250) + "." + std::to_string(1 + i % 250);
  };
  std::vector<std::string> first;
  for (int i = 0; i < 6000; ++i) first.push_back(path.syn(client(i), 40000));
  const uint64_t missesBefore = path.writer->stats().global.lru_misses;
  int same = 0;
  for (int i = 0; i < 6000; ++i)
    same += path.syn(client(i), 40000, "192.0.2.10", 80, kAck) == first[static_cast<size_t>(i)];
  EXPECT_EQ(same, 6000);
  const xdp::PacketStats stats = path.writer->stats();
  EXPECT_GT(stats.global.lru_misses - missesBefore, 3000u);  // the table was full
  EXPECT_EQ(stats.global.no_real, 0u);
}

TEST(MapWriter, SchedulersForwardModesAndAllPorts) {
  auto cfg = parse(
      "frontend rr\n    bind 192.0.2.20:0\n    dataplane xdp\n    default_backend rr\n"
      "backend rr\n    balance roundrobin\n    server a 10.0.2.1:80\n    server b 10.0.2.2:80\n"
      "    server c 10.0.2.3:80\n"
      "frontend src\n    bind 192.0.2.21:443\n    dataplane xdp\n    default_backend src\n"
      "backend src\n    balance source\n    hash-type consistent\n    forward dr\n"
      "    server d 10.0.3.1:443\n    server e 10.0.3.2:443\n");
  ASSERT_TRUE(cfg);
  control::PublicationBox box;
  control::Builder builder(box, {});
  ASSERT_NO_FATAL_FAILURE(publish(builder, cfg));
  PacketPath path(*cfg);
  ASSERT_TRUE(path.program) << path.error;
  path.apply(*builder.current());

  // roundrobin on an all-ports VIP: one client, new flows on any port, spread over every
  // real by the walk (a hash would need luck to give all three in 6 flows).
  std::set<std::string> rr;
  for (uint16_t i = 0; i < 6; ++i)
    rr.insert(path.syn("198.51.100.7", 4000 + i, "192.0.2.20", 1 + i));
  EXPECT_EQ(rr, (std::set<std::string>{"10.0.2.1", "10.0.2.2", "10.0.2.3"}));
  // source: every flow of one client goes to the same real, by DR (the real's MAC).
  for (int c = 1; c <= 20; ++c) {
    const std::string client = "198.51.100." + std::to_string(c);
    std::set<std::string> got;
    for (uint16_t i = 0; i < 5; ++i) {
      Ip ip{Addr::parse(client),
            Addr::parse("192.0.2.21"),
            {6, static_cast<uint16_t>(5000 + i), 443, kSyn, ""}};
      Sent r = path.run(frame(ip));
      got.insert(PacketPath::realOf(r));
    }
    EXPECT_EQ(got, std::set<std::string>{"dr"}) << client;
  }
  // The port of an all-ports VIP that has no exact entry is served; another address is not.
  EXPECT_NE(path.syn("198.51.100.9", 9, "192.0.2.20", 65535), "none");
  EXPECT_EQ(path.syn("198.51.100.9", 9, "192.0.2.22", 80), "none");
}

}  // namespace
}  // namespace fulcrum::test
