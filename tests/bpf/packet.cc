#include "packet.h"

#include <cstring>
#include <stdexcept>

namespace fulcrum::test::pkt {

const Mac kClientMac = {0x02, 0, 0, 0, 0, 0x01};
const Mac kLbMac = {0x02, 0, 0, 0, 0, 0x02};
const Mac kNextHopMac = {0x02, 0, 0, 0, 0, 0x03};

Addr Addr::parse(const std::string& text) {
  Addr a;
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    a.b[10] = a.b[11] = 0xff;
    std::memcpy(a.b.data() + 12, &v4, 4);
    return a;
  }
  if (inet_pton(AF_INET6, text.c_str(), a.b.data()) != 1)
    throw std::invalid_argument("bad address " + text);
  a.v6 = true;
  return a;
}

namespace {

void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

uint16_t csum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n % 2) sum += static_cast<uint32_t>(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

Bytes l4Bytes(const L4& l4) {
  Bytes b;
  if (l4.proto != 6 && l4.proto != 17) return Bytes(l4.payload.begin(), l4.payload.end());
  put16(b, l4.sport);
  put16(b, l4.dport);
  if (l4.proto == 6) {
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(i + 1));  // seq, ack
    b.push_back(0x50);                                                     // data offset 5
    b.push_back(l4.tcpFlags);
    put16(b, 65535);  // window
    put16(b, 0);      // checksum (filled by setL4Checksum)
    put16(b, 0);      // urgent
  } else {
    put16(b, static_cast<uint16_t>(8 + l4.payload.size()));
    put16(b, 0);
  }
  b.insert(b.end(), l4.payload.begin(), l4.payload.end());
  return b;
}

}  // namespace

// The TCP or UDP checksum over the pseudo header (RFC 793/768, RFC 8200 for IPv6).
void setL4Checksum(const Ip& ip, Bytes& l4) {
  Bytes pseudo;
  if (!ip.dst.v6) {
    pseudo.insert(pseudo.end(), ip.src.v4(), ip.src.v4() + 4);
    pseudo.insert(pseudo.end(), ip.dst.v4(), ip.dst.v4() + 4);
    pseudo.push_back(0);
    pseudo.push_back(ip.l4.proto);
    put16(pseudo, static_cast<uint16_t>(l4.size()));
  } else {
    pseudo.insert(pseudo.end(), ip.src.b.begin(), ip.src.b.end());
    pseudo.insert(pseudo.end(), ip.dst.b.begin(), ip.dst.b.end());
    put16(pseudo, 0);
    put16(pseudo, static_cast<uint16_t>(l4.size()));
    put16(pseudo, 0);
    pseudo.push_back(0);
    pseudo.push_back(ip.l4.proto);
  }
  pseudo.insert(pseudo.end(), l4.begin(), l4.end());
  uint16_t c = csum(pseudo.data(), pseudo.size());
  if (ip.l4.proto == 17 && c == 0) c = 0xffff;
  const size_t at = ip.l4.proto == 6 ? 16 : 6;
  l4[at] = static_cast<uint8_t>(c >> 8);
  l4[at + 1] = static_cast<uint8_t>(c);
}

Bytes ipPacket(const Ip& ip) {
  Bytes l4 = l4Bytes(ip.l4);
  if (ip.l4.proto == 6 || ip.l4.proto == 17) setL4Checksum(ip, l4);
  Bytes b;
  if (!ip.dst.v6) {
    const size_t hl = 20 + ip.options;
    b.push_back(static_cast<uint8_t>(0x40 | (hl / 4)));
    b.push_back(ip.tos);
    put16(b, static_cast<uint16_t>(hl + l4.size()));
    put16(b, 0x1234);  // id
    put16(b, ip.fragOff);
    b.push_back(64);  // ttl
    b.push_back(ip.l4.proto);
    put16(b, 0);
    b.insert(b.end(), ip.src.v4(), ip.src.v4() + 4);
    b.insert(b.end(), ip.dst.v4(), ip.dst.v4() + 4);
    for (size_t i = 0; i < ip.options; ++i) b.push_back(1);  // NOP options
    const uint16_t c = csum(b.data(), hl);
    b[10] = static_cast<uint8_t>(c >> 8);
    b[11] = static_cast<uint8_t>(c);
  } else {
    const bool ext = ip.ext != 0xff;
    const size_t extLen = ext ? 8 : 0;
    b.push_back(static_cast<uint8_t>(0x60 | (ip.tos >> 4)));
    b.push_back(static_cast<uint8_t>((ip.tos & 0xf) << 4));
    put16(b, 0);  // flow label
    put16(b, static_cast<uint16_t>(extLen + l4.size()));
    b.push_back(ext ? ip.ext : ip.l4.proto);
    b.push_back(64);
    b.insert(b.end(), ip.src.b.begin(), ip.src.b.end());
    b.insert(b.end(), ip.dst.b.begin(), ip.dst.b.end());
    if (ext) {
      b.push_back(ip.l4.proto);
      for (int i = 0; i < 7; ++i) b.push_back(0);
    }
  }
  b.insert(b.end(), l4.begin(), l4.end());
  return b;
}

Bytes frame(const Mac& dst, const Mac& src, uint16_t etherType, const Bytes& l3, int vlan) {
  Bytes b(dst.begin(), dst.end());
  b.insert(b.end(), src.begin(), src.end());
  if (vlan >= 0) {
    put16(b, 0x8100);
    put16(b, static_cast<uint16_t>(vlan));
  }
  put16(b, etherType);
  b.insert(b.end(), l3.begin(), l3.end());
  return b;
}

Bytes frame(const Ip& ip, int vlan) {
  return frame(kLbMac, kClientMac, ip.dst.v6 ? 0x86dd : 0x0800, ipPacket(ip), vlan);
}

namespace {

Bytes outer4(const uint8_t (&src)[4], const Addr& real, const Bytes& inner, uint8_t tos,
             uint8_t proto) {
  Bytes b;
  b.push_back(0x45);
  b.push_back(tos);
  put16(b, static_cast<uint16_t>(20 + inner.size()));
  put16(b, 0);
  put16(b, 0);
  b.push_back(64);
  b.push_back(proto);
  put16(b, 0);
  b.insert(b.end(), src, src + 4);
  b.insert(b.end(), real.v4(), real.v4() + 4);
  const uint16_t c = csum(b.data(), 20);
  b[10] = static_cast<uint8_t>(c >> 8);
  b[11] = static_cast<uint8_t>(c);
  b.insert(b.end(), inner.begin(), inner.end());
  return b;
}

Bytes outer6(const Addr& src, const Addr& real, const Bytes& inner, uint8_t tos, uint32_t hash,
             uint8_t proto) {
  Bytes b;
  b.push_back(static_cast<uint8_t>(0x60 | (tos >> 4)));
  b.push_back(static_cast<uint8_t>(((tos & 0xf) << 4) | ((hash >> 16) & 0xf)));
  b.push_back(static_cast<uint8_t>(hash >> 8));
  b.push_back(static_cast<uint8_t>(hash));
  put16(b, static_cast<uint16_t>(inner.size()));
  b.push_back(proto);
  b.push_back(64);
  b.insert(b.end(), src.b.begin(), src.b.begin() + 12);
  b.push_back(static_cast<uint8_t>(hash >> 24));
  b.push_back(static_cast<uint8_t>(hash >> 16));
  b.push_back(static_cast<uint8_t>(hash >> 8));
  b.push_back(static_cast<uint8_t>(hash));
  b.insert(b.end(), real.b.begin(), real.b.end());
  b.insert(b.end(), inner.begin(), inner.end());
  return b;
}

Bytes udpThen(uint32_t hash, uint16_t port, const Bytes& inner) {
  Bytes b;
  put16(b, static_cast<uint16_t>(0xc000 | (hash & 0x3fff)));
  put16(b, port);
  put16(b, static_cast<uint16_t>(8 + inner.size()));
  put16(b, 0);
  b.insert(b.end(), inner.begin(), inner.end());
  return b;
}

}  // namespace

Bytes ipipOuter4(const uint8_t (&src)[4], const Addr& real, const Bytes& inner, uint8_t tos,
                 bool innerV6) {
  return outer4(src, real, inner, tos, innerV6 ? 41 : 4);
}

Bytes ipipOuter6(const Addr& src, const Addr& real, const Bytes& inner, uint8_t tos, uint32_t hash,
                 bool innerV6) {
  return outer6(src, real, inner, tos, hash, innerV6 ? 41 : 4);
}

Bytes gueOuter4(const uint8_t (&src)[4], const Addr& real, const Bytes& inner, uint8_t tos,
                uint32_t hash, uint16_t port) {
  return outer4(src, real, udpThen(hash, port, inner), tos, 17);
}

Bytes gueOuter6(const Addr& src, const Addr& real, const Bytes& inner, uint8_t tos, uint32_t hash,
                uint16_t port) {
  return outer6(src, real, udpThen(hash, port, inner), tos, hash, 17);
}

}  // namespace fulcrum::test::pkt
