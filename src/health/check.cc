#include "health/check.h"

namespace fulcrum::health {

const char* describe(CheckStatus s) {
  switch (s) {
    case CheckStatus::kNone: return "Initializing";
    case CheckStatus::kL4Ok: return "Layer4 check passed";
    case CheckStatus::kL4Timeout: return "Layer4 timeout";
    case CheckStatus::kL4Refused:  // HAProxy's words: L4CON covers both
      return "Layer4 connection problem";
    case CheckStatus::kL4Error: return "Layer4 connection problem";
    case CheckStatus::kL7Ok: return "Layer7 check passed";
    case CheckStatus::kL7Timeout: return "Layer7 timeout";
    case CheckStatus::kL7Response: return "Layer7 invalid response";
    case CheckStatus::kSocketError: return "Socket error";
    case CheckStatus::kPassive: return "Health analyze";
  }
  return "?";
}

bool passed(CheckStatus s) { return s == CheckStatus::kL4Ok || s == CheckStatus::kL7Ok; }

}  // namespace fulcrum::health
