#include "proxy/proxy_protocol.h"

#include <gtest/gtest.h>

#include <cstring>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace fulcrum::proxy {
namespace {

using Bytes = std::vector<uint8_t>;

// The v2 signature, written out from the specification.
const Bytes kSig = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

Bytes bytesOf(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// v2 header: signature + the given bytes (ver/cmd, fam, len, rest).
Bytes v2(const Bytes& rest) { return cat({kSig, rest}); }

SockAddr addr(std::string_view text) {
  auto r = SockAddr::parse(text);
  EXPECT_TRUE(r.ok()) << text;
  return r.ok() ? *r : SockAddr{};
}

// Parses a copy of exactly `len` bytes on the heap, so that a sanitizer build catches any
// read past the end.
ParseStatus parseN(const Bytes& b, size_t len, ProxyHeader& h, const char** reason = nullptr,
                   size_t maxLength = kV2MaxLength) {
  auto copy = std::make_unique<uint8_t[]>(len == 0 ? 1 : len);
  if (len > 0) std::memcpy(copy.get(), b.data(), len);
  return parseProxyHeader(copy.get(), len, h, reason, maxLength);
}

ParseStatus parse(const Bytes& b, ProxyHeader& h, const char** reason = nullptr,
                  size_t maxLength = kV2MaxLength) {
  return parseN(b, b.size(), h, reason, maxLength);
}

// Every strict prefix of a header is kIncomplete; a status other than kIncomplete, once
// reached, stays the same for every longer prefix (and kOk keeps the same length).
void expectPrefixConsistency(const Bytes& b, size_t maxLength = kV2MaxLength) {
  ParseStatus final = ParseStatus::kIncomplete;
  size_t finalAt = 0, finalLength = 0;
  for (size_t k = 0; k <= b.size(); ++k) {
    ProxyHeader h;
    const char* reason = nullptr;
    ParseStatus st = parseN(b, k, h, &reason, maxLength);
    if (final == ParseStatus::kIncomplete) {
      if (st != ParseStatus::kIncomplete) {
        final = st;
        finalAt = k;
        finalLength = h.headerLength;
        if (st == ParseStatus::kOk) {
          ASSERT_EQ(h.headerLength, k) << "ok before the last byte";
        }
      }
    } else {
      ASSERT_EQ(st, final) << "prefix " << k << " after a final status at " << finalAt;
      if (st == ParseStatus::kOk) {
        ASSERT_EQ(h.headerLength, finalLength);
      }
    }
    if (st == ParseStatus::kInvalid || st == ParseStatus::kNotProxy)
      ASSERT_NE(reason, nullptr);
    else
      ASSERT_EQ(reason, nullptr);
  }
}

void expectInvalid(const Bytes& b, std::string_view reasonPart, size_t maxLength = kV2MaxLength) {
  SCOPED_TRACE(::testing::Message() << "input: " << ::testing::PrintToString(b));
  ProxyHeader h;
  const char* reason = nullptr;
  ASSERT_EQ(parse(b, h, &reason, maxLength), ParseStatus::kInvalid);
  ASSERT_NE(reason, nullptr);
  EXPECT_NE(std::string_view(reason).find(reasonPart), std::string_view::npos)
      << "reason: " << reason;
  expectPrefixConsistency(b, maxLength);
}

void expectInvalid(std::string_view text, std::string_view reasonPart) {
  SCOPED_TRACE(::testing::Message() << "line: " << ::testing::PrintToString(std::string(text)));
  expectInvalid(bytesOf(text), reasonPart);
}

std::vector<Tlv> tlvsOf(const Bytes& b, const ProxyHeader& h) {
  std::vector<Tlv> out;
  TlvIterator it(b.data(), h);
  Tlv t;
  while (it.next(t)) out.push_back(t);
  return out;
}

std::string valueOf(const Tlv& t) {
  return std::string(reinterpret_cast<const char*>(t.value), t.length);
}

// ---- Known vectors, written by hand from the specification --------------------------------

TEST(ProxyProtocolV1, SpecExampleTcp4) {
  const std::string line = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
  const Bytes in = bytesOf(line + "GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n");
  ProxyHeader h;
  ASSERT_EQ(parse(in, h), ParseStatus::kOk);
  EXPECT_FALSE(h.v2);
  EXPECT_EQ(h.command, Command::kProxy);
  EXPECT_EQ(h.family, Family::kInet);
  EXPECT_EQ(h.transport, Transport::kStream);
  EXPECT_EQ(h.headerLength, line.size());
  EXPECT_TRUE(h.hasAddresses());
  EXPECT_EQ(h.src, addr("192.168.0.1:56324"));
  EXPECT_EQ(h.dst, addr("192.168.0.11:443"));
  EXPECT_EQ(h.tlvLength, 0u);
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(in.data()) + h.headerLength, 4), "GET ");
}

TEST(ProxyProtocolV1, Tcp6) {
  const std::string line = "PROXY TCP6 2001:DB8::1 ::1 65535 0\r\n";
  ProxyHeader h;
  ASSERT_EQ(parse(bytesOf(line), h), ParseStatus::kOk);
  EXPECT_EQ(h.family, Family::kInet6);
  EXPECT_EQ(h.src, addr("[2001:db8::1]:65535"));
  EXPECT_EQ(h.dst, addr("[::1]:0"));
  EXPECT_EQ(h.headerLength, line.size());
}

TEST(ProxyProtocolV1, Tcp6AcceptsFullFormAndV4Mapped) {
  ProxyHeader h;
  ASSERT_EQ(parse(bytesOf("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                          "0000:0000:0000:0000:0000:0000:0000:0001 65535 65535\r\n"),
                  h),
            ParseStatus::kOk);
  EXPECT_EQ(h.src, addr("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"));
  EXPECT_EQ(h.dst, addr("[::1]:65535"));
  EXPECT_EQ(h.headerLength, 104u);  // the spec's longest TCP6 line
  // inet_ntop based senders write v4-mapped addresses with a dotted quad.
  ASSERT_EQ(parse(bytesOf("PROXY TCP6 ::ffff:10.0.0.1 ::ffff:10.0.0.2 1 2\r\n"), h),
            ParseStatus::kOk);
  EXPECT_EQ(h.src, addr("[::ffff:10.0.0.1]:1"));
}

TEST(ProxyProtocolV1, LongestTcp4Line) {
  const std::string line = "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
  ASSERT_EQ(line.size(), 56u);
  ProxyHeader h;
  ASSERT_EQ(parse(bytesOf(line), h), ParseStatus::kOk);
  EXPECT_EQ(h.headerLength, 56u);
  EXPECT_EQ(h.src, addr("255.255.255.255:65535"));
}

TEST(ProxyProtocolV1, Unknown) {
  ProxyHeader h;
  ASSERT_EQ(parse(bytesOf("PROXY UNKNOWN\r\nxyz"), h), ParseStatus::kOk);
  EXPECT_FALSE(h.v2);
  EXPECT_EQ(h.family, Family::kUnspec);
  EXPECT_FALSE(h.hasAddresses());
  EXPECT_FALSE(h.src.valid());
  EXPECT_EQ(h.headerLength, 15u);
  // Anything after UNKNOWN and a space is ignored, up to the CRLF.
  const std::string junk = "PROXY UNKNOWN whatever 1.2.3.4 :: 99999 -1\r\n";
  ASSERT_EQ(parse(bytesOf(junk + "payload"), h), ParseStatus::kOk);
  EXPECT_EQ(h.headerLength, junk.size());
  EXPECT_FALSE(h.hasAddresses());
}

TEST(ProxyProtocolV1, UnknownWorstCaseIs107Bytes) {
  std::string line =
      "PROXY UNKNOWN " + std::string(39, 'f') + " " + std::string(39, 'f') + " 65535 65535\r\n";
  ASSERT_EQ(line.size(), kV1MaxLength);
  ProxyHeader h;
  ASSERT_EQ(parse(bytesOf(line), h), ParseStatus::kOk);
  EXPECT_EQ(h.headerLength, kV1MaxLength);
  expectPrefixConsistency(bytesOf(line));
  // One byte more and the CRLF no longer fits.
  expectInvalid(line.substr(0, 14) + "f" + line.substr(14), "too long");
}

TEST(ProxyProtocolV2, HandWrittenTcp4) {
  const Bytes in = cat({v2({0x21, 0x11, 0x00, 0x0C,    // PROXY, TCP/IPv4, 12 bytes
                            0xC0, 0xA8, 0x00, 0x01,    // 192.168.0.1
                            0xC0, 0xA8, 0x00, 0x0B,    // 192.168.0.11
                            0xDC, 0x04, 0x01, 0xBB}),  // 56324, 443
                        bytesOf("GET / HTTP/1.1\r\n")});
  ProxyHeader h;
  const char* reason = "unchanged";
  ASSERT_EQ(parse(in, h, &reason), ParseStatus::kOk);
  EXPECT_EQ(reason, nullptr);
  EXPECT_TRUE(h.v2);
  EXPECT_EQ(h.command, Command::kProxy);
  EXPECT_EQ(h.family, Family::kInet);
  EXPECT_EQ(h.transport, Transport::kStream);
  EXPECT_EQ(h.headerLength, 28u);
  EXPECT_EQ(h.src, addr("192.168.0.1:56324"));
  EXPECT_EQ(h.dst, addr("192.168.0.11:443"));
  EXPECT_EQ(h.tlvOffset, 28u);
  EXPECT_EQ(h.tlvLength, 0u);
  EXPECT_EQ(in[h.headerLength], 'G');
}

TEST(ProxyProtocolV2, HandWrittenUdp6) {
  const Bytes in =
      v2({0x21, 0x22, 0x00, 0x24,  // PROXY, UDP/IPv6, 36 bytes
          0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,  // 2001:db8::1
          0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,  // ::2
          0x1F, 0x90, 0x00, 0x35});                                       // 8080, 53
  ProxyHeader h;
  ASSERT_EQ(parse(in, h), ParseStatus::kOk);
  EXPECT_EQ(h.family, Family::kInet6);
  EXPECT_EQ(h.transport, Transport::kDgram);
  EXPECT_EQ(h.headerLength, 52u);
  EXPECT_EQ(h.src, addr("[2001:db8::1]:8080"));
  EXPECT_EQ(h.dst, addr("[::2]:53"));
}

TEST(ProxyProtocolV2, HandWrittenLocal) {
  const Bytes in = cat({v2({0x20, 0x00, 0x00, 0x00}), bytesOf("payload")});
  ProxyHeader h;
  ASSERT_EQ(parse(in, h), ParseStatus::kOk);
  EXPECT_TRUE(h.v2);
  EXPECT_EQ(h.command, Command::kLocal);
  EXPECT_EQ(h.family, Family::kUnspec);
  EXPECT_EQ(h.transport, Transport::kUnspec);
  EXPECT_FALSE(h.hasAddresses());
  EXPECT_EQ(h.headerLength, 16u);
}

TEST(ProxyProtocolV2, LocalIgnoresAddressBlock) {
  // LOCAL with an IPv4 block: the family is ignored and no address is reported, but the
  // length is honoured and TLVs after the block are walked.
  const Bytes in = v2({0x20, 0x11, 0x00, 0x10, 10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0, 2,  //
                       0x04, 0x00, 0x01, 0xAA});
  ProxyHeader h;
  ASSERT_EQ(parse(in, h), ParseStatus::kOk);
  EXPECT_EQ(h.command, Command::kLocal);
  EXPECT_FALSE(h.hasAddresses());
  EXPECT_EQ(h.headerLength, 32u);
  auto tlvs = tlvsOf(in, h);
  ASSERT_EQ(tlvs.size(), 1u);
  EXPECT_EQ(tlvs[0].type, kTlvNoop);
  // "must not assume zero is presented for LOCAL", nor that the block is complete.
  ASSERT_EQ(parse(v2({0x20, 0x11, 0x00, 0x00}), h), ParseStatus::kOk);
  EXPECT_EQ(h.headerLength, 16u);
  ASSERT_EQ(parse(v2({0x20, 0x21, 0x00, 0x03, 1, 2, 3}), h), ParseStatus::kOk);
  EXPECT_EQ(h.headerLength, 19u);
  EXPECT_EQ(h.tlvLength, 0u);
  // LOCAL accepts any defined family/transport pair, e.g. INET with UNSPEC transport.
  ASSERT_EQ(parse(v2({0x20, 0x10, 0x00, 0x00}), h), ParseStatus::kOk);
}

TEST(ProxyProtocolV2, ProxyUnspecHasNoAddresses) {
  const Bytes in = v2({0x21, 0x00, 0x00, 0x07, 0x02, 0x00, 0x04, 'h', 'o', 's', 't'});
  ProxyHeader h;
  ASSERT_EQ(parse(in, h), ParseStatus::kOk);
  EXPECT_EQ(h.command, Command::kProxy);
  EXPECT_EQ(h.family, Family::kUnspec);
  EXPECT_FALSE(h.hasAddresses());
  EXPECT_EQ(h.tlvOffset, 16u);
  Tlv t;
  ASSERT_TRUE(findTlv(in.data(), h, kTlvAuthority, t));
  EXPECT_EQ(valueOf(t), "host");
}

TEST(ProxyProtocolV2, UnixIsAcceptedAsUnknown) {
  Bytes in = v2({0x21, 0x31, 0x00, 0xD8});  // 216 bytes
  in.resize(in.size() + kV2UnixAddrLength, 'x');
  ProxyHeader h;
  ASSERT_EQ(parse(in, h), ParseStatus::kOk);
  EXPECT_EQ(h.family, Family::kUnix);
  EXPECT_EQ(h.transport, Transport::kStream);
  EXPECT_FALSE(h.hasAddresses());
  EXPECT_EQ(h.headerLength, 16u + 216u);
  EXPECT_EQ(h.tlvOffset, 232u);
  EXPECT_EQ(h.tlvLength, 0u);
}

TEST(ProxyProtocolV2, HandWrittenTlvs) {
  const Bytes in = cat({v2({0x21, 0x11, 0x00, 0x24,  // 12 + 14 + 3 + 7 = 36
                            127, 0, 0, 1, 127, 0, 0, 2, 0x04, 0xD2, 0x00, 0x50}),
                        Bytes{0x02, 0x00, 0x0B}, bytesOf("example.com"),  // authority
                        Bytes{0x04, 0x00, 0x00},                          // empty noop
                        Bytes{0x05, 0x00, 0x04}, bytesOf("abcd"),         // unique id
                        bytesOf("payload")});
  ProxyHeader h;
  ASSERT_EQ(parse(in, h), ParseStatus::kOk);
  EXPECT_EQ(h.headerLength, 52u);
  EXPECT_EQ(h.tlvOffset, 28u);
  EXPECT_EQ(h.tlvLength, 24u);
  auto tlvs = tlvsOf(in, h);
  ASSERT_EQ(tlvs.size(), 3u);
  EXPECT_EQ(tlvs[0].type, kTlvAuthority);
  EXPECT_EQ(valueOf(tlvs[0]), "example.com");
  EXPECT_EQ(tlvs[1].type, kTlvNoop);
  EXPECT_EQ(tlvs[1].length, 0u);
  EXPECT_EQ(tlvs[2].type, kTlvUniqueId);
  EXPECT_EQ(valueOf(tlvs[2]), "abcd");
  Tlv t;
  ASSERT_TRUE(findTlv(in.data(), h, kTlvUniqueId, t));
  EXPECT_EQ(valueOf(t), "abcd");
  EXPECT_FALSE(findTlv(in.data(), h, kTlvAlpn, t));
}

// CRC32c check value from RFC 3720 / the usual "123456789" test vector.
TEST(ProxyProtocolV2, Crc32cKnownValue) {
  const Bytes s = bytesOf("123456789");
  EXPECT_EQ(crc32c(0, s.data(), s.size()), 0xE3069283u);
  EXPECT_EQ(crc32c(crc32c(0, s.data(), 4), s.data() + 4, 5), 0xE3069283u);
  EXPECT_EQ(crc32c(0, s.data(), 0), 0u);
}

// The CRC value was computed independently (bitwise CRC32c over the header with the value
// zeroed), big-endian in the TLV.
const Bytes kCrcHeader = v2({0x21, 0x11, 0x00, 0x13, 127,  0,    0,    1,    127,  0,    0,   2,
                             0x04, 0xD2, 0x00, 0x50, 0x03, 0x00, 0x04, 0x72, 0x26, 0xE9, 0xCD});

TEST(ProxyProtocolV2, Crc32cVerified) {
  ProxyHeader h;
  ASSERT_EQ(parse(kCrcHeader, h), ParseStatus::kOk);
  EXPECT_EQ(h.headerLength, 35u);
  EXPECT_EQ(h.src, addr("127.0.0.1:1234"));
  Tlv t;
  ASSERT_TRUE(findTlv(kCrcHeader.data(), h, kTlvCrc32c, t));
  EXPECT_EQ(t.length, 4u);
  // Any flipped bit in the header breaks the checksum (the length and signature bytes are
  // excluded: changing them makes a different error or an incomplete header).
  for (size_t i = 16; i < kCrcHeader.size(); ++i) {
    if (i >= 28 && i < 31) continue;  // the TLV type/length: a different error
    Bytes bad = kCrcHeader;
    bad[i] ^= 0x01;
    expectInvalid(bad, "CRC32c mismatch");
  }
}

// ---- Encoders against hand-written bytes --------------------------------------------------

TEST(ProxyProtocolEncode, V1KnownLines) {
  char buf[kV1MaxEncodedLength];
  size_t n = writeProxyV1(addr("192.168.0.1:56324"), addr("192.168.0.11:443"), buf, sizeof(buf));
  EXPECT_EQ(std::string_view(buf, n), "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
  n = writeProxyV1(addr("[2001:db8::1]:65535"), addr("[::1]:0"), buf, sizeof(buf));
  EXPECT_EQ(std::string_view(buf, n), "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n");
  n = writeProxyV1(addr("1.2.3.4:1"), addr("[::1]:2"), buf, sizeof(buf));
  EXPECT_EQ(std::string_view(buf, n), "PROXY UNKNOWN\r\n");
  n = writeProxyV1(SockAddr{}, SockAddr{}, buf, sizeof(buf));
  EXPECT_EQ(std::string_view(buf, n), "PROXY UNKNOWN\r\n");
}

TEST(ProxyProtocolEncode, V1LongestLineFitsTheConstant) {
  char buf[kV1MaxEncodedLength];
  SockAddr a = addr("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
  size_t n = writeProxyV1(a, a, buf, sizeof(buf));
  EXPECT_EQ(n, kV1MaxEncodedLength);
  EXPECT_EQ(writeProxyV1(a, a, buf, n - 1), 0u);
}

TEST(ProxyProtocolEncode, V1Ipv6IsRfc5952) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"::", "::"},
      {"::1", "::1"},
      {"1::", "1::"},
      {"2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // a single zero group stays
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},           // the longest run wins
      {"1:0:0:2:0:0:3:4", "1::2:0:0:3:4"},               // the first of equal runs
      {"::ffff:1.2.3.4", "::ffff:102:304"},              // hex only, no dotted quad
      {"fe80::abcd:ef01", "fe80::abcd:ef01"},
  };
  for (const Case& c : cases) {
    SockAddr a = addr(std::string("[") + c.in + "]:1");
    char buf[kV1MaxEncodedLength];
    size_t n = writeProxyV1(a, a, buf, sizeof(buf));
    std::string expected = std::string("PROXY TCP6 ") + c.out + " " + c.out + " 1 1\r\n";
    EXPECT_EQ(std::string_view(buf, n), expected) << c.in;
  }
}

TEST(ProxyProtocolEncode, V2KnownBytes) {
  uint8_t buf[128];
  size_t n = writeProxyV2(addr("192.168.0.1:56324"), addr("192.168.0.11:443"), buf, sizeof(buf));
  EXPECT_EQ(Bytes(buf, buf + n), v2({0x21, 0x11, 0x00, 0x0C, 0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8,
                                     0x00, 0x0B, 0xDC, 0x04, 0x01, 0xBB}));

  V2Options udp;
  udp.transport = Transport::kDgram;
  n = writeProxyV2(addr("[2001:db8::1]:8080"), addr("[::2]:53"), buf, sizeof(buf), udp);
  EXPECT_EQ(Bytes(buf, buf + n),
            v2({0x21, 0x22, 0x00, 0x24, 0x20, 0x01, 0x0D, 0xB8, 0,    0,    0,    0,   0, 0,
                0,    0,    0,    0,    0,    0x01, 0,    0,    0,    0,    0,    0,   0, 0,
                0,    0,    0,    0,    0,    0,    0,    0x02, 0x1F, 0x90, 0x00, 0x35}));

  V2Options local;
  local.command = Command::kLocal;
  n = writeProxyV2(addr("1.2.3.4:1"), addr("5.6.7.8:2"), buf, sizeof(buf), local);
  EXPECT_EQ(Bytes(buf, buf + n), v2({0x20, 0x00, 0x00, 0x00}));

  // Mixed families: PROXY with UNSPEC family and no address block.
  n = writeProxyV2(addr("1.2.3.4:1"), addr("[::1]:2"), buf, sizeof(buf));
  EXPECT_EQ(Bytes(buf, buf + n), v2({0x21, 0x00, 0x00, 0x00}));
}

TEST(ProxyProtocolEncode, V2TlvsAndCrcKnownBytes) {
  const Bytes unique = bytesOf("abcd");
  const Tlv tlvs[] = {{kTlvUniqueId, unique.data(), 4}};
  V2Options opts;
  opts.tlvs = tlvs;
  opts.crc32c = true;
  SockAddr src = addr("127.0.0.1:1234"), dst = addr("127.0.0.2:80");
  uint8_t buf[128];
  size_t n = writeProxyV2(src, dst, buf, sizeof(buf), opts);
  EXPECT_EQ(n, proxyV2EncodedLength(src, dst, opts));
  ASSERT_EQ(n, 16u + 12u + 7u + 7u);
  Bytes prefix(buf, buf + 35);
  EXPECT_EQ(prefix, v2({0x21, 0x11, 0x00, 0x1A, 127,  0,    0,    1,   127, 0,   0,  2,
                        0x04, 0xD2, 0x00, 0x50, 0x05, 0x00, 0x04, 'a', 'b', 'c', 'd'}));
  EXPECT_EQ(buf[35], kTlvCrc32c);

  // Without the extra TLV the output is exactly the independently computed vector.
  opts.tlvs = {};
  n = writeProxyV2(src, dst, buf, sizeof(buf), opts);
  EXPECT_EQ(Bytes(buf, buf + n), kCrcHeader);
}

TEST(ProxyProtocolEncode, V2CapacityAndLimits) {
  SockAddr a = addr("[::1]:1");
  uint8_t buf[kV2MaxEncodedLengthNoTlv];
  size_t n = writeProxyV2(a, a, buf, sizeof(buf));
  EXPECT_EQ(n, kV2MaxEncodedLengthNoTlv);
  EXPECT_EQ(writeProxyV2(a, a, buf, n - 1), 0u);
  // 16 + 36 + 3 + 65535 does not fit the 16-bit length.
  Bytes big(65535, 'x');
  const Tlv tlvs[] = {{kTlvNoop, big.data(), 65535}};
  V2Options opts;
  opts.tlvs = tlvs;
  EXPECT_EQ(proxyV2EncodedLength(a, a, opts), 0u);
  Bytes out(kV2MaxLength + 100);
  EXPECT_EQ(writeProxyV2(a, a, out.data(), out.size(), opts), 0u);
  // Even without addresses: 16 + 3 + 65535 > 16 + 65535. The largest TLV that fits is 65532.
  opts.command = Command::kLocal;
  EXPECT_EQ(proxyV2EncodedLength(a, a, opts), 0u);
  const Tlv fits[] = {{kTlvNoop, big.data(), 65532}};
  opts.tlvs = fits;
  n = writeProxyV2(a, a, out.data(), out.size(), opts);
  ASSERT_EQ(n, kV2MaxLength);
  ProxyHeader h;
  ASSERT_EQ(parseProxyHeader(out.data(), n, h, nullptr), ParseStatus::kOk);
  EXPECT_EQ(h.headerLength, kV2MaxLength);
}

// ---- Round trips --------------------------------------------------------------------------

TEST(ProxyProtocolRoundTrip, V1) {
  struct Case {
    const char* src;
    const char* dst;
    bool known;
  } cases[] = {
      {"10.1.2.3:40000", "10.9.8.7:443", true},
      {"0.0.0.0:0", "255.255.255.255:65535", true},
      {"[2001:db8::dead:beef]:1", "[fe80::1]:65535", true},
      {"[::ffff:1.2.3.4]:5", "[::]:6", true},
      {"10.1.2.3:1", "[::1]:2", false},
      {"[::1]:2", "10.1.2.3:1", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.src);
    SockAddr src = addr(c.src), dst = addr(c.dst);
    char buf[kV1MaxEncodedLength];
    size_t n = writeProxyV1(src, dst, buf, sizeof(buf));
    ASSERT_GT(n, 0u);
    Bytes in(buf, buf + n);
    in.push_back('Z');
    ProxyHeader h;
    ASSERT_EQ(parse(in, h), ParseStatus::kOk);
    EXPECT_EQ(h.headerLength, n);
    EXPECT_FALSE(h.v2);
    EXPECT_EQ(h.hasAddresses(), c.known);
    if (c.known) {
      EXPECT_EQ(h.src, src);
      EXPECT_EQ(h.dst, dst);
      EXPECT_EQ(h.family, src.isV6() ? Family::kInet6 : Family::kInet);
    } else {
      EXPECT_EQ(h.family, Family::kUnspec);
    }
    in.pop_back();
    expectPrefixConsistency(in);
  }
}

TEST(ProxyProtocolRoundTrip, V2) {
  const std::pair<const char*, const char*> pairs[] = {
      {"10.1.2.3:40000", "10.9.8.7:443"},
      {"[2001:db8::dead:beef]:1", "[fe80::1]:65535"},
      {"10.1.2.3:1", "[::1]:2"},
  };
  const Bytes authority = bytesOf("fulcrum.example");
  const Tlv tlvs[] = {{kTlvAuthority, authority.data(), static_cast<uint16_t>(authority.size())},
                      {kTlvNoop, nullptr, 0}};
  for (auto [s, d] : pairs) {
    for (Transport tr : {Transport::kStream, Transport::kDgram}) {
      for (Command cmd : {Command::kProxy, Command::kLocal}) {
        for (bool withTlvs : {false, true}) {
          for (bool crc : {false, true}) {
            SCOPED_TRACE(::testing::Message() << s << " tr=" << int(tr) << " cmd=" << int(cmd)
                                              << " tlvs=" << withTlvs << " crc=" << crc);
            SockAddr src = addr(s), dst = addr(d);
            V2Options opts;
            opts.command = cmd;
            opts.transport = tr;
            if (withTlvs) opts.tlvs = tlvs;
            opts.crc32c = crc;
            uint8_t buf[256];
            size_t n = writeProxyV2(src, dst, buf, sizeof(buf), opts);
            ASSERT_EQ(n, proxyV2EncodedLength(src, dst, opts));
            Bytes in(buf, buf + n);
            in.insert(in.end(), {'P', 'A', 'Y'});
            ProxyHeader h;
            ASSERT_EQ(parse(in, h), ParseStatus::kOk);
            EXPECT_TRUE(h.v2);
            EXPECT_EQ(h.headerLength, n);
            EXPECT_EQ(h.command, cmd);
            bool sameFamily = src.family() == dst.family();
            if (cmd == Command::kProxy && sameFamily) {
              EXPECT_TRUE(h.hasAddresses());
              EXPECT_EQ(h.src, src);
              EXPECT_EQ(h.dst, dst);
              EXPECT_EQ(h.transport, tr);
              EXPECT_EQ(h.family, src.isV6() ? Family::kInet6 : Family::kInet);
            } else {
              EXPECT_FALSE(h.hasAddresses());
              EXPECT_EQ(h.family, Family::kUnspec);
            }
            auto got = tlvsOf(in, h);
            size_t expected = (withTlvs ? 2 : 0) + (crc ? 1 : 0);
            ASSERT_EQ(got.size(), expected);
            if (withTlvs) {
              EXPECT_EQ(got[0].type, kTlvAuthority);
              EXPECT_EQ(valueOf(got[0]), "fulcrum.example");
              EXPECT_EQ(got[1].type, kTlvNoop);
            }
            if (crc) {
              EXPECT_EQ(got.back().type, kTlvCrc32c);
            }
            in.resize(n);
            expectPrefixConsistency(in);
          }
        }
      }
    }
  }
}

// ---- Partial input and payload ------------------------------------------------------------

TEST(ProxyProtocolPartial, ByteByByteIsIncompleteUntilTheEnd) {
  const Bytes headers[] = {
      bytesOf("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"),
      bytesOf("PROXY TCP6 2001:db8::1 ::1 65535 0\r\n"),
      bytesOf("PROXY UNKNOWN\r\n"),
      bytesOf("PROXY UNKNOWN a b c\r\n"),
      kCrcHeader,
      v2({0x20, 0x00, 0x00, 0x00}),
  };
  for (const Bytes& b : headers) {
    for (size_t k = 0; k < b.size(); ++k) {
      ProxyHeader h;
      const char* reason = "x";
      ASSERT_EQ(parseN(b, k, h, &reason), ParseStatus::kIncomplete) << k;
      EXPECT_EQ(reason, nullptr);
      EXPECT_TRUE(mayBeProxyHeader(b.data(), k));
    }
    ProxyHeader h;
    ASSERT_EQ(parse(b, h), ParseStatus::kOk);
    EXPECT_EQ(h.headerLength, b.size());
  }
}

TEST(ProxyProtocolPartial, PayloadIsLeftAlone) {
  // Payload that itself looks like a header or contains CRLFs does not change the result.
  const Bytes line = bytesOf("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
  for (const Bytes& payload : {bytesOf("PROXY TCP4 9.9.9.9 9.9.9.9 9 9\r\n"), bytesOf("\r\n"),
                               bytesOf("\n"), kCrcHeader, Bytes(1000, 0xFF)}) {
    ProxyHeader h;
    ASSERT_EQ(parse(cat({line, payload}), h), ParseStatus::kOk);
    EXPECT_EQ(h.headerLength, line.size());
    EXPECT_EQ(h.src, addr("1.2.3.4:1"));
    ASSERT_EQ(parse(cat({kCrcHeader, payload}), h), ParseStatus::kOk);
    EXPECT_EQ(h.headerLength, kCrcHeader.size());
    // The TLV range stays within the header even with trailing bytes.
    EXPECT_EQ(h.tlvOffset + h.tlvLength, kCrcHeader.size());
  }
}

TEST(ProxyProtocolPartial, MaxLengthRejectsEarly) {
  // Declared 200 bytes, caller's buffer 100: invalid as soon as the length is known.
  Bytes in = v2({0x21, 0x00, 0x00, 0xC8});
  ProxyHeader h;
  const char* reason = nullptr;
  ASSERT_EQ(parse(in, h, &reason, 100), ParseStatus::kInvalid);
  EXPECT_STREQ(reason, "v2 length exceeds maximum");
  EXPECT_EQ(parse(in, h, &reason), ParseStatus::kIncomplete);
  in.resize(16 + 200, 'x');  // one NOOP TLV filling the 200 bytes
  in[16] = kTlvNoop;
  in[17] = 0x00;
  in[18] = 200 - 3;
  ASSERT_EQ(parse(in, h, &reason), ParseStatus::kOk);
  EXPECT_EQ(h.headerLength, 216u);
  EXPECT_EQ(parse(in, h, &reason, 215), ParseStatus::kInvalid);
  EXPECT_EQ(parse(in, h, &reason, 216), ParseStatus::kOk);
}

// ---- Not a PROXY header -------------------------------------------------------------------

TEST(ProxyProtocolDetect, NotProxy) {
  const Bytes cases[] = {
      bytesOf("GET / HTTP/1.1\r\n"),
      Bytes{0x16, 0x03, 0x01, 0x02, 0x00},  // TLS ClientHello
      bytesOf("SSH-2.0-OpenSSH\r\n"),
      bytesOf("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"),  // case matters
      bytesOf("PROXz"),
      Bytes{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x58},  // "QUIX"
      bytesOf("\r\n\r\nGET"),
      bytesOf("\r\n"),  // still a prefix: incomplete, below
  };
  for (size_t i = 0; i + 1 < std::size(cases); ++i) {
    SCOPED_TRACE(i);
    ProxyHeader h;
    const char* reason = nullptr;
    EXPECT_EQ(parse(cases[i], h, &reason), ParseStatus::kNotProxy);
    EXPECT_NE(reason, nullptr);
    EXPECT_FALSE(mayBeProxyHeader(cases[i].data(), cases[i].size()));
    expectPrefixConsistency(cases[i]);
  }
  ProxyHeader h;
  EXPECT_EQ(parse(cases[std::size(cases) - 1], h), ParseStatus::kIncomplete);
  EXPECT_EQ(parseN(Bytes{}, 0, h), ParseStatus::kIncomplete);
}

TEST(ProxyProtocolDetect, MayBeProxyHeader) {
  EXPECT_TRUE(mayBeProxyHeader(nullptr, 0));
  const Bytes p = bytesOf("PROX");
  EXPECT_TRUE(mayBeProxyHeader(p.data(), p.size()));
  const Bytes v1 = bytesOf("PROXY TCP4 ...");
  EXPECT_TRUE(mayBeProxyHeader(v1.data(), v1.size()));
  const Bytes s = v2({0x99});  // signature then anything: still "may be" (parse says invalid)
  EXPECT_TRUE(mayBeProxyHeader(s.data(), s.size()));
  EXPECT_TRUE(mayBeProxyHeader(kSig.data(), 5));
  const Bytes g = bytesOf("GET");
  EXPECT_FALSE(mayBeProxyHeader(g.data(), g.size()));
}

// ---- Invalid v2 ---------------------------------------------------------------------------

TEST(ProxyProtocolV2Invalid, BadVersion) {
  expectInvalid(v2({0x11, 0x11, 0x00, 0x0C}), "v2 bad version");
  expectInvalid(v2({0x31, 0x11, 0x00, 0x0C}), "v2 bad version");
  expectInvalid(v2({0x01}), "v2 bad version");  // rejected from the 13th byte on
}

TEST(ProxyProtocolV2Invalid, BadCommand) {
  expectInvalid(v2({0x22, 0x11, 0x00, 0x0C}), "v2 bad command");
  expectInvalid(v2({0x2F}), "v2 bad command");
}

TEST(ProxyProtocolV2Invalid, BadFamilyOrTransport) {
  expectInvalid(v2({0x21, 0x41, 0x00, 0x00}), "v2 unknown family");
  expectInvalid(v2({0x20, 0xF0}), "v2 unknown family");  // even with LOCAL
  expectInvalid(v2({0x21, 0x13, 0x00, 0x0C}), "v2 unknown transport");
  expectInvalid(v2({0x21, 0x10, 0x00, 0x0C}), "combination");  // INET without transport
  expectInvalid(v2({0x21, 0x01, 0x00, 0x00}), "combination");  // UNSPEC with STREAM
  expectInvalid(v2({0x21, 0x02}), "combination");
}

TEST(ProxyProtocolV2Invalid, LengthSmallerThanAddressBlock) {
  Bytes in = v2({0x21, 0x11, 0x00, 0x0B});
  in.resize(16 + 11);
  expectInvalid(in, "v2 length smaller than address block");
  expectInvalid(v2({0x21, 0x21, 0x00, 0x23}), "v2 length smaller than address block");
  expectInvalid(v2({0x21, 0x32, 0x00, 0xD7}), "v2 length smaller than address block");
  expectInvalid(v2({0x21, 0x12, 0x00, 0x00}), "v2 length smaller than address block");
}

TEST(ProxyProtocolV2Invalid, TlvOverrun) {
  const Bytes base = {0x21, 0x11, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2};
  auto withTlvBytes = [&](const Bytes& tlv) {
    Bytes in = v2(base);
    in[15] = static_cast<uint8_t>(12 + tlv.size());
    in.insert(in.end(), tlv.begin(), tlv.end());
    return in;
  };
  expectInvalid(withTlvBytes({0x02, 0x00, 0x05, 'a', 'b', 'c', 'd'}), "v2 TLV overruns header");
  expectInvalid(withTlvBytes({0x04, 0x00, 0x00, 0x02, 0xFF, 0xFF}), "v2 TLV overruns header");
  expectInvalid(withTlvBytes({0x02}), "v2 truncated TLV header");
  expectInvalid(withTlvBytes({0x04, 0x00, 0x00, 0x02, 0x00}), "v2 truncated TLV header");
  // The TLV would fit in the input (payload follows) but not in the declared header.
  Bytes in = withTlvBytes({0x02, 0x00, 0x02, 'a'});
  in.push_back('b');
  expectInvalid(in, "v2 TLV overruns header");
}

TEST(ProxyProtocolV2Invalid, Crc32c) {
  Bytes bad = kCrcHeader;
  bad.back() ^= 0x80;
  expectInvalid(bad, "v2 CRC32c mismatch");
  // Wrong CRC TLV length.
  expectInvalid(v2({0x20, 0x00, 0x00, 0x05, 0x03, 0x00, 0x02, 0x00, 0x00}), "length is not 4");
  // Two CRC TLVs, the first one correct for the whole header: the second is a duplicate.
  Bytes dup = kCrcHeader;
  dup[15] = 0x13 + 7;
  dup.insert(dup.end(), {0x03, 0x00, 0x04, 0x01, 0x02, 0x03, 0x04});
  std::memset(dup.data() + 31, 0, 4);
  const uint32_t crc = crc32c(0, dup.data(), dup.size());
  for (int i = 0; i < 4; ++i) dup[31 + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  expectInvalid(dup, "v2 duplicate CRC32c TLV");
}

// ---- Invalid v1 ---------------------------------------------------------------------------

TEST(ProxyProtocolV1Invalid, TooLong) {
  expectInvalid("PROXY UNKNOWN " + std::string(100, 'a'), "v1 line too long");
  expectInvalid("PROXY UNKNOWN " + std::string(93, 'a') + "\r\n", "v1 line too long");
  // Exactly 107 bytes without CRLF is already too long; 106 may still end with CRLF.
  expectInvalid("PROXY UNKNOWN " + std::string(93, 'a'), "v1 line too long");
  ProxyHeader h;
  EXPECT_EQ(parse(bytesOf("PROXY UNKNOWN " + std::string(92, 'a')), h), ParseStatus::kIncomplete);
  EXPECT_EQ(parse(bytesOf("PROXY UNKNOWN " + std::string(91, 'a') + "\r"), h),
            ParseStatus::kIncomplete);
  expectInvalid("PROXY UNKNOWN " + std::string(92, 'a') + "\r", "v1 line too long");
  // An address that is too long is caught before the line limit, without waiting.
  expectInvalid("PROXY TCP4 1111111111111111", "source address");
  expectInvalid("PROXY TCP6 " + std::string(60, 'a'), "address");
}

TEST(ProxyProtocolV1Invalid, MissingCrlf) {
  expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "v1 LF without CR");
  expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", "v1 CR without LF");
  expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n", "v1 CR without LF");
  expectInvalid("PROXY UNKNOWN a\nb\r\n", "v1 LF without CR");
  expectInvalid("PROXY\r\n", "v1 missing protocol");
  expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "v1 missing fields");
  expectInvalid("PROXY TCP4 1.2.3.4\r\n", "v1 missing fields");
  expectInvalid("PROXY TCP4\r\n", "v1 missing fields");
  // Without CRLF a correct line is only incomplete...
  ProxyHeader h;
  EXPECT_EQ(parse(bytesOf("PROXY TCP4 1.2.3.4 5.6.7.8 1 2"), h), ParseStatus::kIncomplete);
  // ...until the 107-byte limit passes.
  expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8 1 2" + std::string(80, ' '), "v1");
}

TEST(ProxyProtocolV1Invalid, Protocol) {
  expectInvalid("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "v1 unknown protocol");
  expectInvalid("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "v1 unknown protocol");
  expectInvalid("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", "v1 unknown protocol");
  expectInvalid("PROXY TCP 1.2.3.4 5.6.7.8 1 2\r\n", "v1 unknown protocol");
  expectInvalid("PROXY TCP44 1.2.3.4 5.6.7.8 1 2\r\n", "v1 unknown protocol");
  expectInvalid("PROXY UNKNOWNX\r\n", "v1 unknown protocol");
  expectInvalid("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n", "single space after PROXY");
  expectInvalid("PROXY\tTCP4 1.2.3.4 5.6.7.8 1 2\r\n", "single space after PROXY");
  // Early: rejected before the line is complete.
  ProxyHeader h;
  EXPECT_EQ(parse(bytesOf("PROXY TCX"), h), ParseStatus::kInvalid);
  EXPECT_EQ(parse(bytesOf("PROXY UNKNOWNX"), h), ParseStatus::kInvalid);
}

TEST(ProxyProtocolV1Invalid, AddressForFamily) {
  const char* bad4[] = {"::1",       "256.1.1.1",  "01.2.3.4",  "1.2.3",    "1.2.3.4.5",
                        "1..2.3",    "1.2.3.",     ".1.2.3",    "1.2.3.04", "1.2.3.4a",
                        "0x1.2.3.4", "1.2.3.1000", "localhost", "1.2.3.-4"};
  for (const char* a : bad4) {
    expectInvalid(std::string("PROXY TCP4 ") + a + " 5.6.7.8 1 2\r\n", "source address");
    expectInvalid(std::string("PROXY TCP4 5.6.7.8 ") + a + " 1 2\r\n", "destination address");
  }
  const char* bad6[] = {"1.2.3.4", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::",      "::g",
                        ":::",     "fe80::1%eth0",      "[::1]",   "1:2:3:4:5:6:7"};
  for (const char* a : bad6) {
    expectInvalid(std::string("PROXY TCP6 ") + a + " ::1 1 2\r\n", "source address");
    expectInvalid(std::string("PROXY TCP6 ::1 ") + a + " 1 2\r\n", "destination address");
  }
}

TEST(ProxyProtocolV1Invalid, PortOutOfRange) {
  const char* bad[] = {"65536", "99999", "100000", "-1", "+1", "01", "00", "1a", "0x10", "1.5"};
  for (const char* p : bad) {
    expectInvalid(std::string("PROXY TCP4 1.2.3.4 5.6.7.8 ") + p + " 2\r\n", "source port");
    expectInvalid(std::string("PROXY TCP4 1.2.3.4 5.6.7.8 2 ") + p + "\r\n", "destination port");
  }
  ProxyHeader h;
  ASSERT_EQ(parse(bytesOf("PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\n"), h), ParseStatus::kOk);
  EXPECT_EQ(h.src.port(), 0);
  EXPECT_EQ(h.dst.port(), 65535);
}

TEST(ProxyProtocolV1Invalid, ExtraSpaces) {
  expectInvalid("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "v1 extra space");
  expectInvalid("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", "v1 extra space");
  expectInvalid("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "v1 extra space");
  expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n", "v1 extra space");
  expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n", "v1 extra space");
  expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "v1 trailing");
  expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "v1 trailing data");
  expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n", "v1 trailing space");
  expectInvalid("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n", "source address");
  expectInvalid("PROXY TCP4  ", "v1 extra space");  // early
}

// ---- TLV iterator -------------------------------------------------------------------------

TEST(ProxyProtocolTlv, IteratorOverRawBytesStopsAtMalformed) {
  const Bytes raw = {0x21, 0x00, 0x03, '1', '.', '3',  // SSL version sub-TLV
                     0x22, 0x00, 0x00,                 // empty CN
                     0x23, 0x00, 0x09, 'x'};           // truncated value
  TlvIterator it(raw.data(), raw.size());
  Tlv t;
  ASSERT_TRUE(it.next(t));
  EXPECT_EQ(t.type, 0x21);
  EXPECT_EQ(valueOf(t), "1.3");
  ASSERT_TRUE(it.next(t));
  EXPECT_EQ(t.type, 0x22);
  EXPECT_EQ(t.length, 0u);
  EXPECT_FALSE(it.next(t));
  EXPECT_FALSE(it.next(t));
  TlvIterator empty(raw.data(), 0);
  EXPECT_FALSE(empty.next(t));
}

TEST(ProxyProtocolTlv, NoTlvsForV1) {
  const Bytes in = bytesOf("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
  ProxyHeader h;
  ASSERT_EQ(parse(in, h), ParseStatus::kOk);
  EXPECT_TRUE(tlvsOf(in, h).empty());
}

// ---- Robustness ---------------------------------------------------------------------------

// Mutated and truncated valid headers: the parser never reads out of bounds (checked by the
// sanitizer build), a kOk header lies within the input with its TLVs inside it, and prefix
// results are consistent.
TEST(ProxyProtocolRobustness, MutatedHeaders) {
  std::vector<Bytes> seeds = {
      bytesOf("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"),
      bytesOf("PROXY TCP6 2001:db8::1 ::1 65535 0\r\n"),
      bytesOf("PROXY UNKNOWN\r\n"),
      kCrcHeader,
  };
  {
    const Bytes v = bytesOf("value");
    const Tlv tlvs[] = {{kTlvAuthority, v.data(), 5}, {kTlvUniqueId, v.data(), 3}};
    V2Options opts;
    opts.tlvs = tlvs;
    uint8_t buf[128];
    size_t n = writeProxyV2(addr("[::1]:1"), addr("[::2]:2"), buf, sizeof(buf), opts);
    seeds.emplace_back(buf, buf + n);
  }
  std::mt19937 rng(12345);
  int ok = 0, invalid = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    Bytes b = seeds[rng() % seeds.size()];
    int mutations = 1 + static_cast<int>(rng() % 3);
    for (int m = 0; m < mutations; ++m) {
      size_t pos = rng() % b.size();
      switch (rng() % 4) {
        case 0: b[pos] = static_cast<uint8_t>(rng()); break;
        case 1: b[pos] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 2: b.erase(b.begin() + static_cast<ptrdiff_t>(pos)); break;
        default:
          b.insert(b.begin() + static_cast<ptrdiff_t>(pos), static_cast<uint8_t>(rng()));
          break;
      }
      if (b.empty()) b.push_back(0);
    }
    ProxyHeader h;
    const char* reason = nullptr;
    ParseStatus st = parse(b, h, &reason);
    if (st == ParseStatus::kOk) {
      ++ok;
      ASSERT_LE(h.headerLength, b.size());
      ASSERT_LE(size_t{h.tlvOffset} + h.tlvLength, h.headerLength);
      TlvIterator it(b.data(), h);
      Tlv t;
      size_t walked = 0;
      while (it.next(t)) walked += kTlvHeaderLength + t.length;
      ASSERT_EQ(walked, h.tlvLength);
    } else if (st == ParseStatus::kInvalid) {
      ++invalid;
    }
    if (iter % 50 == 0) expectPrefixConsistency(b);
  }
  EXPECT_GT(ok, 0);
  EXPECT_GT(invalid, 0);
}

}  // namespace
}  // namespace fulcrum::proxy
