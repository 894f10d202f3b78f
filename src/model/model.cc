#include "model/model.h"

namespace fulcrum::model {

int Config::findPool(std::string_view name) const {
  for (size_t i = 0; i < pools.size(); ++i)
    if (pools[i].name == name) return static_cast<int>(i);
  return -1;
}

int Config::findService(std::string_view name) const {
  for (size_t i = 0; i < services.size(); ++i)
    if (services[i].name == name) return static_cast<int>(i);
  return -1;
}

const char* toString(BalanceAlgo a) {
  switch (a) {
    case BalanceAlgo::kRoundRobin: return "roundrobin";
    case BalanceAlgo::kStaticRr: return "static-rr";
    case BalanceAlgo::kLeastConn: return "leastconn";
    case BalanceAlgo::kFirst: return "first";
    case BalanceAlgo::kSource: return "source";
    case BalanceAlgo::kRandom: return "random";
    case BalanceAlgo::kMaglev: return "maglev";
  }
  return "?";
}

const char* toString(ForwardMode m) {
  switch (m) {
    case ForwardMode::kIpip: return "ipip";
    case ForwardMode::kGue: return "gue";
    case ForwardMode::kDr: return "dr";
    case ForwardMode::kNat: return "nat";
  }
  return "?";
}

}  // namespace fulcrum::model
