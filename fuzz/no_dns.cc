// Fuzz targets must not ask DNS about every random host name a config or a runtime API
// line may hold: this getaddrinfo(3) replaces the C library's (and takes precedence over
// the sanitizers' interceptor) and resolves nothing. Numeric addresses never reach it
// (fulcrum::resolve parses them first), so only the "cannot resolve" path is lost.
#include <netdb.h>

extern "C" int getaddrinfo(const char*, const char*, const addrinfo*, addrinfo** res) {
  if (res != nullptr) *res = nullptr;
  return EAI_NONAME;
}
