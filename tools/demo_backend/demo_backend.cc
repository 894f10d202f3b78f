// fulcrum-demo-backend: a tiny TCP server for the README demo. It answers every
// connection with one line naming itself; HTTP requests (curl) get that line as an
// HTTP/1.0 response, anything else (nc) gets the bare line.
//
//   fulcrum-demo-backend NAME ADDR:PORT
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "common/net.h"

namespace {

bool looksLikeHttp(const std::string& s) {
  for (const char* m : {"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS "})
    if (s.rfind(m, 0) == 0) return true;
  return false;
}

void writeAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

void serve(int fd, std::string line) {
  // Give the client a moment to speak first (curl does, nc < /dev/null does not).
  std::string req;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  while (req.size() < 8192 && poll(&p, 1, 100) > 0) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    req.append(buf, static_cast<size_t>(n));
    if (!looksLikeHttp(req) || req.find("\r\n\r\n") != std::string::npos) break;
  }
  if (looksLikeHttp(req)) {
    writeAll(fd, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                     std::to_string(line.size()) + "\r\nConnection: close\r\n\r\n" + line);
  } else {
    writeAll(fd, line);
  }
  shutdown(fd, SHUT_WR);
  // Drain what the client still sends so that closing does not reset the connection.
  while (poll(&p, 1, 1000) > 0 && recv(fd, buf, sizeof(buf), 0) > 0) {
  }
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fulcrum-demo-backend NAME ADDR:PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  auto addr = fulcrum::SockAddr::parse(argv[2]);
  if (!addr) {
    std::fprintf(stderr, "fulcrum-demo-backend: %s\n", addr.error().c_str());
    return 2;
  }
  int lfd = socket(addr->family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(lfd, addr->sa(), addr->len()) != 0 || listen(lfd, 128) != 0) {
    std::fprintf(stderr, "fulcrum-demo-backend: cannot listen on %s: %s\n", argv[2],
                 std::strerror(errno));
    return 1;
  }
  std::string line = std::string("hello from ") + argv[1] + " (" + addr->toString() + ")\n";
  std::fprintf(stderr, "demo backend %s listening on %s\n", argv[1], addr->toString().c_str());
  for (;;) {
    int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::thread(serve, fd, line).detach();
  }
}
