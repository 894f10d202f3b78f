// Fuzzes the runtime API: each input is a few request lines (one per '\n', the first byte
// choosing the access level) run through admin::RuntimeApi::execute against the unit
// tests' FakeControl: a real control::Builder and health monitor, no data plane, no socket,
// no process. A fresh control per input, so inputs do not depend on each other.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "admin/runtime_api.h"
#include "unit/admin_fake_control.h"

namespace {

constexpr std::string_view kConfig = R"(
global
  maxconn 1000
defaults
  mode tcp
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend web
  bind 127.0.0.1:18080
  maxconn 300
  default_backend app
backend app
  balance roundrobin
  server s1 127.0.0.1:9001 weight 10 maxconn 50
  server s2 127.0.0.1:9002 check rise 2 fall 3 agent-check agent-port 9999
  server s3 127.0.0.1:9003 backup
backend other
  balance leastconn
  server o1 127.0.0.1:9101
backend hashed
  balance source
  hash-type consistent
  server h1 [::1]:9201
)";

constexpr size_t kMaxLines = 16;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using fulcrum::model::ApiLevel;
  const ApiLevel level = static_cast<ApiLevel>(data[0] % 3);
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  fulcrum::admin::testutil::FakeControl ctl{kConfig};
  fulcrum::admin::RuntimeApi api{ctl, nullptr};
  bool interactive = false;
  bool quit = false;
  size_t start = 0;
  for (size_t n = 0; n < kMaxLines && start <= text.size() && !quit; ++n) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    (void)api.execute(text.substr(start, end - start), level, &interactive, &quit);
    start = end + 1;
  }
  return 0;
}
