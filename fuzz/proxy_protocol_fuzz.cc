// Fuzzes the PROXY protocol v1/v2 parser and TLV iteration, and checks what its header
// comment promises: never past len, a complete header's fields inside it, kIncomplete on
// every shorter prefix of a complete header, and the encoders' output parsed back to the
// same addresses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "proxy/proxy_protocol.h"

using namespace fulcrum::proxy;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "proxy_protocol fuzz: broken property: %s\n", what);
    abort();
  }
}

void walkTlvs(const uint8_t* begin, size_t length, int depth) {
  TlvIterator it(begin, length);
  Tlv t;
  size_t seen = 0;
  while (it.next(t)) {
    check(t.value >= begin && t.value + t.length <= begin + length, "TLV value inside range");
    seen += kTlvHeaderLength + t.length;
    check(seen <= length, "TLVs inside range");
    // The SSL TLV holds sub-TLVs after its 5-byte client/verify prefix.
    if (t.type == kTlvSsl && t.length >= 5 && depth == 0) walkTlvs(t.value + 5, t.length - 5, 1);
  }
}

void roundTrip(const ProxyHeader& h) {
  if (!h.hasAddresses()) return;
  char v1[kV1MaxEncodedLength];
  size_t n1 = writeProxyV1(h.src, h.dst, v1, sizeof v1);
  check(n1 > 0, "writeProxyV1 fits kV1MaxEncodedLength");
  ProxyHeader back;
  check(
      parseProxyHeader(reinterpret_cast<const uint8_t*>(v1), n1, back, nullptr) == ParseStatus::kOk,
      "v1 encoding parses");
  check(back.headerLength == n1, "v1 length");
  if (h.src.family() == h.dst.family()) {
    check(back.src == h.src && back.dst == h.dst, "v1 addresses round trip");
  }
  uint8_t v2[kV2MaxEncodedLengthNoTlv + kCrc32cTlvLength];
  V2Options opts;
  opts.crc32c = true;
  size_t n2 = writeProxyV2(h.src, h.dst, v2, sizeof v2, opts);
  check(n2 > 0 && n2 == proxyV2EncodedLength(h.src, h.dst, opts), "writeProxyV2 length");
  check(parseProxyHeader(v2, n2, back, nullptr) == ParseStatus::kOk, "v2 encoding parses");
  if (h.src.family() == h.dst.family()) {
    check(back.src == h.src && back.dst == h.dst, "v2 addresses round trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size copy, so that ASan sees any read past len.
  std::vector<uint8_t> buf(data, data + size);
  const uint8_t* p = buf.empty() ? nullptr : buf.data();
  for (size_t maxLength : {kV2MaxLength, size_t{64}}) {
    ProxyHeader h;
    const char* reason = nullptr;
    ParseStatus st = parseProxyHeader(p, size, h, &reason, maxLength);
    check((reason != nullptr) == (st == ParseStatus::kInvalid || st == ParseStatus::kNotProxy),
          "reason set exactly on kInvalid / kNotProxy");
    if (st == ParseStatus::kNotProxy) check(!mayBeProxyHeader(p, size), "kNotProxy: no prefix");
    if (st != ParseStatus::kOk) continue;
    check(h.headerLength > 0 && h.headerLength <= size, "header inside input");
    check(h.headerLength <= maxLength || !h.v2, "v2 header within maxLength");
    check(size_t{h.tlvOffset} + h.tlvLength <= h.headerLength, "TLVs inside header");
    walkTlvs(p, h.headerLength, 0);  // harmless on v1 too: the iterator must stay in range
    walkTlvs(p + h.tlvOffset, h.tlvLength, 0);
    Tlv t;
    if (findTlv(p, h, kTlvAuthority, t))
      check(t.value + t.length <= p + h.headerLength, "findTlv inside header");
    // A valid header's every shorter prefix is "read more".
    for (size_t cut : {h.headerLength - 1, h.headerLength / 2, size_t{1}}) {
      if (cut == 0 || cut >= h.headerLength) continue;
      std::vector<uint8_t> prefix(p, p + cut);
      ProxyHeader ph;
      check(
          parseProxyHeader(prefix.data(), cut, ph, nullptr, maxLength) == ParseStatus::kIncomplete,
          "prefix of a valid header is kIncomplete");
    }
    roundTrip(h);
  }
  return 0;
}
