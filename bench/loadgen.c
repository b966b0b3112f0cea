/*
 * loadgen: a small single-threaded epoll load generator for TCP echo servers.
 *
 * Built by bench/run.ts with `cc -O2` into bench/build/loadgen. Usage:
 *
 *   loadgen --port P [--host 127.0.0.1] [--mode pingpong|bulk] [--conns N]
 *           [--size S] [--inflight K] [--duration SEC] [--warmup SEC]
 *           [--connect-timeout SEC]
 *
 * pingpong: each connection sends one S-byte message, waits for the whole echo,
 *           records the round-trip latency, and repeats (K is forced to 1).
 * bulk:     each connection keeps K messages of S bytes in flight; a message's
 *           latency runs from the moment it is queued for sending (its
 *           in-flight slot opens: at start, or when the echo of the message K
 *           places before it completes) to the read() that returned its last
 *           echoed byte. Time spent waiting for a full socket buffer (server
 *           back-pressure) is therefore included, and mean latency obeys
 *           Little's law: mean ~= conns * K / msgs_per_s.
 *
 * Every connection sends a pseudo-random byte stream; every echoed byte is
 * compared with what was sent (memcmp against the same stream), so a server
 * that drops, reorders or corrupts bytes is caught (verify_errors).
 *
 * After --warmup seconds the counters, the latency histogram and the CPU
 * baseline are reset; after another --duration seconds one JSON line is
 * printed to stdout and the process exits. When the measured window starts a
 * line "measuring" is printed first, so a caller can sample the server's CPU
 * over the same window. Latencies go into a log-linear histogram (128 linear
 * sub-buckets per power of two of nanoseconds: < 0.8 % relative error), so
 * nothing is ever sorted and memory stays constant.
 *
 * loadgen_cpu is this process's own CPU (getrusage user+sys) over the
 * measured window divided by its wall time: 1.0 means one core fully busy,
 * i.e. the load generator itself may be the bottleneck.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

/* ---- latency histogram (HdrHistogram-like, log-linear) ------------------ */

#define SUB_BITS 7
#define SUB_COUNT (1u << SUB_BITS)      /* 128 linear sub-buckets per octave */
#define MAX_SHIFT 40                    /* values up to ~2^47 ns (~39 h) */
#define HIST_LEN ((MAX_SHIFT + 2) * SUB_COUNT)

static uint64_t hist[HIST_LEN];
static uint64_t hist_total;
static uint64_t hist_max;
static double hist_sum;

static unsigned hist_index(uint64_t v) {
  /* values < 2^(SUB_BITS+1) are recorded exactly; above that each power of
     two is split into SUB_COUNT equal buckets. */
  unsigned msb = v ? 63u - (unsigned)__builtin_clzll(v) : 0u;
  unsigned shift = msb > SUB_BITS ? msb - SUB_BITS : 0u;
  if (shift > MAX_SHIFT) return HIST_LEN - 1;
  return shift * SUB_COUNT + (unsigned)(v >> shift);
}

static double hist_value(unsigned idx) {
  /* Inverse of hist_index: rows 0 and 1 (idx < 256) hold exact values; for a
     shift s >= 1, v >> s lies in [128, 256), so idx / 128 == s + 1. Returns
     the midpoint of the bucket's range. */
  unsigned shift = idx / SUB_COUNT;
  uint64_t sub = idx % SUB_COUNT;
  if (shift > 0) {
    shift -= 1;
    sub += SUB_COUNT;
  }
  uint64_t lo = sub << shift;
  uint64_t hi = ((sub + 1) << shift) - 1;
  return ((double)lo + (double)hi) / 2.0;
}

static void hist_record(uint64_t v) {
  hist[hist_index(v)]++;
  hist_total++;
  hist_sum += (double)v;
  if (v > hist_max) hist_max = v;
}

static double hist_percentile(double p) {
  if (hist_total == 0) return 0.0;
  uint64_t rank = (uint64_t)(p / 100.0 * (double)hist_total + 0.999999);
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (unsigned i = 0; i < HIST_LEN; i++) {
    seen += hist[i];
    if (seen >= rank) return hist_value(i);
  }
  return (double)hist_max;
}

/* ---- byte stream pattern ----------------------------------------------- */

#define PATTERN_LEN 1000003u /* prime, so messages rarely line up with it */

static unsigned char *pattern; /* PATTERN_LEN + pattern_slack bytes */
static size_t pattern_slack;    /* longest contiguous read from any offset */

static void pattern_init(size_t extra) {
  pattern_slack = extra;
  pattern = malloc(PATTERN_LEN + extra);
  if (!pattern) {
    perror("malloc");
    exit(2);
  }
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < PATTERN_LEN; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    pattern[i] = (unsigned char)(x >> 24);
  }
  for (size_t i = 0; i < extra; i++) pattern[PATTERN_LEN + i] = pattern[i % PATTERN_LEN];
}

/* ---- connections -------------------------------------------------------- */

typedef struct {
  int fd;
  int connected;
  int dead;
  uint32_t seed;      /* offset into the pattern where this stream starts */
  uint64_t sent;      /* bytes written */
  uint64_t recvd;     /* bytes read back */
  uint64_t msgs_done; /* messages whose last byte came back */
  uint64_t *send_ts;  /* ring of K queue timestamps (ns), slot = msg % K */
  int want_out;       /* registered for EPOLLOUT */
} conn_t;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct {
  double user, sys;
} cpu_t;

static cpu_t cpu_now(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  cpu_t c = {(double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6};
  return c;
}

static size_t msg_size = 64;
static unsigned inflight = 1;
static int epfd;

/* measured-window counters */
static uint64_t m_msgs, m_bytes;
static uint64_t conn_errors, verify_errors;
static int alive_conns;
static int reported_mismatch;

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen --port P [--host H] [--mode pingpong|bulk] [--conns N] [--size S]\n"
          "               [--inflight K] [--duration SEC] [--warmup SEC] [--connect-timeout SEC]\n");
  exit(2);
}

static void set_out_interest(conn_t *c, int want) {
  if (c->want_out == want) return;
  struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) perror("epoll_ctl mod");
  c->want_out = want;
}

static void kill_conn(conn_t *c, const char *why, int err) {
  if (c->dead) return;
  c->dead = 1;
  alive_conns--;
  conn_errors++;
  fprintf(stderr, "loadgen: connection closed: %s%s%s\n", why, err ? ": " : "", err ? strerror(err) : "");
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
}

/* write as much of the allowed stream as the socket takes */
static void pump_out(conn_t *c) {
  uint64_t limit = (c->msgs_done + inflight) * (uint64_t)msg_size;
  while (!c->dead && c->sent < limit) {
    uint64_t off = (c->seed + c->sent) % PATTERN_LEN;
    size_t n = (size_t)(limit - c->sent);
    if (n > pattern_slack) n = pattern_slack; /* contiguous in the pattern buffer */
    ssize_t w = send(c->fd, pattern + off, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        set_out_interest(c, 1);
        return;
      }
      kill_conn(c, "send", errno);
      return;
    }
    c->sent += (uint64_t)w;
    if ((size_t)w < n) {
      /* short write: the socket buffer is full, wait for EPOLLOUT */
      set_out_interest(c, 1);
      return;
    }
  }
  set_out_interest(c, 0);
}

static unsigned char rbuf[256 * 1024];

static void pump_in(conn_t *c, int measuring) {
  for (;;) {
    ssize_t r = recv(c->fd, rbuf, sizeof rbuf, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      kill_conn(c, "recv", errno);
      return;
    }
    if (r == 0) {
      kill_conn(c, "server closed the connection", 0);
      return;
    }
    uint64_t now = now_ns();
    if ((uint64_t)r > c->sent - c->recvd) {
      verify_errors++;
      if (!reported_mismatch++) fprintf(stderr, "loadgen: received more bytes than sent\n");
    } else {
      /* compare with the stream we sent, in pieces that do not wrap */
      size_t done = 0;
      while (done < (size_t)r) {
        uint64_t off = (c->seed + c->recvd + done) % PATTERN_LEN;
        size_t n = (size_t)r - done;
        if (n > PATTERN_LEN - off) n = PATTERN_LEN - off;
        if (memcmp(rbuf + done, pattern + off, n) != 0) {
          verify_errors++;
          if (!reported_mismatch++)
            fprintf(stderr, "loadgen: echoed bytes differ from sent bytes near stream offset %llu\n",
                    (unsigned long long)(c->recvd + done));
          break;
        }
        done += n;
      }
    }
    c->recvd += (uint64_t)r;
    if (measuring) m_bytes += (uint64_t)r;
    uint64_t completed = c->recvd / msg_size;
    while (c->msgs_done < completed) {
      /* message j is done; its slot now belongs to message j + K, which is
         queued for sending at this instant */
      uint64_t *slot = &c->send_ts[c->msgs_done % inflight];
      if (measuring) {
        hist_record(now - *slot);
        m_msgs++;
      }
      *slot = now;
      c->msgs_done++;
    }
    pump_out(c);
    /* A short read means the socket is drained; epoll is level-triggered and
       will report it again when more arrives, so skip the EAGAIN round trip. */
    if (c->dead || (size_t)r < sizeof rbuf) return;
  }
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  int port = 0;
  const char *mode = "pingpong";
  int conns = 50;
  double duration = 5.0, warmup = 1.0, connect_timeout = 5.0;
  int inflight_set = 0;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (!strcmp(a, "--host")) host = v;
    else if (!strcmp(a, "--port")) port = atoi(v);
    else if (!strcmp(a, "--mode")) mode = v;
    else if (!strcmp(a, "--conns")) conns = atoi(v);
    else if (!strcmp(a, "--size")) msg_size = (size_t)strtoul(v, NULL, 10);
    else if (!strcmp(a, "--inflight")) inflight = (unsigned)strtoul(v, NULL, 10), inflight_set = 1;
    else if (!strcmp(a, "--duration")) duration = atof(v);
    else if (!strcmp(a, "--warmup")) warmup = atof(v);
    else if (!strcmp(a, "--connect-timeout")) connect_timeout = atof(v);
    else usage();
  }
  if (port <= 0 || port > 65535 || conns <= 0 || msg_size == 0 || msg_size > 64 * 1024 * 1024 ||
      duration <= 0 || warmup < 0)
    usage();
  if (!strcmp(mode, "pingpong")) inflight = 1;
  else if (!strcmp(mode, "bulk")) {
    if (!inflight_set) inflight = 8;
  } else usage();
  if (inflight == 0) usage();
  signal(SIGPIPE, SIG_IGN);

  pattern_init(256 * 1024);

  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    fprintf(stderr, "loadgen: --host must be an IPv4 address\n");
    return 2;
  }

  epfd = epoll_create1(0);
  if (epfd < 0) {
    perror("epoll_create1");
    return 2;
  }
  conn_t *cs = calloc((size_t)conns, sizeof *cs);
  if (!cs) return 2;

  /* ---- connect everything (non-blocking), bounded by connect_timeout ---- */
  for (int i = 0; i < conns; i++) {
    conn_t *c = &cs[i];
    c->seed = (uint32_t)(((uint64_t)i * 7919u * 131u) % PATTERN_LEN);
    c->send_ts = calloc(inflight, sizeof(uint64_t));
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || !c->send_ts) {
      perror("socket");
      return 2;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
      fprintf(stderr, "loadgen: connect %s:%d: %s\n", host, port, strerror(errno));
      return 1;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
  }
  struct epoll_event evs[256];
  int pending = conns;
  uint64_t deadline = now_ns() + (uint64_t)(connect_timeout * 1e9);
  while (pending > 0) {
    uint64_t now = now_ns();
    if (now >= deadline) {
      fprintf(stderr, "loadgen: %d of %d connections not established after %.1fs\n", pending, conns,
              connect_timeout);
      return 1;
    }
    int n = epoll_wait(epfd, evs, 256, (int)((deadline - now) / 1000000 + 1));
    for (int i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (c->connected) continue;
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err) {
        fprintf(stderr, "loadgen: connect %s:%d: %s\n", host, port, strerror(err));
        return 1;
      }
      c->connected = 1;
      pending--;
      struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
      epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    }
  }

  /* ---- run: warm-up, then the measured window ---- */
  alive_conns = conns;
  uint64_t t0 = now_ns();
  for (int i = 0; i < conns; i++) {
    for (unsigned k = 0; k < inflight; k++) cs[i].send_ts[k] = t0;
    pump_out(&cs[i]);
  }

  int measuring = 0;
  uint64_t warm_end = t0 + (uint64_t)(warmup * 1e9);
  uint64_t m_start = 0, m_end = 0;
  cpu_t cpu_start = {0, 0};
  if (warmup == 0) {
    measuring = 1;
    m_start = t0;
    m_end = t0 + (uint64_t)(duration * 1e9);
    cpu_start = cpu_now();
    printf("measuring\n");
    fflush(stdout);
  }
  for (;;) {
    uint64_t now = now_ns();
    if (!measuring && now >= warm_end) {
      measuring = 1;
      m_start = now;
      m_end = now + (uint64_t)(duration * 1e9);
      cpu_start = cpu_now();
      printf("measuring\n");
      fflush(stdout);
    }
    if (measuring && now >= m_end) break;
    uint64_t until = measuring ? m_end : warm_end;
    int timeout_ms = (int)((until - now) / 1000000) + 1;
    int n = epoll_wait(epfd, evs, 256, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (c->dead) continue;
      if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) pump_in(c, measuring);
      if (!c->dead && (evs[i].events & EPOLLOUT)) pump_out(c);
    }
    if (alive_conns == 0) {
      fprintf(stderr, "loadgen: every connection died\n");
      break;
    }
  }
  uint64_t stop = now_ns();
  cpu_t cpu_end = cpu_now();
  double cpu_user = cpu_end.user - cpu_start.user, cpu_sys = cpu_end.sys - cpu_start.sys;
  double secs = m_start ? (double)(stop - m_start) / 1e9 : 0.0;
  if (secs <= 0) secs = 1e-9;

  printf("{\"mode\":\"%s\",\"conns\":%d,\"size\":%zu,\"inflight\":%u,\"msgs\":%llu,\"bytes\":%llu,"
         "\"seconds\":%.6f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,"
         "\"mean_us\":%.1f,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,"
         "\"loadgen_cpu\":%.4f,\"loadgen_cpu_user\":%.4f,\"loadgen_cpu_sys\":%.4f,\"conn_errors\":%llu,\"verify_errors\":%llu}\n",
         mode, conns, msg_size, inflight, (unsigned long long)m_msgs, (unsigned long long)m_bytes, secs,
         (double)m_msgs / secs, (double)m_bytes / secs / 1e6, hist_total ? hist_sum / (double)hist_total / 1e3 : 0.0,
         hist_percentile(50) / 1e3,
         hist_percentile(90) / 1e3, hist_percentile(99) / 1e3, hist_percentile(99.9) / 1e3,
         (double)hist_max / 1e3, (cpu_user + cpu_sys) / secs, cpu_user / secs, cpu_sys / secs, (unsigned long long)conn_errors,
         (unsigned long long)verify_errors);
  fflush(stdout);
  for (int i = 0; i < conns; i++)
    if (!cs[i].dead) close(cs[i].fd);
  return (conn_errors || verify_errors || m_msgs == 0) ? 1 : 0;
}
