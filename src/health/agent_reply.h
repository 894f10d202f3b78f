// The agent protocol (HAProxy's "agent-check"): the agent answers one line of words
// separated by spaces, tabs or commas, ended by '\r' or '\n' (or the connection's close):
//   NN%                 weight, as a percentage of the configured weight
//   up                  operational state UP (with the health check's agreement)
//   down|stopped|fail   operational state DOWN; "#" starts a description
//   ready|drain|maint   administrative state
//   maxconn:N           parsed, not applied (Fulcrum's maxconn is not runtime-adjustable)
// Words of one category: the last one wins. Unknown words are reported, not fatal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fulcrum::health {

struct AgentReply {
  enum class Health : uint8_t { kNone, kUp, kDown };
  enum class Admin : uint8_t { kNone, kReady, kDrain, kMaint };

  Health health = Health::kNone;
  std::string healthWord;  // "up", "down", "stopped", "fail" as written (lower case)
  Admin admin = Admin::kNone;
  std::optional<uint32_t> weightPercent;
  std::optional<uint32_t> maxconn;
  std::string description;  // after '#'
  std::string error;        // first word not understood, or a bad value

  // "drain 50%" style summary of what the reply says, for logs.
  std::string summary() const;
};

// Parses one line (without its terminator; anything after '\r' or '\n' is ignored).
AgentReply parseAgentReply(std::string_view line);

}  // namespace fulcrum::health
