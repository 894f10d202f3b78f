/*
 * fbench: the small load generator and backend used by bench/run.
 *
 * One binary, several modes (all loopback-only, all bounded in time):
 *
 *   fbench ports N
 *       print N distinct free TCP ports on 127.0.0.1 (bound at once, then released).
 *
 *   fbench server PORT MODE MAX_SECONDS
 *       a single-threaded epoll backend on 127.0.0.1:PORT; exits on SIGTERM/SIGINT or
 *       after MAX_SECONDS.  MODE:
 *         echo   echo every byte back; close when the peer closes (latency, idle memory)
 *         close  read a REQ_SIZE-byte request, answer RESP_SIZE bytes, then close first
 *                (connection churn: the backend closes, like HTTP/1.0, so no TIME_WAIT
 *                piles up on the ephemeral ports of the client or the proxy)
 *
 *   fbench churn HOST PORT SECONDS MAX_CONNS CONCURRENCY
 *       short connections, CONCURRENCY at a time: connect, send REQ_SIZE bytes, read
 *       the RESP_SIZE-byte answer up to EOF, close.  Stops at SECONDS or MAX_CONNS.
 *       Prints: conns=N errors=N seconds=S rate=R
 *
 *   fbench idle HOST PORT N HOLD_SECONDS READY_FILE
 *       open N connections (256 in flight at a time), send 1 byte on each and wait for
 *       its echo (so each connection is proxied all the way to the backend), then write
 *       "ok=N errors=E" to READY_FILE and hold them open until SIGTERM/SIGINT or
 *       HOLD_SECONDS (0: close them at once).
 *
 *   fbench latency HOST PORT RATE SECONDS
 *       one TCP connection to an echo backend; sends a MSG_SIZE-byte message on a fixed
 *       schedule of RATE per second (open loop: a slow answer never delays the next
 *       send) for SECONDS, and measures each round trip from its actual send time.
 *       The first 10% of samples are a warm-up and are dropped.
 *       Prints: samples=N p50=us p90=us p99=us p999=us max=us late=N
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { REQ_SIZE = 64, RESP_SIZE = 64, MSG_SIZE = 64, MAX_EVENTS = 256 };

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

static void die(const char* what) {
  perror(what);
  exit(2);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void setup_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGALRM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

/* Raise the soft open-file limit to the hard limit; returns the new soft limit. */
static long raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  return (long)rl.rlim_cur;
}

static struct sockaddr_in make_addr(const char* host, int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
    fprintf(stderr, "fbench: bad IPv4 address %s\n", host);
    exit(2);
  }
  /* Loopback only: this tool must never send traffic anywhere else. */
  if ((ntohl(a.sin_addr.s_addr) >> 24) != 127) {
    fprintf(stderr, "fbench: refusing non-loopback address %s\n", host);
    exit(2);
  }
  return a;
}

/* Starts a non-blocking connect; returns the fd or -1. */
static int start_connect(const struct sockaddr_in* dst) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (const struct sockaddr*)dst, sizeof *dst) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

static int epoll_set(int ep, int op, int fd, uint32_t events) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = events;
  ev.data.fd = fd;
  return epoll_ctl(ep, op, fd, &ev);
}

/* ---------------------------------------------------------------- ports */

static int cmd_ports(int n) {
  int* fds = calloc((size_t)n, sizeof *fds);
  for (int i = 0; i < n; i++) {
    struct sockaddr_in a = make_addr("127.0.0.1", 0);
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (fds[i] < 0 || bind(fds[i], (struct sockaddr*)&a, sizeof a) != 0) die("ports: bind");
    socklen_t len = sizeof a;
    getsockname(fds[i], (struct sockaddr*)&a, &len);
    printf("%d\n", ntohs(a.sin_port));
  }
  for (int i = 0; i < n; i++) close(fds[i]);
  free(fds);
  return 0;
}

/* --------------------------------------------------------------- server */

typedef struct {
  int got;         /* close mode: request bytes received */
  int pending_len; /* echo mode: bytes still to write back */
  int pending_off;
  char* buf; /* echo mode: allocated on first use */
} server_conn;

enum { ECHO_BUF = 16384 };

static void server_close(int ep, server_conn* conns, int fd) {
  epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
  free(conns[fd].buf);
  memset(&conns[fd], 0, sizeof conns[fd]);
  close(fd);
}

/* Echo mode: write what is pending; returns -1 on error, 0 if all written, 1 if blocked. */
static int echo_flush(int fd, server_conn* c) {
  while (c->pending_len > 0) {
    ssize_t w = send(fd, c->buf + c->pending_off, (size_t)c->pending_len, MSG_NOSIGNAL);
    if (w < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 1 : -1;
    c->pending_off += (int)w;
    c->pending_len -= (int)w;
  }
  c->pending_off = 0;
  return 0;
}

static int cmd_server(int port, const char* mode, int max_seconds) {
  int echo = strcmp(mode, "echo") == 0;
  if (!echo && strcmp(mode, "close") != 0) {
    fprintf(stderr, "fbench server: mode must be echo or close\n");
    return 2;
  }
  long maxfd = raise_nofile();
  server_conn* conns = calloc((size_t)maxfd + 1, sizeof *conns);
  setup_signals();
  alarm((unsigned)max_seconds);

  struct sockaddr_in a = make_addr("127.0.0.1", port);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, (struct sockaddr*)&a, sizeof a) != 0) die("server: bind");
  if (listen(lfd, 4096) != 0) die("server: listen");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_set(ep, EPOLL_CTL_ADD, lfd, EPOLLIN);

  char rbuf[4096];
  char resp[RESP_SIZE];
  memset(resp, 'r', sizeof resp);
  struct epoll_event evs[MAX_EVENTS];
  while (!stop_flag) {
    int n = epoll_wait(ep, evs, MAX_EVENTS, 500);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("server: epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (cfd < 0) break; /* EAGAIN, or EMFILE: retried on the next wake-up */
          if (cfd > maxfd) {
            close(cfd);
            continue;
          }
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_set(ep, EPOLL_CTL_ADD, cfd, EPOLLIN);
        }
        continue;
      }
      server_conn* c = &conns[fd];
      if (echo) {
        if (c->pending_len > 0) { /* blocked writer woke up */
          int r = echo_flush(fd, c);
          if (r < 0) {
            server_close(ep, conns, fd);
            continue;
          }
          if (r > 0) continue;
          epoll_set(ep, EPOLL_CTL_MOD, fd, EPOLLIN);
        }
        if (!c->buf) c->buf = malloc(ECHO_BUF);
        ssize_t r = recv(fd, c->buf, ECHO_BUF, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
          server_close(ep, conns, fd);
          continue;
        }
        if (r < 0) continue;
        c->pending_len = (int)r;
        c->pending_off = 0;
        int w = echo_flush(fd, c);
        if (w < 0)
          server_close(ep, conns, fd);
        else if (w > 0)
          epoll_set(ep, EPOLL_CTL_MOD, fd, EPOLLOUT);
      } else {
        ssize_t r = recv(fd, rbuf, sizeof rbuf, 0);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (r <= 0) {
          server_close(ep, conns, fd);
          continue;
        }
        c->got += (int)r;
        if (c->got >= REQ_SIZE) {
          send(fd, resp, sizeof resp, MSG_NOSIGNAL); /* 64 bytes on a fresh socket: never short */
          server_close(ep, conns, fd);
        }
      }
    }
  }
  return 0;
}

/* ---------------------------------------------------------------- churn */

typedef struct {
  int state; /* 0 free, 1 connecting, 2 reading */
  int got;
} churn_conn;

static int cmd_churn(const char* host, int port, double seconds, long max_conns, int conc) {
  struct sockaddr_in dst = make_addr(host, port);
  long maxfd = raise_nofile();
  churn_conn* st = calloc((size_t)maxfd + 1, sizeof *st);
  setup_signals();
  int ep = epoll_create1(EPOLL_CLOEXEC);
  char req[REQ_SIZE];
  memset(req, 'q', sizeof req);
  char rbuf[4096];
  long started = 0, done = 0, errors = 0;
  int active = 0;
  double t0 = now_s(), deadline = t0 + seconds;

#define CHURN_START()                            \
  do {                                           \
    int nfd = start_connect(&dst);               \
    started++;                                   \
    if (nfd < 0 || nfd > maxfd) {                \
      if (nfd >= 0) close(nfd);                  \
      errors++;                                  \
      break;                                     \
    }                                            \
    st[nfd].state = 1;                           \
    st[nfd].got = 0;                             \
    epoll_set(ep, EPOLL_CTL_ADD, nfd, EPOLLOUT); \
    active++;                                    \
  } while (0)

  for (int i = 0; i < conc && started < max_conns; i++) CHURN_START();

  struct epoll_event evs[MAX_EVENTS];
  double now = t0;
  while (!stop_flag && active > 0) {
    int n = epoll_wait(ep, evs, MAX_EVENTS, 100);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("churn: epoll_wait");
    }
    now = now_s();
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      churn_conn* c = &st[fd];
      int finished = 0, failed = 0;
      if (c->state == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || send(fd, req, sizeof req, MSG_NOSIGNAL) != (ssize_t)sizeof req) {
          failed = 1;
        } else {
          c->state = 2;
          epoll_set(ep, EPOLL_CTL_MOD, fd, EPOLLIN);
        }
      } else if (c->state == 2) {
        for (;;) {
          ssize_t r = recv(fd, rbuf, sizeof rbuf, 0);
          if (r > 0) {
            c->got += (int)r;
            continue;
          }
          if (r == 0) {
            finished = 1;
            failed = c->got != RESP_SIZE;
          } else if (errno != EAGAIN && errno != EWOULDBLOCK)
            failed = 1;
          break;
        }
      }
      if (failed || finished) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
        close(fd);
        c->state = 0;
        active--;
        if (failed)
          errors++;
        else
          done++;
        if (now < deadline && started < max_conns) CHURN_START();
      }
    }
    if (now >= deadline) break; /* connections still in flight are abandoned */
  }
  double elapsed = now_s() - t0;
  printf("conns=%ld errors=%ld seconds=%.3f rate=%.1f\n", done, errors, elapsed,
         (double)done / elapsed);
  return 0;
}

/* ----------------------------------------------------------------- idle */

static int cmd_idle(const char* host, int port, int n, int hold_seconds, const char* ready_file) {
  struct sockaddr_in dst = make_addr(host, port);
  long maxfd = raise_nofile();
  if (n + 16 > maxfd) {
    fprintf(stderr, "fbench idle: %d connections need more than %ld open files\n", n, maxfd);
    return 2;
  }
  setup_signals();
  char* state = calloc((size_t)maxfd + 1, 1); /* 1 connecting, 2 waiting echo, 3 idle */
  int* fds = calloc((size_t)n, sizeof *fds);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  int opened = 0, ok = 0, errors = 0, inflight = 0;
  const int window = 256;
  double deadline = now_s() + 60; /* opening them all must not take longer than this */
  struct epoll_event evs[MAX_EVENTS];
  while (!stop_flag && ok + errors < n && now_s() < deadline) {
    while (inflight < window && opened < n) {
      int fd = start_connect(&dst);
      opened++;
      if (fd < 0 || fd > maxfd) {
        if (fd >= 0) close(fd);
        errors++;
        continue;
      }
      fds[opened - 1] = fd;
      state[fd] = 1;
      epoll_set(ep, EPOLL_CTL_ADD, fd, EPOLLOUT);
      inflight++;
    }
    int k = epoll_wait(ep, evs, MAX_EVENTS, 100);
    for (int i = 0; i < k; i++) {
      int fd = evs[i].data.fd;
      char b = 'i';
      int failed = 0;
      if (state[fd] == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || send(fd, &b, 1, MSG_NOSIGNAL) != 1)
          failed = 1;
        else {
          state[fd] = 2;
          epoll_set(ep, EPOLL_CTL_MOD, fd, EPOLLIN);
        }
      } else if (state[fd] == 2) {
        ssize_t r = recv(fd, &b, 1, 0);
        if (r == 1) {
          state[fd] = 3;
          epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
          inflight--;
          ok++;
        } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
          failed = 1;
        }
      }
      if (failed) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
        state[fd] = 0;
        inflight--;
        errors++;
      }
    }
  }
  FILE* f = fopen(ready_file, "w");
  if (f) {
    fprintf(f, "ok=%d errors=%d\n", ok, n - ok);
    fclose(f);
  }
  if (hold_seconds > 0) {
    alarm((unsigned)hold_seconds);
    while (!stop_flag) pause();
  }
  for (int i = 0; i < opened; i++)
    if (fds[i] > 0) close(fds[i]);
  return 0;
}

/* -------------------------------------------------------------- latency */

static int cmp_i64(const void* a, const void* b) {
  int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
  return (x > y) - (x < y);
}

static int cmd_latency(const char* host, int port, double rate, double seconds) {
  struct sockaddr_in dst = make_addr(host, port);
  setup_signals();
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* wake up on time, not up to 50 us late */
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr*)&dst, sizeof dst) != 0) die("latency: connect");
  fcntl(fd, F_SETFL, O_NONBLOCK);

  long total = (long)(rate * seconds);
  if (total < 10) total = 10;
  int64_t* sent_at = calloc((size_t)total, sizeof *sent_at);
  int64_t* rtt = calloc((size_t)total, sizeof *rtt);
  int64_t interval = (int64_t)(1e9 / rate);
  int64_t t0 = now_ns(), next = t0;
  int64_t give_up = t0 + (int64_t)((seconds + 5) * 1e9);
  long sent = 0, received = 0, late = 0;
  char msg[MSG_SIZE], in[MSG_SIZE * 64];
  int inlen = 0;
  memset(msg, 'm', sizeof msg);

  while (!stop_flag && received < total) {
    int64_t now = now_ns();
    if (now > give_up) break;
    if (sent < total && now >= next) {
      if (now - next > interval) late++; /* the client itself fell behind its schedule */
      memcpy(msg, &sent, sizeof sent);
      sent_at[sent] = now;
      ssize_t w = send(fd, msg, sizeof msg, MSG_NOSIGNAL);
      if (w != (ssize_t)sizeof msg) die("latency: send (short or failed)");
      sent++;
      next += interval;
      continue;
    }
    int64_t wait_ns = sent < total ? next - now : 100000000;
    struct timespec ts = {(time_t)(wait_ns / 1000000000), (long)(wait_ns % 1000000000)};
    struct pollfd p = {fd, POLLIN, 0};
    int r = ppoll(&p, 1, &ts, NULL);
    if (r <= 0) continue;
    ssize_t got = recv(fd, in + inlen, sizeof in - (size_t)inlen, 0);
    if (got == 0) {
      fprintf(stderr, "latency: connection closed by peer\n");
      return 1;
    }
    if (got < 0) continue;
    int64_t at = now_ns();
    inlen += (int)got;
    int off = 0;
    while (inlen - off >= MSG_SIZE) {
      long seq;
      memcpy(&seq, in + off, sizeof seq);
      if (seq >= 0 && seq < sent) rtt[received++] = at - sent_at[seq];
      off += MSG_SIZE;
    }
    memmove(in, in + off, (size_t)(inlen - off));
    inlen -= off;
  }
  long skip = received / 10; /* warm-up */
  long m = received - skip;
  if (m <= 0) {
    fprintf(stderr, "latency: no samples\n");
    return 1;
  }
  int64_t* s = rtt + skip;
  qsort(s, (size_t)m, sizeof *s, cmp_i64);
#define PCT(q) ((double)s[(long)((double)(m - 1) * (q))] / 1000.0)
  printf("samples=%ld p50=%.1f p90=%.1f p99=%.1f p999=%.1f max=%.1f late=%ld lost=%ld\n", m,
         PCT(0.50), PCT(0.90), PCT(0.99), PCT(0.999), (double)s[m - 1] / 1000.0, late,
         sent - received);
  close(fd);
  return 0;
}

/* ----------------------------------------------------------------- main */

static void usage(void) {
  fprintf(stderr,
          "usage: fbench ports N\n"
          "       fbench server PORT echo|close MAX_SECONDS\n"
          "       fbench churn HOST PORT SECONDS MAX_CONNS CONCURRENCY\n"
          "       fbench idle HOST PORT N HOLD_SECONDS READY_FILE\n"
          "       fbench latency HOST PORT RATE SECONDS\n");
  exit(2);
}

int main(int argc, char** argv) {
  if (argc < 2) usage();
  const char* cmd = argv[1];
  if (!strcmp(cmd, "ports") && argc == 3) return cmd_ports(atoi(argv[2]));
  if (!strcmp(cmd, "server") && argc == 5) return cmd_server(atoi(argv[2]), argv[3], atoi(argv[4]));
  if (!strcmp(cmd, "churn") && argc == 7)
    return cmd_churn(argv[2], atoi(argv[3]), atof(argv[4]), atol(argv[5]), atoi(argv[6]));
  if (!strcmp(cmd, "idle") && argc == 7)
    return cmd_idle(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), argv[6]);
  if (!strcmp(cmd, "latency") && argc == 6)
    return cmd_latency(argv[2], atoi(argv[3]), atof(argv[4]), atof(argv[5]));
  usage();
  return 2;
}
