#include "control/overrides.h"

#include <fmt/core.h>

#include <algorithm>

#include "common/index.h"
#include "common/log.h"

namespace fulcrum::control {
namespace {

model::Server* findServer(model::Config& c, std::string_view pool, std::string_view server) {
  const int p = c.findPool(pool);
  if (p < 0) return nullptr;
  for (model::Server& s : at(c.pools, p).servers)
    if (s.name == server) return &s;
  return nullptr;
}

const model::Server* findServer(const model::Config& c, std::string_view pool,
                                std::string_view server) {
  return findServer(const_cast<model::Config&>(c), pool, server);
}

template <typename V, typename Match>
void eraseIf(V& v, Match m) {
  v.erase(std::remove_if(v.begin(), v.end(), m), v.end());
}

}  // namespace

RuntimeOverrides::Added* RuntimeOverrides::findAdded(std::string_view pool,
                                                     std::string_view server) {
  for (Added& a : added_)
    if (a.pool == pool && a.server.name == server) return &a;
  return nullptr;
}

void RuntimeOverrides::setServerAddr(const model::Config& inForce, const model::Config& file,
                                     int pool, int server, const SockAddr& addr) {
  const model::Pool& p = at(inForce.pools, pool);
  const model::Server& s = at(p.servers, server);
  if (Added* a = findAdded(p.name, s.name)) {
    a->server.addr = addr;
    a->server.addrText = addr.toString();
    return;
  }
  eraseIf(addrs_, [&](const ServerAddr& o) { return o.pool == p.name && o.server == s.name; });
  const model::Server* f = findServer(file, p.name, s.name);
  if (f == nullptr || f->addr == addr) return;  // back to what the files say
  addrs_.push_back({p.name, s.name, addr, f->addr});
}

void RuntimeOverrides::setServerMaxconn(const model::Config& inForce, const model::Config& file,
                                        int pool, int server, uint32_t maxconn) {
  const model::Pool& p = at(inForce.pools, pool);
  const model::Server& s = at(p.servers, server);
  if (Added* a = findAdded(p.name, s.name)) {
    a->server.maxconn = maxconn;
    return;
  }
  eraseIf(serverMaxconns_,
          [&](const ServerMaxconn& o) { return o.pool == p.name && o.server == s.name; });
  const model::Server* f = findServer(file, p.name, s.name);
  if (f == nullptr || f->maxconn == maxconn) return;
  serverMaxconns_.push_back({p.name, s.name, maxconn, f->maxconn});
}

void RuntimeOverrides::setFrontendMaxconn(const model::Config& inForce, const model::Config& file,
                                          int service, uint32_t maxconn) {
  const model::Service& svc = at(inForce.services, service);
  eraseIf(frontendMaxconns_, [&](const FrontendMaxconn& o) { return o.frontend == svc.name; });
  const int f = file.findService(svc.name);
  if (f < 0 || at(file.services, f).maxconn == maxconn) return;
  frontendMaxconns_.push_back({svc.name, maxconn, at(file.services, f).maxconn});
}

void RuntimeOverrides::addServer(const model::Config& inForce, int pool, model::Server server) {
  const model::Pool& p = at(inForce.pools, pool);
  // A file server deleted at run time and added again by name is a new, dynamic server.
  eraseIf(deleted_, [&](const Deleted& d) { return d.pool == p.name && d.server == server.name; });
  added_.push_back({p.name, std::move(server)});
}

std::string RuntimeOverrides::serviceName(model::Protocol proto, const SockAddr& vip) {
  return fmt::format("{}:{}", proto == model::Protocol::kTcp ? "tcp" : "udp", vip.toString());
}

namespace {

// The frontend that binds `vip` for `proto`, or null (TCP and UDP ports are apart).
const model::Service* bindingVip(const model::Config& c, model::Protocol proto,
                                 const SockAddr& vip) {
  for (const model::Service& svc : c.services)
    if (svc.protocol == proto)
      for (const model::Bind& b : svc.binds)
        if (b.addr == vip) return &svc;
  return nullptr;
}

}  // namespace

Status RuntimeOverrides::addService(const model::Config& inForce, model::Protocol proto,
                                    const SockAddr& vip, const model::Balance& balance) {
  const std::string name = serviceName(proto, vip);
  if (inForce.findService(name) >= 0 || inForce.findPool(name) >= 0)
    return Error{fmt::format("Service '{}' already exists.", name)};
  if (const model::Service* other = bindingVip(inForce, proto, vip))
    return Error{
        fmt::format("VIP {} is already served by frontend '{}'.", vip.toString(), other->name)};
  services_.push_back({name, proto, vip, balance});
  return Ok{};
}

Status RuntimeOverrides::setServiceBalance(std::string_view name, const model::Balance& balance) {
  for (AddedService& a : services_)
    if (a.name == name) {
      a.balance = balance;
      return Ok{};
    }
  return Error{
      fmt::format("No runtime service '{}' (services of the configuration files are "
                  "changed there).",
                  name)};
}

Status RuntimeOverrides::delService(std::string_view name) {
  const size_t before = services_.size();
  eraseIf(services_, [&](const AddedService& a) { return a.name == name; });
  if (services_.size() == before)
    return Error{
        fmt::format("No runtime service '{}' (services of the configuration files are "
                    "removed there).",
                    name)};
  eraseIf(added_, [&](const Added& a) { return a.pool == name; });
  eraseIf(addrs_, [&](const ServerAddr& o) { return o.pool == name; });
  eraseIf(serverMaxconns_, [&](const ServerMaxconn& o) { return o.pool == name; });
  return Ok{};
}

bool RuntimeOverrides::isRuntimeService(std::string_view name) const {
  for (const AddedService& a : services_)
    if (a.name == name) return true;
  return false;
}

void RuntimeOverrides::delServer(const model::Config& inForce, const model::Config& file, int pool,
                                 int server) {
  const model::Pool& p = at(inForce.pools, pool);
  const model::Server& s = at(p.servers, server);
  eraseIf(addrs_, [&](const ServerAddr& o) { return o.pool == p.name && o.server == s.name; });
  eraseIf(serverMaxconns_,
          [&](const ServerMaxconn& o) { return o.pool == p.name && o.server == s.name; });
  const size_t before = added_.size();
  eraseIf(added_, [&](const Added& a) { return a.pool == p.name && a.server.name == s.name; });
  if (added_.size() != before) return;
  if (const model::Server* f = findServer(file, p.name, s.name))
    deleted_.push_back({p.name, s.name, f->addr});
}

model::Config RuntimeOverrides::apply(const model::Config& file) {
  model::Config c = file;
  eraseIf(deleted_, [&](const Deleted& d) {
    const model::Server* f = findServer(file, d.pool, d.server);
    if (f != nullptr && f->addr == d.fileAddr) {
      auto& servers = at(c.pools, c.findPool(d.pool)).servers;
      eraseIf(servers, [&](const model::Server& s) { return s.name == d.server; });
      return false;
    }
    log::notice("server {}/{}, deleted at run time, is back: the configuration changed it", d.pool,
                d.server);
    return true;
  });
  eraseIf(addrs_, [&](const ServerAddr& o) {
    model::Server* s = findServer(c, o.pool, o.server);
    const model::Server* f = findServer(file, o.pool, o.server);
    if (s == nullptr || f == nullptr || !(f->addr == o.fileAddr)) {
      if (f != nullptr)
        log::notice("server {}/{}: the configuration's address {} replaces the runtime one {}",
                    o.pool, o.server, f->addr.toString(), o.addr.toString());
      return true;
    }
    s->addr = o.addr;
    s->addrText = o.addr.toString();
    return false;
  });
  eraseIf(serverMaxconns_, [&](const ServerMaxconn& o) {
    model::Server* s = findServer(c, o.pool, o.server);
    const model::Server* f = findServer(file, o.pool, o.server);
    if (s == nullptr || f == nullptr || f->maxconn != o.fileValue) return true;
    s->maxconn = o.maxconn;
    return false;
  });
  eraseIf(frontendMaxconns_, [&](const FrontendMaxconn& o) {
    const int i = c.findService(o.frontend);
    if (i < 0 || at(file.services, i).maxconn != o.fileValue) return true;
    at(c.services, i).maxconn = o.maxconn;
    return false;
  });
  // Runtime services before their servers; ids after the files' largest.
  uint32_t nextId = 0;
  for (const model::Service& svc : c.services) nextId = std::max(nextId, svc.id);
  for (const model::Pool& pool : c.pools) nextId = std::max(nextId, pool.id);
  eraseIf(services_, [&](const AddedService& a) {
    if (c.findService(a.name) >= 0 || c.findPool(a.name) >= 0) {
      log::notice(
          "service {}, added at run time, is gone: the configuration declares a section "
          "of that name",
          a.name);
      return true;
    }
    if (const model::Service* other = bindingVip(c, a.proto, a.vip)) {
      log::notice(
          "service {}, added at run time, is gone: the configuration's frontend '{}' "
          "binds its VIP",
          a.name, other->name);
      return true;
    }
    model::Pool pool;
    pool.name = a.name;
    pool.id = ++nextId;
    pool.protocol = a.proto;
    pool.balance = a.balance;
    model::Service svc;
    svc.name = a.name;
    svc.id = ++nextId;
    svc.protocol = a.proto;
    svc.forwarding = model::Forwarding::kPacket;
    model::Bind b;
    b.text = a.vip.toString();
    b.addr = a.vip;
    svc.binds.push_back(std::move(b));
    svc.defaultPool = static_cast<int>(c.pools.size());
    c.pools.push_back(std::move(pool));
    c.services.push_back(std::move(svc));
    return false;
  });
  eraseIf(added_, [&](const Added& a) {
    const int p = c.findPool(a.pool);
    if (p < 0) {
      log::notice("server {}/{}, added at run time, is gone with its backend", a.pool,
                  a.server.name);
      return true;
    }
    auto& servers = at(c.pools, p).servers;
    for (const model::Server& s : servers) {
      if (s.name == a.server.name) {
        log::notice("server {}/{}: the configuration now declares it; the runtime one is gone",
                    a.pool, a.server.name);
        return true;
      }
    }
    servers.push_back(a.server);
    return false;
  });
  return c;
}

}  // namespace fulcrum::control
