// Fuzzes the agent-check reply parser (one line from a possibly hostile agent) and the
// summary written to the log.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "health/agent_reply.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  auto r = fulcrum::health::parseAgentReply(line);
  (void)r.summary();
  return 0;
}
