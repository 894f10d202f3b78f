// PROXY protocol v1 (text) and v2 (binary) as specified by HAProxy's proxy-protocol.txt:
// a pure parser for accept-proxy and encoders for send-proxy / send-proxy-v2. No sockets,
// no allocation, no exceptions: the parser reads a caller-owned buffer and reports where the
// header ends; the encoders write into a caller-owned buffer.
//
// Receiving side (stream): read into a buffer, call parseProxyHeader() on everything read so
// far; on kIncomplete read more (and apply a timeout), on kOk consume headerLength bytes (the
// rest is payload), on kInvalid / kNotProxy close the connection. A datagram carries a whole
// header, so for UDP treat kIncomplete as invalid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/net.h"

namespace fulcrum::proxy {

// v1: the longest line a receiver must accept, CRLF included ("PROXY UNKNOWN" + two
// full-length IPv6 addresses and ports). A line without CRLF in these bytes is invalid.
inline constexpr size_t kV1MaxLength = 107;
// v1: the longest line writeProxyV1() produces ("PROXY TCP6 <39> <39> 65535 65535\r\n").
// A buffer of this many bytes is always enough for writeProxyV1().
inline constexpr size_t kV1MaxEncodedLength = 104;

// v2: signature (12) + version/command (1) + family/transport (1) + length (2).
inline constexpr size_t kV2FixedLength = 16;
// v2: the length field is 16 bits, so no header is longer than this.
inline constexpr size_t kV2MaxLength = kV2FixedLength + 65535;
// v2 address block sizes for AF_INET, AF_INET6 and AF_UNIX.
inline constexpr size_t kV2Inet4AddrLength = 12;
inline constexpr size_t kV2Inet6AddrLength = 36;
inline constexpr size_t kV2UnixAddrLength = 216;
// v2: the longest header writeProxyV2() produces without TLVs (IPv6 addresses). Each TLV
// adds kTlvHeaderLength + its value length; the CRC32c option adds kCrc32cTlvLength.
// proxyV2EncodedLength() gives the exact size.
inline constexpr size_t kV2MaxEncodedLengthNoTlv = kV2FixedLength + kV2Inet6AddrLength;
inline constexpr size_t kTlvHeaderLength = 3;
inline constexpr size_t kCrc32cTlvLength = kTlvHeaderLength + 4;

// Registered v2 TLV types.
inline constexpr uint8_t kTlvAlpn = 0x01;
inline constexpr uint8_t kTlvAuthority = 0x02;
inline constexpr uint8_t kTlvCrc32c = 0x03;
inline constexpr uint8_t kTlvNoop = 0x04;
inline constexpr uint8_t kTlvUniqueId = 0x05;
inline constexpr uint8_t kTlvSsl = 0x20;
inline constexpr uint8_t kTlvNetns = 0x30;

enum class Command : uint8_t {
  kLocal = 0x0,  // health check etc.: use the real connection endpoints
  kProxy = 0x1,  // relayed: the header carries the original endpoints
};

// Values are the v2 wire nibbles.
enum class Family : uint8_t { kUnspec = 0x0, kInet = 0x1, kInet6 = 0x2, kUnix = 0x3 };
enum class Transport : uint8_t { kUnspec = 0x0, kStream = 0x1, kDgram = 0x2 };

struct ProxyHeader {
  bool v2 = false;
  Command command = Command::kLocal;
  // As announced: v1 TCP4/TCP6 give kInet/kInet6 and UNKNOWN gives kUnspec; v2 gives the
  // family nibble (kUnix is accepted but its addresses are not decoded).
  Family family = Family::kUnspec;
  Transport transport = Transport::kUnspec;
  // Set (valid()) only when hasAddresses(): command kProxy with an IPv4/IPv6 family.
  // Otherwise the caller uses the real connection endpoints.
  SockAddr src, dst;
  // v2 TLVs: byte range of the input buffer (not copied). Read them with TlvIterator before
  // the caller consumes the header from its buffer. Zero length when there are none.
  uint32_t tlvOffset = 0;
  uint32_t tlvLength = 0;
  // Bytes the header occupies at the start of the input; what follows is payload.
  size_t headerLength = 0;

  bool hasAddresses() const { return src.valid(); }
};

enum class ParseStatus {
  kIncomplete,  // a valid header prefix so far: read more bytes
  kOk,          // complete, valid header of headerLength bytes
  kInvalid,     // starts like a PROXY header but breaks the specification
  kNotProxy,    // matches neither the v1 nor the v2 signature
};

// Parses a PROXY header (v1 or v2) at the start of data[0..len). Never reads past len.
// Invalid input is rejected as soon as the available bytes prove it invalid, so kIncomplete
// always means "a valid header may still follow". *reason (if reason is not null) is set to
// a static string on kInvalid / kNotProxy and to nullptr otherwise. A v2 header longer than
// maxLength (e.g. the caller's buffer size) is kInvalid even before it is fully received.
// A CRC32c TLV, if present, is verified.
ParseStatus parseProxyHeader(const uint8_t* data, size_t len, ProxyHeader& out, const char** reason,
                             size_t maxLength = kV2MaxLength);

// True when data[0..len) could still be the start of a PROXY header (it is a prefix of, or
// starts with, "PROXY " or the v2 signature). len == 0 gives true.
bool mayBeProxyHeader(const uint8_t* data, size_t len);

// One TLV: for the iterator a view into the parsed buffer, for the encoder an input.
struct Tlv {
  uint8_t type = 0;
  const uint8_t* value = nullptr;
  uint16_t length = 0;
};

// Walks TLVs in a byte range: those of a parsed header, or the sub-TLVs of a kTlvSsl value
// (which start after its 5-byte client/verify prefix). Stops at the end or at the first
// malformed entry (parseProxyHeader already rejects those in a header).
//   TlvIterator it(buf, header); Tlv t; while (it.next(t)) { ... }
class TlvIterator {
 public:
  TlvIterator(const uint8_t* begin, size_t length) : p_(begin), end_(begin + length) {}
  // `data` is the buffer that was given to parseProxyHeader().
  TlvIterator(const uint8_t* data, const ProxyHeader& h)
      : TlvIterator(data + h.tlvOffset, h.tlvLength) {}

  bool next(Tlv& out);

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// Finds the first TLV of the given type in a parsed header.
bool findTlv(const uint8_t* data, const ProxyHeader& h, uint8_t type, Tlv& out);

// Writes a v1 line for a TCP connection from src to dst. Two IPv4 or two IPv6 addresses
// give TCP4 / TCP6; anything else (mixed or invalid families) gives "PROXY UNKNOWN\r\n".
// IPv6 is written in RFC 5952 form, all hex (no dotted quad). Returns the bytes written, or
// 0 when cap is too small (kV1MaxEncodedLength is always enough).
size_t writeProxyV1(const SockAddr& src, const SockAddr& dst, char* out, size_t cap);

struct V2Options {
  Command command = Command::kProxy;
  Transport transport = Transport::kStream;
  // Written in this order after the address block; values are copied.
  std::span<const Tlv> tlvs = {};
  // Append a CRC32c TLV (last) covering the whole header.
  bool crc32c = false;
};

// Size of the header writeProxyV2() would produce, or 0 if it would exceed kV2MaxLength.
size_t proxyV2EncodedLength(const SockAddr& src, const SockAddr& dst, const V2Options& opts);

// Writes a v2 header. With kProxy and two IPv4 or two IPv6 addresses and a stream or dgram
// transport the addresses are sent; otherwise (kLocal, mixed or invalid families, kUnspec
// transport) the family/transport byte is 0x00 (UNSPEC) and no address block is sent. TLVs
// are sent in every case. Returns the bytes written, or 0 when cap is too small or the header
// would exceed kV2MaxLength.
size_t writeProxyV2(const SockAddr& src, const SockAddr& dst, uint8_t* out, size_t cap,
                    const V2Options& opts = {});

// CRC32c (Castagnoli, RFC 4960 appendix B), as used by the kTlvCrc32c TLV. Chainable:
// crc32c(crc32c(0, a, n), b, m) == crc32c(0, a+b, n+m).
uint32_t crc32c(uint32_t crc, const uint8_t* data, size_t len);

}  // namespace fulcrum::proxy
