#include "proxy/proxy_protocol.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <string_view>

namespace fulcrum::proxy {

namespace {

constexpr uint8_t kV2Signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                      0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr size_t kV2SignatureLength = sizeof(kV2Signature);
// The spec identifies v1 by these 5 bytes; the space that must follow is checked by the
// grammar so that "PROXY\r\n" is reported as an invalid v1 header rather than as non-PROXY.
constexpr std::string_view kV1Signature = "PROXY";

bool prefixMatches(const uint8_t* data, size_t len, const void* sig, size_t sigLen) {
  return len == 0 || std::memcmp(data, sig, std::min(len, sigLen)) == 0;
}

ParseStatus fail(const char** reason, ParseStatus status, const char* why) {
  if (reason != nullptr) *reason = why;
  return status;
}

uint16_t loadBe16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

uint32_t loadBe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

uint8_t* storeBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
  return p + 2;
}

void storeBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// ---- CRC32c -------------------------------------------------------------------------------

constexpr std::array<uint32_t, 256> makeCrc32cTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kCrc32cTable = makeCrc32cTable();

// ---- Addresses ----------------------------------------------------------------------------

SockAddr makeV4(const uint8_t addr[4], uint16_t port) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  std::memcpy(&in.sin_addr, addr, 4);
  return SockAddr::fromSockaddr(reinterpret_cast<const sockaddr*>(&in), sizeof(in));
}

SockAddr makeV6(const uint8_t addr[16], uint16_t port) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port);
  std::memcpy(&in6.sin6_addr, addr, 16);
  return SockAddr::fromSockaddr(reinterpret_cast<const sockaddr*>(&in6), sizeof(in6));
}

// Copies the raw address bytes (network order) of an IPv4 (4 bytes) or IPv6 (16 bytes)
// SockAddr. memcpy rather than a cast: the storage is only guaranteed sockaddr-aligned.
void rawAddress(const SockAddr& a, uint8_t* out) {
  if (a.family() == AF_INET) {
    sockaddr_in in;
    std::memcpy(&in, a.sa(), sizeof(in));
    std::memcpy(out, &in.sin_addr, 4);
  } else {
    sockaddr_in6 in6;
    std::memcpy(&in6, a.sa(), sizeof(in6));
    std::memcpy(out, &in6.sin6_addr, 16);
  }
}

// ---- v1 -----------------------------------------------------------------------------------

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isHex(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Dotted quad, exactly four decimal parts 0..255 without leading zeroes.
bool parseV1Ipv4(std::string_view s, uint8_t out[4]) {
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
    size_t start = i;
    unsigned v = 0;
    while (i < s.size() && isDigit(s[i]) && i - start < 3) v = v * 10 + (s[i++] - '0');
    size_t n = i - start;
    if (n == 0 || (n > 1 && s[start] == '0') || v > 255) return false;
    out[part] = static_cast<uint8_t>(v);
  }
  return i == s.size();
}

// Longest textual IPv6 form inet_pton accepts (INET6_ADDRSTRLEN without the NUL).
constexpr size_t kV1MaxIpv6Text = INET6_ADDRSTRLEN - 1;

// Hex groups with at most one "::" (inet_pton also takes the "::ffff:1.2.3.4" form that
// inet_ntop based senders such as HAProxy emit for v4-mapped addresses).
bool parseV1Ipv6(std::string_view s, uint8_t out[16]) {
  if (s.empty() || s.size() > kV1MaxIpv6Text) return false;
  for (char c : s)
    if (!isHex(c) && c != ':' && c != '.') return false;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  return inet_pton(AF_INET6, buf, out) == 1;
}

// Decimal 0..65535 without leading zeroes or sign.
bool parseV1Port(std::string_view s, uint16_t& out) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
  unsigned v = 0;
  for (char c : s) {
    if (!isDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  if (v > 65535) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

// Prefix checks for a field whose end has not been received yet: false when no amount of
// further bytes can make it valid.
bool ipv4Prefix(std::string_view s) {
  return s.size() <= 15 &&
         std::all_of(s.begin(), s.end(), [](char c) { return isDigit(c) || c == '.'; });
}

bool ipv6Prefix(std::string_view s) {
  return s.size() <= kV1MaxIpv6Text &&
         std::all_of(s.begin(), s.end(), [](char c) { return isHex(c) || c == ':' || c == '.'; });
}

bool portPrefix(std::string_view s) {
  if (s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
  unsigned v = 0;
  for (char c : s) {
    if (!isDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  return v <= 65535;
}

constexpr std::string_view kV1Tcp4 = "TCP4";
constexpr std::string_view kV1Tcp6 = "TCP6";
constexpr std::string_view kV1Unknown = "UNKNOWN";

bool protoPrefix(std::string_view s) {
  return kV1Tcp4.starts_with(s) || kV1Tcp6.starts_with(s) || kV1Unknown.starts_with(s);
}

struct V1Fields {
  Family family = Family::kUnspec;
  uint8_t addr[2][16] = {};
  uint16_t port[2] = {};
};

// Checks line[0..n) against the v1 grammar. `complete` says the line ended there (a CRLF
// follows); otherwise the last field may still grow. Returns nullptr when the line is valid
// (or a valid prefix), else the reason.
const char* checkV1Line(std::string_view line, bool complete, V1Fields& f) {
  constexpr const char* kAddrReason[2] = {"v1 bad source address for family",
                                          "v1 bad destination address for family"};
  constexpr const char* kPortReason[2] = {"v1 bad source port", "v1 bad destination port"};
  size_t pos = kV1Signature.size();
  if (line.size() <= pos) return complete ? "v1 missing protocol" : nullptr;
  if (line[pos] != ' ') return "v1 expected a single space after PROXY";
  ++pos;
  for (int field = 0;; ++field) {
    size_t end = line.find(' ', pos);
    bool spaceFollows = end != std::string_view::npos;
    if (!spaceFollows) end = line.size();
    bool terminated = spaceFollows || complete;
    std::string_view tok = line.substr(pos, end - pos);
    if (field == 5) return "v1 trailing data after destination port";
    if (tok.empty()) {
      if (!terminated) return nullptr;
      return spaceFollows ? "v1 extra space" : "v1 trailing space";
    }
    switch (field) {
      case 0:
        if (!terminated) return protoPrefix(tok) ? nullptr : "v1 unknown protocol";
        if (tok == kV1Unknown) {
          f.family = Family::kUnspec;
          return nullptr;  // the rest of the line is ignored
        }
        if (tok == kV1Tcp4) {
          f.family = Family::kInet;
        } else if (tok == kV1Tcp6) {
          f.family = Family::kInet6;
        } else {
          return "v1 unknown protocol";
        }
        break;
      case 1:
      case 2: {
        bool v4 = f.family == Family::kInet;
        bool ok = terminated ? (v4 ? parseV1Ipv4(tok, f.addr[field - 1])
                                   : parseV1Ipv6(tok, f.addr[field - 1]))
                             : (v4 ? ipv4Prefix(tok) : ipv6Prefix(tok));
        if (!ok) return kAddrReason[field - 1];
        break;
      }
      default: {
        bool ok = terminated ? parseV1Port(tok, f.port[field - 3]) : portPrefix(tok);
        if (!ok) return kPortReason[field - 3];
        break;
      }
    }
    if (!spaceFollows) {
      if (complete && field < 4) return "v1 missing fields";
      return nullptr;
    }
    pos = end + 1;
  }
}

ParseStatus parseV1(const uint8_t* data, size_t len, ProxyHeader& out, const char** reason) {
  const char* text = reinterpret_cast<const char*>(data);
  size_t scanEnd = std::min(len, kV1MaxLength);
  size_t lineEnd = scanEnd;  // bytes of the line available to the grammar
  bool complete = false;
  bool tooLong = len >= kV1MaxLength;
  for (size_t i = 0; i < scanEnd; ++i) {
    if (text[i] == '\n') return fail(reason, ParseStatus::kInvalid, "v1 LF without CR");
    if (text[i] != '\r') continue;
    lineEnd = i;
    if (i + 1 >= kV1MaxLength) {
      tooLong = true;  // the LF would be byte 108
    } else if (i + 1 < len) {
      if (text[i + 1] != '\n') return fail(reason, ParseStatus::kInvalid, "v1 CR without LF");
      complete = true;
    }
    break;
  }
  V1Fields f;
  if (const char* why = checkV1Line(std::string_view(text, lineEnd), complete, f))
    return fail(reason, ParseStatus::kInvalid, why);
  if (!complete) {
    if (tooLong) return fail(reason, ParseStatus::kInvalid, "v1 line too long (no CRLF)");
    return ParseStatus::kIncomplete;
  }
  out.v2 = false;
  out.command = Command::kProxy;
  out.family = f.family;
  out.headerLength = lineEnd + 2;
  if (f.family == Family::kInet) {
    out.transport = Transport::kStream;
    out.src = makeV4(f.addr[0], f.port[0]);
    out.dst = makeV4(f.addr[1], f.port[1]);
  } else if (f.family == Family::kInet6) {
    out.transport = Transport::kStream;
    out.src = makeV6(f.addr[0], f.port[0]);
    out.dst = makeV6(f.addr[1], f.port[1]);
  }
  return ParseStatus::kOk;
}

// ---- v2 -----------------------------------------------------------------------------------

size_t v2AddressLength(Family family) {
  switch (family) {
    case Family::kInet: return kV2Inet4AddrLength;
    case Family::kInet6: return kV2Inet6AddrLength;
    case Family::kUnix: return kV2UnixAddrLength;
    case Family::kUnspec: break;
  }
  return 0;
}

ParseStatus parseV2(const uint8_t* data, size_t len, ProxyHeader& out, const char** reason,
                    size_t maxLength) {
  constexpr ParseStatus kInvalid = ParseStatus::kInvalid;
  // Check each byte as soon as it arrives so that garbage is rejected early.
  if (len <= kV2SignatureLength) return ParseStatus::kIncomplete;
  uint8_t verCmd = data[12];
  if (verCmd >> 4 != 2) return fail(reason, kInvalid, "v2 bad version");
  if ((verCmd & 0xF) > 1) return fail(reason, kInvalid, "v2 bad command");
  auto command = static_cast<Command>(verCmd & 0xF);
  if (len <= 13) return ParseStatus::kIncomplete;
  uint8_t famByte = data[13];
  if (famByte >> 4 > 3) return fail(reason, kInvalid, "v2 unknown family");
  if ((famByte & 0xF) > 2) return fail(reason, kInvalid, "v2 unknown transport");
  auto family = static_cast<Family>(famByte >> 4);
  auto transport = static_cast<Transport>(famByte & 0xF);
  // With PROXY only the combinations listed by the spec are valid: UNSPEC/UNSPEC or a real
  // family with STREAM or DGRAM. With LOCAL the family byte is ignored.
  if (command == Command::kProxy &&
      (family == Family::kUnspec) != (transport == Transport::kUnspec))
    return fail(reason, kInvalid, "v2 invalid family/transport combination");
  if (len < kV2FixedLength) return ParseStatus::kIncomplete;
  size_t declared = loadBe16(data + 14);
  size_t total = kV2FixedLength + declared;
  if (total > maxLength) return fail(reason, kInvalid, "v2 length exceeds maximum");
  size_t addrLen = v2AddressLength(family);
  if (declared < addrLen) {
    if (command == Command::kProxy)
      return fail(reason, kInvalid, "v2 length smaller than address block");
    addrLen = declared;  // LOCAL: the block is skipped as a whole
  }
  if (len < total) return ParseStatus::kIncomplete;

  // Walk the TLVs, bounds-checked, and verify a CRC32c if present.
  size_t tlvStart = kV2FixedLength + addrLen;
  bool crcSeen = false;
  for (size_t p = tlvStart; p < total;) {
    if (total - p < kTlvHeaderLength) return fail(reason, kInvalid, "v2 truncated TLV header");
    uint8_t type = data[p];
    size_t valueLen = loadBe16(data + p + 1);
    size_t value = p + kTlvHeaderLength;
    if (valueLen > total - value) return fail(reason, kInvalid, "v2 TLV overruns header");
    if (type == kTlvCrc32c) {
      if (valueLen != 4) return fail(reason, kInvalid, "v2 CRC32c TLV length is not 4");
      if (crcSeen) return fail(reason, kInvalid, "v2 duplicate CRC32c TLV");
      crcSeen = true;
      static constexpr uint8_t kZero[4] = {};
      uint32_t crc = crc32c(0, data, value);
      crc = crc32c(crc, kZero, 4);
      crc = crc32c(crc, data + value + 4, total - value - 4);
      if (crc != loadBe32(data + value)) return fail(reason, kInvalid, "v2 CRC32c mismatch");
    }
    p = value + valueLen;
  }

  out.v2 = true;
  out.command = command;
  out.family = family;
  out.transport = transport;
  out.headerLength = total;
  out.tlvOffset = static_cast<uint32_t>(tlvStart);
  out.tlvLength = static_cast<uint32_t>(total - tlvStart);
  if (command == Command::kProxy && family == Family::kInet) {
    const uint8_t* a = data + kV2FixedLength;
    out.src = makeV4(a, loadBe16(a + 8));
    out.dst = makeV4(a + 4, loadBe16(a + 10));
  } else if (command == Command::kProxy && family == Family::kInet6) {
    const uint8_t* a = data + kV2FixedLength;
    out.src = makeV6(a, loadBe16(a + 32));
    out.dst = makeV6(a + 16, loadBe16(a + 34));
  }
  return ParseStatus::kOk;
}

// ---- Encoders -----------------------------------------------------------------------------

char* writeIpv4Text(char* p, const uint8_t a[4]) {
  for (int i = 0; i < 4; ++i) {
    if (i > 0) *p++ = '.';
    p = std::to_chars(p, p + 3, unsigned{a[i]}).ptr;
  }
  return p;
}

// RFC 5952: lowercase, no leading zeroes, the longest run (first on ties) of two or more
// zero groups replaced by "::". At most 39 characters.
char* writeIpv6Text(char* p, const uint8_t a[16]) {
  uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = loadBe16(a + 2 * i);
  int bestStart = -1, bestLen = 1;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  bool colon = false;
  for (int i = 0; i < 8; ++i) {
    if (i == bestStart) {
      *p++ = ':';
      *p++ = ':';
      i += bestLen - 1;
      colon = false;
      continue;
    }
    if (colon) *p++ = ':';
    p = std::to_chars(p, p + 4, g[i], 16).ptr;
    colon = true;
  }
  return p;
}

char* append(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

Family pairFamily(const SockAddr& src, const SockAddr& dst) {
  if (src.family() != dst.family()) return Family::kUnspec;
  if (src.family() == AF_INET) return Family::kInet;
  if (src.family() == AF_INET6) return Family::kInet6;
  return Family::kUnspec;
}

Family v2EncodeFamily(const SockAddr& src, const SockAddr& dst, const V2Options& opts) {
  if (opts.command != Command::kProxy) return Family::kUnspec;
  if (opts.transport != Transport::kStream && opts.transport != Transport::kDgram)
    return Family::kUnspec;
  return pairFamily(src, dst);
}

}  // namespace

uint32_t crc32c(uint32_t crc, const uint8_t* data, size_t len) {
  crc = ~crc;
  for (size_t i = 0; i < len; ++i) crc = kCrc32cTable[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

bool mayBeProxyHeader(const uint8_t* data, size_t len) {
  return prefixMatches(data, len, kV2Signature, kV2SignatureLength) ||
         prefixMatches(data, len, kV1Signature.data(), kV1Signature.size());
}

ParseStatus parseProxyHeader(const uint8_t* data, size_t len, ProxyHeader& out, const char** reason,
                             size_t maxLength) {
  out = ProxyHeader{};
  if (reason != nullptr) *reason = nullptr;
  if (len == 0) return ParseStatus::kIncomplete;
  if (prefixMatches(data, len, kV2Signature, kV2SignatureLength))
    return parseV2(data, len, out, reason, maxLength);
  if (prefixMatches(data, len, kV1Signature.data(), kV1Signature.size()))
    return parseV1(data, len, out, reason);
  return fail(reason, ParseStatus::kNotProxy, "not a PROXY protocol header");
}

bool TlvIterator::next(Tlv& out) {
  if (end_ - p_ < static_cast<ptrdiff_t>(kTlvHeaderLength)) return false;
  uint16_t length = loadBe16(p_ + 1);
  if (end_ - (p_ + kTlvHeaderLength) < length) return false;
  out.type = p_[0];
  out.length = length;
  out.value = p_ + kTlvHeaderLength;
  p_ += kTlvHeaderLength + length;
  return true;
}

bool findTlv(const uint8_t* data, const ProxyHeader& h, uint8_t type, Tlv& out) {
  TlvIterator it(data, h);
  Tlv t;
  while (it.next(t)) {
    if (t.type == type) {
      out = t;
      return true;
    }
  }
  return false;
}

size_t writeProxyV1(const SockAddr& src, const SockAddr& dst, char* out, size_t cap) {
  char buf[kV1MaxEncodedLength];
  char* p = buf;
  Family family = pairFamily(src, dst);
  if (family == Family::kUnspec) {
    p = append(p, "PROXY UNKNOWN\r\n");
  } else {
    uint8_t a[16];
    p = append(p, family == Family::kInet ? "PROXY TCP4 " : "PROXY TCP6 ");
    for (const SockAddr* s : {&src, &dst}) {
      rawAddress(*s, a);
      p = family == Family::kInet ? writeIpv4Text(p, a) : writeIpv6Text(p, a);
      *p++ = ' ';
    }
    p = std::to_chars(p, p + 5, src.port()).ptr;
    *p++ = ' ';
    p = std::to_chars(p, p + 5, dst.port()).ptr;
    p = append(p, "\r\n");
  }
  size_t n = static_cast<size_t>(p - buf);
  if (n > cap) return 0;
  std::memcpy(out, buf, n);
  return n;
}

size_t proxyV2EncodedLength(const SockAddr& src, const SockAddr& dst, const V2Options& opts) {
  size_t n = kV2FixedLength + v2AddressLength(v2EncodeFamily(src, dst, opts));
  for (const Tlv& t : opts.tlvs) n += kTlvHeaderLength + t.length;
  if (opts.crc32c) n += kCrc32cTlvLength;
  return n > kV2MaxLength ? 0 : n;
}

size_t writeProxyV2(const SockAddr& src, const SockAddr& dst, uint8_t* out, size_t cap,
                    const V2Options& opts) {
  size_t total = proxyV2EncodedLength(src, dst, opts);
  if (total == 0 || total > cap) return 0;
  Family family = v2EncodeFamily(src, dst, opts);
  uint8_t* p = out;
  std::memcpy(p, kV2Signature, kV2SignatureLength);
  p += kV2SignatureLength;
  *p++ = static_cast<uint8_t>(0x20 | static_cast<uint8_t>(opts.command));
  *p++ = family == Family::kUnspec ? uint8_t{0x00}
                                   : static_cast<uint8_t>(static_cast<uint8_t>(family) << 4 |
                                                          static_cast<uint8_t>(opts.transport));
  p = storeBe16(p, static_cast<uint16_t>(total - kV2FixedLength));
  if (family != Family::kUnspec) {
    size_t width = family == Family::kInet ? 4 : 16;
    uint8_t a[16];
    rawAddress(src, a);
    p = std::copy_n(a, width, p);
    rawAddress(dst, a);
    p = std::copy_n(a, width, p);
    p = storeBe16(p, src.port());
    p = storeBe16(p, dst.port());
  }
  for (const Tlv& t : opts.tlvs) {
    *p++ = t.type;
    p = storeBe16(p, t.length);
    if (t.length > 0) p = std::copy_n(t.value, t.length, p);
  }
  if (opts.crc32c) {
    *p++ = kTlvCrc32c;
    p = storeBe16(p, 4);
    storeBe32(p, 0);
    storeBe32(p, crc32c(0, out, total));
  }
  return total;
}

}  // namespace fulcrum::proxy
