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
 *
 *   fbench udpserver PORT MAX_SECONDS
 *       a single-threaded UDP echo server on 127.0.0.1:PORT: reads batches of datagrams
 *       with recvmmsg and sends each back to its sender with sendmmsg.  Its receive
 *       buffer is made large (SO_RCVBUFFORCE, else SO_RCVBUF) so that the backend is not
 *       where datagrams are dropped.  Exits on SIGTERM/SIGINT or after MAX_SECONDS.
 *
 *   fbench udpload HOST PORT SECONDS FLOWS SIZE WINDOW [INFLIGHT [READY_FILE]]
 *       FLOWS connected UDP sockets, each its own source port (so its own flow through a
 *       proxy), each keeping up to WINDOW datagrams of SIZE bytes in flight to an echo
 *       server: closed loop, a datagram is sent again on the same socket as soon as a
 *       reply comes (replies read with recvmmsg, new datagrams sent with sendmmsg).
 *       INFLIGHT (default FLOWS x WINDOW) caps the datagrams in flight over all flows;
 *       below that product a reply's place goes to the next flow, round robin, that has
 *       a free slot (so 10,000 flows x WINDOW 1 with INFLIGHT 32 keep every flow busy
 *       without 10,000 datagrams queueing at once in front of the proxy).  A datagram
 *       unanswered for 1 s counts as lost and is replaced.  First a warm-up, not counted:
 *       until every flow has had a reply (at most 30 s); with READY_FILE, "warm" is then
 *       written to it and the timed phase waits for SIGUSR1 (at most 10 s).  The timed
 *       phase stops after SECONDS (or UDP_MAX_SENT datagrams); datagrams still in flight
 *       then are not counted.
 *       Prints: sent=N received=N lost=N seconds=S rate=R late=N senderr=N warm=N warmup=S
 *       (rate: replies per second; late: replies that came after their datagram was
 *       counted lost; senderr: datagrams the kernel refused to send; warm: flows that
 *       had a reply in the warm-up, warmup: its seconds, the wait for SIGUSR1 included)
 *
 *   fbench udpidle HOST PORT N HOLD_SECONDS READY_FILE
 *       N connected UDP sockets (64 waiting at a time) each send one 1-byte datagram and
 *       wait for its echo (so each is a flow through the proxy, to the backend and back;
 *       a datagram unanswered for 1 s is sent again, 3 tries), then write "ok=N errors=E"
 *       to READY_FILE and hold the sockets until SIGTERM/SIGINT or HOLD_SECONDS.
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
#include <sys/uio.h>
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

/* ------------------------------------------------------------------ udp */

enum {
  UDP_BATCH = 64,        /* datagrams per recvmmsg/sendmmsg call */
  UDP_MAX_WINDOW = 64,   /* datagrams in flight per flow, at most */
  UDP_MAX_SIZE = 8192,   /* payload bytes, at most */
  UDP_HDR = 16,          /* magic, flow, slot, generation */
  UDP_MAGIC = 0x46554450 /* "FUDP" */
};
static const long UDP_MAX_SENT = 2000000000L;    /* count bound of one udpload run */
static const int64_t UDP_LOST_NS = 1000000000LL; /* unanswered this long: lost */

/* Asks for a receive buffer of `bytes`: beyond net.core.rmem_max when allowed (root). */
static void udp_big_rcvbuf(int fd, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

static int udp_connected_socket(const struct sockaddr_in* dst) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (const struct sockaddr*)dst, sizeof *dst) != 0) { /* binds a source port */
    close(fd);
    return -1;
  }
  return fd;
}

static int cmd_udpserver(int port, int max_seconds) {
  setup_signals();
  alarm((unsigned)max_seconds);
  struct sockaddr_in a = make_addr("127.0.0.1", port);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("udpserver: socket");
  udp_big_rcvbuf(fd, 64 << 20);
  if (bind(fd, (struct sockaddr*)&a, sizeof a) != 0) die("udpserver: bind");

  static struct mmsghdr msgs[UDP_BATCH];
  static struct iovec iov[UDP_BATCH];
  static struct sockaddr_in peers[UDP_BATCH];
  char* bufs = malloc((size_t)UDP_BATCH * 65536);
  if (!bufs) die("udpserver: malloc");
  long echoed = 0;
  while (!stop_flag) {
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, 500);
    if (r < 0 && errno != EINTR) die("udpserver: poll");
    if (r <= 0) continue;
    for (int round = 0; round < 16 && !stop_flag; round++) { /* then poll again */
      for (int i = 0; i < UDP_BATCH; i++) {
        iov[i].iov_base = bufs + (size_t)i * 65536;
        iov[i].iov_len = 65536;
        memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &peers[i];
        msgs[i].msg_hdr.msg_namelen = sizeof peers[i];
      }
      int n = recvmmsg(fd, msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
      if (n <= 0) break; /* EAGAIN: drained */
      for (int i = 0; i < n; i++) iov[i].iov_len = msgs[i].msg_len;
      int off = 0;
      while (off < n) {
        int w = sendmmsg(fd, msgs + off, (unsigned)(n - off), 0);
        if (w <= 0) {
          off++; /* this one cannot be sent (e.g. its sender is gone): drop it */
          continue;
        }
        off += w;
        echoed += w;
      }
    }
  }
  (void)echoed;
  return 0;
}

typedef struct {
  uint32_t gen;    /* generation of the datagram in flight in this slot */
  uint8_t busy;    /* a datagram is in flight */
  int64_t sent_ns; /* when it was sent */
} udp_slot;

static volatile sig_atomic_t go_flag;
static void on_go(int sig) {
  (void)sig;
  go_flag = 1;
}

typedef struct {
  int flows, window, size, capped;
  int* fds;
  udp_slot* slots;
  char* sbufs; /* UDP_MAX_WINDOW send buffers of UDP_MAX_SIZE bytes */
  struct mmsghdr smsgs[UDP_MAX_WINDOW];
  struct iovec siov[UDP_MAX_WINDOW];
  long sent, inflight, senderr;
} udp_load;

/* Marks slot k of flow f busy with a new datagram, written into send buffer b. */
static void udp_prepare(udp_load* L, int f, int k, int b, int64_t now) {
  udp_slot* s = &L->slots[(size_t)f * (size_t)L->window + (size_t)k];
  s->gen++;
  s->busy = 1;
  s->sent_ns = now;
  uint32_t h[4] = {UDP_MAGIC, (uint32_t)f, (uint32_t)k, s->gen};
  memcpy(L->sbufs + (size_t)b * UDP_MAX_SIZE, h, sizeof h);
  L->inflight++;
}

/* Sends the datagrams prepared in send buffers [0, n) on flow f. One the kernel refuses
 * (ENOBUFS, ECONNREFUSED, ...) stays in flight and will count as lost. */
static void udp_send(udp_load* L, int f, int n) {
  int off = 0;
  while (off < n) {
    int w = sendmmsg(L->fds[f], L->smsgs + off, (unsigned)(n - off), 0);
    if (w <= 0) {
      L->senderr++;
      off++;
      continue;
    }
    off += w;
    L->sent += w;
  }
}

/* Capped mode: fills the free in-flight places, each on the next flow (round robin)
 * that has a free slot. */
static void udp_refill(udp_load* L, long cap, int* cursor, int64_t now) {
  int scanned = 0;
  while (L->inflight < cap && scanned < L->flows) {
    int f = *cursor;
    *cursor = (f + 1) % L->flows;
    int k;
    for (k = 0; k < L->window; k++)
      if (!L->slots[(size_t)f * (size_t)L->window + (size_t)k].busy) break;
    if (k == L->window) {
      scanned++;
      continue;
    }
    scanned = 0;
    udp_prepare(L, f, k, 0, now);
    udp_send(L, f, 1);
  }
}

static int cmd_udpload(const char* host, int port, double seconds, int flows, int size, int window,
                       long cap, const char* ready_file) {
  struct sockaddr_in dst = make_addr(host, port);
  long maxfd = raise_nofile();
  if (flows < 1 || flows + 64 > maxfd) {
    fprintf(stderr, "fbench udpload: %d flows need more than %ld open files\n", flows, maxfd);
    return 2;
  }
  if (size < UDP_HDR || size > UDP_MAX_SIZE || window < 1 || window > UDP_MAX_WINDOW) {
    fprintf(stderr, "fbench udpload: SIZE must be %d..%d and WINDOW 1..%d\n", UDP_HDR, UDP_MAX_SIZE,
            UDP_MAX_WINDOW);
    return 2;
  }
  long all = (long)flows * window;
  if (cap <= 0 || cap > all) cap = all;
  setup_signals();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_go;
  sigaction(SIGUSR1, &sa, NULL);

  static udp_load L;
  L.flows = flows;
  L.window = window;
  L.size = size;
  L.capped = cap < all;
  L.fds = calloc((size_t)flows, sizeof *L.fds);
  L.slots = calloc((size_t)all, sizeof *L.slots);
  char* seen = calloc((size_t)flows, 1); /* warm-up: the flow had a reply */
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (int f = 0; f < flows; f++) {
    L.fds[f] = udp_connected_socket(&dst);
    if (L.fds[f] < 0) die("udpload: socket/connect");
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.u32 = (uint32_t)f;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, L.fds[f], &ev) != 0) die("udpload: epoll_ctl");
  }
  static struct mmsghdr rmsgs[UDP_MAX_WINDOW];
  static struct iovec riov[UDP_MAX_WINDOW];
  char* rbufs = malloc((size_t)UDP_MAX_WINDOW * UDP_MAX_SIZE);
  L.sbufs = malloc((size_t)UDP_MAX_WINDOW * UDP_MAX_SIZE);
  memset(L.sbufs, 'u', (size_t)UDP_MAX_WINDOW * UDP_MAX_SIZE);
  for (int i = 0; i < UDP_MAX_WINDOW; i++) {
    L.siov[i].iov_base = L.sbufs + (size_t)i * UDP_MAX_SIZE;
    L.siov[i].iov_len = (size_t)size;
    L.smsgs[i].msg_hdr.msg_iov = &L.siov[i];
    L.smsgs[i].msg_hdr.msg_iovlen = 1;
  }

  /* Warm-up: every flow gets a reply (so a proxy has made all its flows) before the
   * timed phase. With READY_FILE, "warm" is written there and the timed phase waits for
   * SIGUSR1 (at most 10 s), so that the caller can read the proxy's CPU time first. */
  long received = 0, lost = 0, late = 0;
  int warm = 0, warming = 1, cursor = 0;
  double warmup_s = 0;
  int64_t now = now_ns();
  int64_t t0 = now, deadline = now + 30000000000LL; /* the warm-up's bound */
  if (L.capped) {
    udp_refill(&L, cap, &cursor, now);
  } else {
    for (int f = 0; f < flows && !stop_flag; f++) {
      for (int k = 0; k < window; k++) udp_prepare(&L, f, k, k, now);
      udp_send(&L, f, window);
    }
  }
  int64_t next_scan = now + UDP_LOST_NS / 10;
  struct epoll_event evs[MAX_EVENTS];
  while (!stop_flag && L.sent < UDP_MAX_SENT) {
    int n = epoll_wait(ep, evs, MAX_EVENTS, 10);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("udpload: epoll_wait");
    }
    now = now_ns();
    if (now >= deadline && !warming) break; /* datagrams still in flight are not counted */
    for (int i = 0; i < n; i++) {
      int f = (int)evs[i].data.u32;
      for (int k = 0; k < window; k++) {
        riov[k].iov_base = rbufs + (size_t)k * UDP_MAX_SIZE;
        riov[k].iov_len = UDP_MAX_SIZE;
        memset(&rmsgs[k].msg_hdr, 0, sizeof rmsgs[k].msg_hdr);
        rmsgs[k].msg_hdr.msg_iov = &riov[k];
        rmsgs[k].msg_hdr.msg_iovlen = 1;
      }
      int got = recvmmsg(L.fds[f], rmsgs, (unsigned)window, MSG_DONTWAIT, NULL);
      if (got <= 0) continue; /* EAGAIN, or an ICMP error reported (ECONNREFUSED) */
      int ns = 0;
      for (int k = 0; k < got; k++) {
        uint32_t h[4];
        if (rmsgs[k].msg_len != (unsigned)size) continue;
        memcpy(h, rbufs + (size_t)k * UDP_MAX_SIZE, sizeof h);
        if (h[0] != UDP_MAGIC || h[1] != (uint32_t)f || h[2] >= (uint32_t)window) continue;
        udp_slot* s = &L.slots[(size_t)f * (size_t)window + h[2]];
        if (!s->busy || s->gen != h[3]) {
          late++; /* its datagram was counted lost and replaced already */
          continue;
        }
        received++;
        if (!seen[f]) {
          seen[f] = 1;
          warm++;
        }
        s->busy = 0;
        L.inflight--;
        if (!L.capped) udp_prepare(&L, f, (int)h[2], ns++, now); /* again on this flow */
      }
      if (ns > 0) udp_send(&L, f, ns);
    }
    if (now >= next_scan) { /* datagrams unanswered for 1 s: lost, replaced */
      next_scan = now + UDP_LOST_NS / 10;
      for (int f = 0; f < flows; f++) {
        int ns = 0;
        for (int k = 0; k < window; k++) {
          udp_slot* s = &L.slots[(size_t)f * (size_t)window + (size_t)k];
          if (s->busy && now - s->sent_ns >= UDP_LOST_NS) {
            lost++;
            s->busy = 0;
            L.inflight--;
            if (!L.capped) udp_prepare(&L, f, k, ns++, now);
          }
        }
        if (ns > 0) udp_send(&L, f, ns);
      }
    }
    if (L.capped) udp_refill(&L, cap, &cursor, now);
    if (warming && (warm == flows || now >= deadline)) { /* the timed phase starts */
      warming = 0;
      if (ready_file) {
        FILE* rf = fopen(ready_file, "w");
        if (rf) {
          fprintf(rf, "warm flows=%d\n", warm);
          fclose(rf);
        }
        int64_t give_up = now_ns() + 10000000000LL;
        while (!go_flag && !stop_flag && now_ns() < give_up) usleep(1000);
      }
      now = now_ns();
      warmup_s = (double)(now - t0) / 1e9;
      received = lost = late = 0;
      L.sent = L.senderr = 0;
      t0 = now;
      deadline = now + (int64_t)(seconds * 1e9);
      for (long j = 0; j < all; j++) /* nothing times out because of the pause */
        if (L.slots[j].busy) L.slots[j].sent_ns = now;
    }
  }
  double elapsed = (double)(now_ns() - t0) / 1e9;
  printf(
      "sent=%ld received=%ld lost=%ld seconds=%.3f rate=%.1f late=%ld senderr=%ld "
      "warm=%d warmup=%.3f\n",
      L.sent, received, lost, elapsed, (double)received / elapsed, late, L.senderr, warm, warmup_s);
  for (int f = 0; f < flows; f++) close(L.fds[f]);
  return 0;
}

static int cmd_udpidle(const char* host, int port, int n, int hold_seconds,
                       const char* ready_file) {
  struct sockaddr_in dst = make_addr(host, port);
  long maxfd = raise_nofile();
  if (n < 1 || n + 64 > maxfd) {
    fprintf(stderr, "fbench udpidle: %d flows need more than %ld open files\n", n, maxfd);
    return 2;
  }
  setup_signals();
  int* fds = calloc((size_t)n, sizeof *fds);
  char* state = calloc((size_t)n, 1); /* 0 not started, 1 waiting echo, 2 idle, 3 failed */
  char* tries = calloc((size_t)n, 1);
  int64_t* sent_at = calloc((size_t)n, sizeof *sent_at);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  int opened = 0, ok = 0, errors = 0, waiting = 0;
  const int window = 64;          /* more at once would overflow a 208-KiB receive queue */
  double deadline = now_s() + 60; /* opening them all must not take longer than this */
  int64_t next_scan = now_ns() + UDP_LOST_NS / 10;
  struct epoll_event evs[MAX_EVENTS];
  char b = 'i';
  while (!stop_flag && ok + errors < n && now_s() < deadline) {
    while (waiting < window && opened < n) {
      int i = opened++;
      int fd = udp_connected_socket(&dst);
      if (fd < 0) {
        state[i] = 3;
        errors++;
        continue;
      }
      fds[i] = fd;
      struct epoll_event ev;
      memset(&ev, 0, sizeof ev);
      ev.events = EPOLLIN;
      ev.data.u32 = (uint32_t)i;
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      send(fd, &b, 1, 0); /* a failed send is retried by the scan below */
      sent_at[i] = now_ns();
      tries[i] = 1;
      state[i] = 1;
      waiting++;
    }
    int k = epoll_wait(ep, evs, MAX_EVENTS, 50);
    for (int j = 0; j < k; j++) {
      int i = (int)evs[j].data.u32;
      char r;
      ssize_t got = recv(fds[i], &r, 1, MSG_DONTWAIT);
      if (got == 1 && state[i] == 1) {
        state[i] = 2;
        epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
        waiting--;
        ok++;
      }
    }
    int64_t now = now_ns();
    if (now >= next_scan) {
      next_scan = now + UDP_LOST_NS / 10;
      for (int i = 0; i < opened; i++) {
        if (state[i] != 1 || now - sent_at[i] < UDP_LOST_NS) continue;
        if (tries[i] >= 3) {
          state[i] = 3;
          epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
          waiting--;
          errors++;
          continue;
        }
        send(fds[i], &b, 1, 0);
        sent_at[i] = now;
        tries[i]++;
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

/* ----------------------------------------------------------------- main */

static void usage(void) {
  fprintf(stderr,
          "usage: fbench ports N\n"
          "       fbench server PORT echo|close MAX_SECONDS\n"
          "       fbench churn HOST PORT SECONDS MAX_CONNS CONCURRENCY\n"
          "       fbench idle HOST PORT N HOLD_SECONDS READY_FILE\n"
          "       fbench latency HOST PORT RATE SECONDS\n"
          "       fbench udpserver PORT MAX_SECONDS\n"
          "       fbench udpload HOST PORT SECONDS FLOWS SIZE WINDOW [INFLIGHT [READY_FILE]]\n"
          "       fbench udpidle HOST PORT N HOLD_SECONDS READY_FILE\n");
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
  if (!strcmp(cmd, "udpserver") && argc == 4) return cmd_udpserver(atoi(argv[2]), atoi(argv[3]));
  if (!strcmp(cmd, "udpload") && argc >= 8 && argc <= 10)
    return cmd_udpload(argv[2], atoi(argv[3]), atof(argv[4]), atoi(argv[5]), atoi(argv[6]),
                       atoi(argv[7]), argc > 8 ? atol(argv[8]) : 0, argc > 9 ? argv[9] : NULL);
  if (!strcmp(cmd, "udpidle") && argc == 7)
    return cmd_udpidle(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), argv[6]);
  usage();
  return 2;
}
