/*
 * chatgen: a single-threaded epoll load generator for chat servers, used by the
 * chat scenarios of `npm run bench` (bench/scenarios/chat.ts). Built by
 * bench/chatgen.ts with `cc -O2` into bench/build/chatgen.
 *
 *   chatgen --port P --proto tsd|ncat|irc|redis --mode fanout|idle|signin [options]
 *
 * Protocols (how a connection "signs in" and how a message is sent):
 *   tsd    the tsd chat dialogue: answers `login: ` / `login [x]: ` with the
 *          name, `password: ` / `new password: ` / `repeat password: ` with the
 *          password; signed in at the `* N online: ...` line. Sends `TEXT\r\n`.
 *   ncat   `ncat --chat`: signed in at ncat's `<announce> already connected`
 *          line. Sends `TEXT\n`; others get `<userN> TEXT`.
 *   irc    NICK/USER, then JOIN #bench at 001; signed in at 366 (end of
 *          NAMES). Sends `PRIVMSG #bench :TEXT`. Answers PING.
 *   redis  receivers SUBSCRIBE bench (signed in at the `:1` count); senders
 *          only connect (a subscribed connection cannot PUBLISH) and send
 *          `PUBLISH bench TEXT` as RESP arrays.
 *
 * TEXT is `~B~ <seq> <send time, CLOCK_MONOTONIC ns> xxxx...` padded to
 * --size bytes; any received line containing `~B~ ` is a delivery, whatever
 * the server put around it. Latency = receipt - send time (same clock, same
 * process), recorded in a log-linear histogram (< 0.8 % error).
 *
 * Modes:
 *   fanout  --receivers N --senders M --rates R1,R2,...: after everyone is
 *           signed in, for each offered rate (messages/s in total, spread
 *           round-robin over the senders): --warmup s, then a --duration s
 *           measured window, then up to --drain s for the window's messages
 *           to arrive. Prints `measure-start R` / `measure-end R` around the
 *           window and one JSON line per step. Messages are generated on
 *           schedule even when a sender's socket is full (they queue in the
 *           client, stamped at generation, so back-pressure counts as latency);
 *           past 16 MiB queued for one sender they are skipped and count as lost.
 *           The ladder stops after a step that delivered < --stop-delivered
 *           (0.95) of the expected deliveries or had p99 > --stop-p99-ms (100),
 *           or in which chatgen itself used more than --stop-cpu (0.9) of a core.
 *   idle    signs in --receivers N sessions, prints `ready K SECONDS` (K may be
 *           < N when --setup-timeout ran out), then keeps reading (and
 *           answering PINGs) until stdin is closed or --duration passes.
 *   signin  probe pair p0 -> p1 exchanging --probe-rate messages/s: first
 *           --duration s alone, then --duration s while --storm-conns
 *           connections sign in over and over (as s0..s{--storm-names - 1}),
 *           each closing as soon as it is signed in. One JSON line.
 *
 * --tls (a build with -DCHATGEN_TLS, linked with OpenSSL: bench/build/chatgen-tls)
 * speaks TLS on every connection: a full handshake per connection (no session
 * resumption, the certificate not checked), then the same protocol inside. A
 * sign-in's time then includes the handshake.
 *
 * Setup signs in at most --concurrency connections at a time and gives up after
 * --setup-timeout seconds. cpu figures are this process's getrusage user+sys
 * over the window divided by its wall time (1.0 = one core busy).
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef CHATGEN_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
static int use_tls;
static SSL_CTX *ssl_ctx;
#endif

/* ---- histogram ----------------------------------------------------------- */
#define SUB_BITS 7
#define SUB_COUNT (1u << SUB_BITS)
#define MAX_SHIFT 40
#define HIST_LEN ((MAX_SHIFT + 2) * SUB_COUNT)
typedef struct {
  uint64_t b[HIST_LEN];
  uint64_t total, max;
  double sum;
} hist_t;
static unsigned hist_index(uint64_t v) {
  unsigned msb = v ? 63u - (unsigned)__builtin_clzll(v) : 0u;
  unsigned shift = msb > SUB_BITS ? msb - SUB_BITS : 0u;
  if (shift > MAX_SHIFT) return HIST_LEN - 1;
  return shift * SUB_COUNT + (unsigned)(v >> shift);
}
static double hist_value(unsigned idx) {
  unsigned shift = idx / SUB_COUNT;
  uint64_t sub = idx % SUB_COUNT;
  if (shift > 0) {
    shift -= 1;
    sub += SUB_COUNT;
  }
  uint64_t lo = sub << shift, hi = ((sub + 1) << shift) - 1;
  return ((double)lo + (double)hi) / 2.0;
}
static void hist_record(hist_t *h, uint64_t v) {
  h->b[hist_index(v)]++;
  h->total++;
  h->sum += (double)v;
  if (v > h->max) h->max = v;
}
static double hist_pct(const hist_t *h, double p) {
  if (h->total == 0) return -1;
  uint64_t rank = (uint64_t)(p / 100.0 * (double)h->total + 0.999999), seen = 0;
  if (rank < 1) rank = 1;
  for (unsigned i = 0; i < HIST_LEN; i++) {
    seen += h->b[i];
    if (seen >= rank) return hist_value(i);
  }
  return (double)h->max;
}
/* ", \"<pfx>p50_us\":..." */
static void hist_json(const hist_t *h, const char *pfx) {
  printf("\"%sp50_us\":%.1f,\"%sp99_us\":%.1f,\"%sp999_us\":%.1f,\"%smax_us\":%.1f,\"%smean_us\":%.1f,\"%ssamples\":%llu",
         pfx, hist_pct(h, 50) / 1e3, pfx, hist_pct(h, 99) / 1e3, pfx, hist_pct(h, 99.9) / 1e3, pfx,
         h->total ? (double)h->max / 1e3 : -1.0, pfx, h->total ? h->sum / (double)h->total / 1e3 : -1.0, pfx,
         (unsigned long long)h->total);
}

/* ---- time, cpu ------------------------------------------------------------ */
static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static double cpu_s(double *user) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double u = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
  double s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  if (user) *user = u;
  return u + s;
}

/* ---- options --------------------------------------------------------------- */
enum { P_TSD, P_NCAT, P_IRC, P_REDIS };
static int proto = P_TSD;
static const char *mode = "fanout";
static const char *host = "127.0.0.1";
static int port;
static int n_recv = 100, n_send = 1;
static char rates_arg[512] = "1000";
static double warmup = 0.5, duration = 2.0, drain = 2.0, setup_timeout = 60.0;
static double stop_delivered = 0.95, stop_p99_ms = 100.0, stop_cpu = 0.9;
static size_t msg_size = 64;
static const char *prefix = "u";
static int name_offset = 0;
static const char *password = "benchpw";
static int concurrency = 200;
static int storm_conns = 16, storm_names = 200;
static double probe_rate = 200;

/* ---- connections ------------------------------------------------------------ */
enum { R_RECV, R_SEND, R_PROBE_A, R_PROBE_B, R_STORM };
enum { S_IDLE, S_CONNECTING, S_SIGNIN, S_READY, S_DEAD };
typedef struct {
  int fd, role, state, idx, want_out;
#ifdef CHATGEN_TLS
  SSL *ssl;
  int handshaking;
#endif
  char name[48];
  char *in;
  size_t inlen, incap;
  char *out;
  size_t outlen, outoff, outcap;
  uint64_t t_start;
} conn_t;

static int epfd;
static conn_t *cs;
static int n_conns;
static int ready_count, dead_count, signin_errors, conn_errors;
static int reported_errors;
static struct sockaddr_in sa;

static void err_note(const char *fmt, const char *a, const char *b) {
  if (reported_errors++ < 5) {
    fprintf(stderr, "chatgen: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
  }
}

static void set_events(conn_t *c) {
  int want = c->state == S_CONNECTING || c->outlen > c->outoff;
  if (c->want_out == want) return;
  struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
  c->want_out = want;
}

static void conn_close(conn_t *c, int as_error, const char *why) {
  if (c->state == S_DEAD || c->state == S_IDLE) return;
  if (as_error) {
    if (c->state == S_READY) conn_errors++;
    else signin_errors++;
    err_note("%s: %s", c->name, why);
  }
  if (c->state == S_READY) ready_count--;
#ifdef CHATGEN_TLS
  if (c->ssl) SSL_free(c->ssl);
  c->ssl = NULL;
  c->handshaking = 0;
#endif
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  c->state = c->role == R_STORM ? S_IDLE : S_DEAD;
  if (c->state == S_DEAD) dead_count++;
  c->inlen = 0;
  c->outlen = c->outoff = 0;
}

static void flush_out(conn_t *c) {
  while (c->outoff < c->outlen) {
#ifdef CHATGEN_TLS
    if (c->ssl) {
      int w = SSL_write(c->ssl, c->out + c->outoff, (int)(c->outlen - c->outoff));
      if (w <= 0) {
        int e = SSL_get_error(c->ssl, w);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) break;
        conn_close(c, 1, "TLS write failed");
        return;
      }
      c->outoff += (size_t)w;
      continue;
    }
#endif
    ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      conn_close(c, 1, strerror(errno));
      return;
    }
    c->outoff += (size_t)w;
  }
  if (c->outoff == c->outlen) c->outoff = c->outlen = 0;
  set_events(c);
}

static void out_append(conn_t *c, const char *p, size_t n) {
  if (c->outoff > 0 && c->outoff == c->outlen) c->outoff = c->outlen = 0;
  if (c->outlen + n > c->outcap) {
    if (c->outoff > 0) {
      memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
      c->outlen -= c->outoff;
      c->outoff = 0;
    }
    if (c->outlen + n > c->outcap) {
      size_t cap = c->outcap ? c->outcap : 4096;
      while (cap < c->outlen + n) cap *= 2;
      c->out = realloc(c->out, cap);
      if (!c->out) exit(3);
      c->outcap = cap;
    }
  }
  memcpy(c->out + c->outlen, p, n);
  c->outlen += n;
}
static void out_str(conn_t *c, const char *s) { out_append(c, s, strlen(s)); }

static void conn_start(conn_t *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    perror("chatgen: socket");
    exit(2);
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->t_start = now_ns();
  c->state = S_CONNECTING;
  c->want_out = 1;
  c->inlen = c->outlen = c->outoff = 0;
  if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
    err_note("connect: %s%s", strerror(errno), "");
    close(c->fd);
    c->fd = -1;
    c->state = S_DEAD;
    dead_count++;
    signin_errors++;
    return;
  }
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

/* ---- delivery accounting ------------------------------------------------- */
static uint64_t next_seq = 1;
static uint64_t win_first = UINT64_MAX, win_last = 0; /* seq range of the measured window */
static uint64_t win_delivered, win_sent, win_skipped;
static uint64_t total_deliveries; /* every ~B~ line received */
static hist_t lat;                /* window messages */
static hist_t probe_hist;
static uint64_t signins;
static hist_t signin_hist;

static void on_ready(conn_t *c);

static void on_message(conn_t *c, const char *line, size_t len) {
  /* tsd history lines (`[date] <name> ...`, sent at sign-in) are not deliveries */
  if (proto == P_TSD && (len == 0 || line[0] != '<')) return;
  const char *m = memmem(line, len, "~B~ ", 4);
  if (!m) return;
  uint64_t now = now_ns();
  char *end;
  uint64_t seq = strtoull(m + 4, &end, 10);
  uint64_t ts = strtoull(end, NULL, 10);
  total_deliveries++;
  if (c->role == R_RECV) {
    if (seq >= win_first && seq <= win_last) {
      win_delivered++;
      hist_record(&lat, now > ts ? now - ts : 0);
    }
  } else if (c->role == R_PROBE_B) {
    if (seq >= win_first && seq <= win_last) hist_record(&probe_hist, now > ts ? now - ts : 0);
  }
}

static int starts(const char *line, size_t len, const char *pfx) {
  size_t n = strlen(pfx);
  return len >= n && memcmp(line, pfx, n) == 0;
}

static void handle_line(conn_t *c, char *line, size_t len) {
  if (proto == P_IRC) {
    if (starts(line, len, "PING")) {
      out_str(c, "PONG");
      out_append(c, line + 4, len - 4);
      out_str(c, "\r\n");
      flush_out(c);
      return;
    }
    if (c->state == S_SIGNIN) {
      /* ":server 001 nick :Welcome" */
      const char *sp = memchr(line, ' ', len);
      if (sp && (size_t)(sp - line) + 4 < len) {
        if (!memcmp(sp + 1, "001 ", 4)) {
          out_str(c, "JOIN #bench\r\n");
          flush_out(c);
        } else if (!memcmp(sp + 1, "366 ", 4)) {
          on_ready(c);
        } else if (sp[1] == '4' || sp[1] == '5') {
          line[len] = 0;
          conn_close(c, 1, line);
        }
      }
      if (starts(line, len, "ERROR")) conn_close(c, 1, "ERROR from server");
      return;
    }
  } else if (proto == P_TSD && c->state == S_SIGNIN) {
    if (starts(line, len, "! ")) {
      line[len] = 0;
      conn_close(c, 1, line);
    } else if (starts(line, len, "* ") && memmem(line, len, " online: ", 9))
      on_ready(c);
    return;
  } else if (proto == P_NCAT && c->state == S_SIGNIN) {
    if (memmem(line, len, "already connected", 17)) on_ready(c);
    return;
  } else if (proto == P_REDIS && c->state == S_SIGNIN) {
    if (starts(line, len, ":")) on_ready(c);
    else if (starts(line, len, "-")) {
      line[len] = 0;
      conn_close(c, 1, line);
    }
    return;
  }
  if (c->state == S_READY) on_message(c, line, len);
}

/* a tsd prompt: the unterminated rest of the input */
static void tsd_prompt(conn_t *c) {
  if (c->inlen < 2 || c->in[c->inlen - 2] != ':' || c->in[c->inlen - 1] != ' ') return;
  const char *s = c->in;
  size_t n = c->inlen;
  /* IAC WILL ECHO, which tsd sends before a password prompt; a raw client does not answer it */
  while (n >= 3 && (unsigned char)s[0] == 255) {
    s += 3;
    n -= 3;
  }
  if (starts(s, n, "login")) {
    out_str(c, c->name);
  } else if (starts(s, n, "password") || starts(s, n, "new password") || starts(s, n, "repeat password")) {
    out_str(c, password);
  } else
    return;
  out_str(c, "\r\n");
  c->inlen = 0;
  flush_out(c);
}

static char rbuf[256 * 1024];

static void on_readable(conn_t *c) {
  for (;;) {
    ssize_t r;
#ifdef CHATGEN_TLS
    if (c->ssl) {
      int n = SSL_read(c->ssl, rbuf, (int)sizeof rbuf);
      if (n <= 0) {
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
        conn_close(c, 1, e == SSL_ERROR_ZERO_RETURN ? "server closed the connection" : "TLS read failed");
        return;
      }
      r = n;
    } else
#endif
      r = recv(c->fd, rbuf, sizeof rbuf, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      conn_close(c, 1, strerror(errno));
      return;
    }
    if (r == 0) {
      conn_close(c, 1, "server closed the connection");
      return;
    }
    /* lines: the kept partial line, then rbuf */
    size_t pos = 0;
    if (c->inlen > 0) {
      char *nl = memchr(rbuf, '\n', (size_t)r);
      size_t take = nl ? (size_t)(nl - rbuf) + 1 : (size_t)r;
      if (c->inlen + take + 1 > c->incap) {
        size_t cap = c->incap ? c->incap : 256;
        while (cap < c->inlen + take + 1) cap *= 2;
        c->in = realloc(c->in, cap);
        if (!c->in) exit(3);
        c->incap = cap;
      }
      memcpy(c->in + c->inlen, rbuf, take);
      c->inlen += take;
      pos = take;
      if (nl) {
        size_t len = c->inlen - 1;
        if (len > 0 && c->in[len - 1] == '\r') len--;
        c->inlen = 0;
        handle_line(c, c->in, len);
        if (c->state == S_DEAD || c->state == S_IDLE) return;
      }
    }
    while (pos < (size_t)r) {
      char *nl = memchr(rbuf + pos, '\n', (size_t)r - pos);
      if (!nl) {
        size_t rest = (size_t)r - pos;
        if (c->inlen + rest + 1 > c->incap) {
          size_t cap = c->incap ? c->incap : 256;
          while (cap < c->inlen + rest + 1) cap *= 2;
          c->in = realloc(c->in, cap);
          if (!c->in) exit(3);
          c->incap = cap;
        }
        memcpy(c->in + c->inlen, rbuf + pos, rest);
        c->inlen += rest;
        break;
      }
      size_t len = (size_t)(nl - (rbuf + pos));
      char *line = rbuf + pos;
      if (len > 0 && line[len - 1] == '\r') len--;
      char saved = line[len];
      handle_line(c, line, len);
      line[len] = saved;
      if (c->state == S_DEAD || c->state == S_IDLE) return;
      pos = (size_t)(nl - rbuf) + 1;
    }
    if (proto == P_TSD && c->state == S_SIGNIN && c->inlen > 0) tsd_prompt(c);
#ifdef CHATGEN_TLS
    /* A TLS read returns one record at most; what OpenSSL already holds would not wake epoll. */
    if (c->ssl) continue;
#endif
    if ((size_t)r < sizeof rbuf) return;
  }
}

static void on_transport(conn_t *c);

#ifdef CHATGEN_TLS
/* One step of the client handshake; once it is done the protocol starts as over TCP. */
static void tls_step(conn_t *c) {
  int r = SSL_do_handshake(c->ssl);
  if (r == 1) {
    c->handshaking = 0;
    c->want_out = -1; /* set_events must write the mask again */
    on_transport(c);
    return;
  }
  int e = SSL_get_error(c->ssl, r);
  if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
    unsigned long code = ERR_get_error();
    char buf[160];
    ERR_error_string_n(code, buf, sizeof buf);
    conn_close(c, 1, buf);
    return;
  }
  struct epoll_event ev = {.events = EPOLLIN | (e == SSL_ERROR_WANT_WRITE ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
  c->want_out = e == SSL_ERROR_WANT_WRITE;
}
#endif

static void on_connected(conn_t *c) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) {
    conn_close(c, 1, strerror(err));
    if (c->state == S_IDLE) c->state = S_IDLE;
    return;
  }
  c->state = S_SIGNIN;
#ifdef CHATGEN_TLS
  if (use_tls) {
    c->ssl = SSL_new(ssl_ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_connect_state(c->ssl);
    SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    c->handshaking = 1;
    tls_step(c);
    return;
  }
#endif
  on_transport(c);
}

/* The connection can carry the protocol: TCP connected (and, with --tls, the handshake done). */
static void on_transport(conn_t *c) {
  if (proto == P_IRC) {
    char buf[200];
    snprintf(buf, sizeof buf, "NICK %s\r\nUSER %s 0 * :%s\r\n", c->name, c->name, c->name);
    out_str(c, buf);
  } else if (proto == P_REDIS) {
    if (c->role == R_SEND || c->role == R_PROBE_A) {
      on_ready(c);
      return;
    }
    out_str(c, "*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nbench\r\n");
  }
  flush_out(c);
}

static int storm_next;
static int setup_inflight;

static void on_ready(conn_t *c) {
  if (c->state != S_SIGNIN) return;
  c->state = S_READY;
  ready_count++;
  setup_inflight--;
  if (c->role == R_STORM) {
    signins++;
    hist_record(&signin_hist, now_ns() - c->t_start);
    conn_close(c, 0, NULL);
  }
}

/* ---- sending ---------------------------------------------------------------- */
#define MAX_QUEUED (16u << 20)
static void send_msg(conn_t *c, int in_window) {
  if (c->state != S_READY) {
    if (in_window) win_skipped++;
    return;
  }
  if (c->outlen - c->outoff > MAX_QUEUED) {
    if (in_window) win_skipped++;
    return;
  }
  uint64_t seq = next_seq++;
  if (in_window) {
    if (win_first == UINT64_MAX) win_first = seq;
    win_last = seq;
    win_sent++;
  }
  char text[4200];
  int n = snprintf(text, sizeof text, "~B~ %llu %llu ", (unsigned long long)seq, (unsigned long long)now_ns());
  size_t want = msg_size < sizeof text - 1 ? msg_size : sizeof text - 1;
  while ((size_t)n < want) text[n++] = 'x';
  char head[96];
  if (proto == P_IRC) {
    out_str(c, "PRIVMSG #bench :");
    out_append(c, text, (size_t)n);
    out_str(c, "\r\n");
  } else if (proto == P_REDIS) {
    snprintf(head, sizeof head, "*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$%d\r\n", n);
    out_str(c, head);
    out_append(c, text, (size_t)n);
    out_str(c, "\r\n");
  } else {
    out_append(c, text, (size_t)n);
    out_str(c, proto == P_NCAT ? "\n" : "\r\n");
  }
  flush_out(c);
}

/* ---- event loop ---------------------------------------------------------- */
static struct epoll_event evs[512];
static void poll_once(int timeout_ms) {
  int n = epoll_wait(epfd, evs, 512, timeout_ms);
  for (int i = 0; i < n; i++) {
    conn_t *c = evs[i].data.ptr;
    if (c->state == S_DEAD || c->state == S_IDLE || c->fd < 0) continue;
#ifdef CHATGEN_TLS
    if (c->handshaking) {
      tls_step(c);
      if (c->state == S_DEAD || c->state == S_IDLE || c->handshaking) continue;
      /* the handshake may have brought the server's first bytes with it */
      on_readable(c);
      if (c->state == S_DEAD || c->state == S_IDLE) continue;
      set_events(c);
      continue;
    }
#endif
    if (c->state == S_CONNECTING) {
      if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(c);
      if (c->state == S_DEAD || c->state == S_IDLE) continue;
#ifdef CHATGEN_TLS
      if (c->handshaking) continue; /* tls_step set what it waits for */
#endif
      set_events(c);
      continue;
    }
    if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
    if ((c->state == S_SIGNIN || c->state == S_READY) && (evs[i].events & EPOLLOUT)) flush_out(c);
  }
}

/* sign in conns [from, to) with at most `concurrency` in flight */
static int setup(int from, int to, double timeout_s) {
  uint64_t deadline = now_ns() + (uint64_t)(timeout_s * 1e9);
  int next = from;
  setup_inflight = 0;
  for (;;) {
    while (next < to && setup_inflight < concurrency) {
      conn_start(&cs[next++]);
      if (cs[next - 1].state != S_DEAD) setup_inflight++;
    }
    int done = 1;
    for (int i = from; i < to && done; i++)
      if (cs[i].state == S_CONNECTING || cs[i].state == S_SIGNIN) done = 0;
    if (next >= to && done) break;
    if (now_ns() >= deadline) {
      fprintf(stderr, "chatgen: setup timed out after %.0f s: %d signed in\n", timeout_s, ready_count);
      return -1;
    }
    poll_once(5);
    /* recount in-flight (closes during sign-in) */
    int inflight = 0;
    for (int i = from; i < next; i++)
      if (cs[i].state == S_CONNECTING || cs[i].state == S_SIGNIN) inflight++;
    setup_inflight = inflight;
  }
  return 0;
}

static void run_for(double secs) {
  uint64_t end = now_ns() + (uint64_t)(secs * 1e9);
  for (uint64_t now = now_ns(); now < end; now = now_ns()) poll_once((int)((end - now) / 1000000) + 1);
}

static void usage(void) {
  fprintf(stderr,
          "usage: chatgen --port P [--host H] [--proto tsd|ncat|irc|redis] [--mode fanout|idle|signin]\n"
          "  [--receivers N] [--senders M] [--rates R1,R2..] [--warmup S] [--duration S] [--drain S]\n"
          "  [--stop-delivered F] [--stop-p99-ms MS] [--size B] [--prefix P] [--offset K] [--password PW]\n"
          "  [--concurrency C] [--setup-timeout S] [--storm-conns K] [--storm-names N] [--probe-rate R]\n");
  exit(2);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
#ifdef CHATGEN_TLS
    if (!strcmp(a, "--tls")) {
      use_tls = 1;
      continue;
    }
#endif
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (!strcmp(a, "--host")) host = v;
    else if (!strcmp(a, "--port")) port = atoi(v);
    else if (!strcmp(a, "--proto")) {
      if (!strcmp(v, "tsd")) proto = P_TSD;
      else if (!strcmp(v, "ncat")) proto = P_NCAT;
      else if (!strcmp(v, "irc")) proto = P_IRC;
      else if (!strcmp(v, "redis")) proto = P_REDIS;
      else usage();
    } else if (!strcmp(a, "--mode")) mode = v;
    else if (!strcmp(a, "--receivers")) n_recv = atoi(v);
    else if (!strcmp(a, "--senders")) n_send = atoi(v);
    else if (!strcmp(a, "--rates")) snprintf(rates_arg, sizeof rates_arg, "%s", v);
    else if (!strcmp(a, "--warmup")) warmup = atof(v);
    else if (!strcmp(a, "--duration")) duration = atof(v);
    else if (!strcmp(a, "--drain")) drain = atof(v);
    else if (!strcmp(a, "--stop-delivered")) stop_delivered = atof(v);
    else if (!strcmp(a, "--stop-p99-ms")) stop_p99_ms = atof(v);
    else if (!strcmp(a, "--stop-cpu")) stop_cpu = atof(v);
    else if (!strcmp(a, "--size")) msg_size = (size_t)atoi(v);
    else if (!strcmp(a, "--prefix")) prefix = v;
    else if (!strcmp(a, "--offset")) name_offset = atoi(v);
    else if (!strcmp(a, "--password")) password = v;
    else if (!strcmp(a, "--concurrency")) concurrency = atoi(v);
    else if (!strcmp(a, "--setup-timeout")) setup_timeout = atof(v);
    else if (!strcmp(a, "--storm-conns")) storm_conns = atoi(v);
    else if (!strcmp(a, "--storm-names")) storm_names = atoi(v);
    else if (!strcmp(a, "--probe-rate")) probe_rate = atof(v);
    else usage();
  }
  if (port <= 0 || port > 65535 || n_recv < 0 || n_send < 0 || concurrency <= 0 || msg_size < 40) usage();
  signal(SIGPIPE, SIG_IGN);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) usage();
  epfd = epoll_create1(0);
#ifdef CHATGEN_TLS
  if (use_tls) {
    ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (!ssl_ctx) exit(2);
    SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ssl_ctx, SSL_SESS_CACHE_OFF);
  }
#endif
  int is_signin = !strcmp(mode, "signin");
  if (is_signin) {
    n_recv = 0;
    n_send = 0;
  }
  int n_fixed = is_signin ? 2 : n_recv + n_send;
  n_conns = n_fixed + (is_signin ? storm_conns : 0);
  cs = calloc((size_t)n_conns, sizeof *cs);
  for (int i = 0; i < n_conns; i++) {
    conn_t *c = &cs[i];
    c->fd = -1;
    if (is_signin) {
      c->role = i == 0 ? R_PROBE_A : i == 1 ? R_PROBE_B : R_STORM;
      if (i < 2) snprintf(c->name, sizeof c->name, "p%d", i);
    } else {
      c->role = i < n_recv ? R_RECV : R_SEND;
      snprintf(c->name, sizeof c->name, "%s%d", prefix, name_offset + i);
    }
  }
  uint64_t t_setup = now_ns();
  int ok = setup(0, n_fixed, setup_timeout);
  double setup_s = (double)(now_ns() - t_setup) / 1e9;

  if (!strcmp(mode, "idle")) {
    printf("ready %d %.3f %d\n", ready_count, setup_s, signin_errors);
    fflush(stdout);
    uint64_t end = now_ns() + (uint64_t)(duration * 1e9);
    for (uint64_t now = now_ns(); now < end; now = now_ns()) {
      struct pollfd pfd = {.fd = 0, .events = POLLIN};
      if (poll(&pfd, 1, 0) > 0) {
        char b[64];
        if (read(0, b, sizeof b) <= 0) break;
      }
      poll_once(50);
    }
    printf("{\"mode\":\"idle\",\"signed_in\":%d,\"still_connected\":%d,\"setup_s\":%.3f,\"signin_errors\":%d,\"conn_errors\":%d}\n",
           ready_count + 0, ready_count, setup_s, signin_errors, conn_errors);
    return 0;
  }
  if (ok < 0 || ready_count < n_fixed) {
    printf("{\"error\":\"setup\",\"signed_in\":%d,\"wanted\":%d,\"setup_s\":%.3f,\"signin_errors\":%d}\n", ready_count,
           n_fixed, setup_s, signin_errors);
    return 1;
  }
  fprintf(stderr, "chatgen: %d signed in after %.2f s\n", ready_count, setup_s);
  run_for(0.3); /* let join notices settle */

  if (is_signin) {
    conn_t *a = &cs[0];
    double phases[2];
    uint64_t ph_signins[2] = {0, 0};
    hist_t ph_probe[2], ph_signin_lat;
    double cpu0 = 0, cpu1 = 0;
    for (int phase = 0; phase < 2; phase++) {
      memset(&probe_hist, 0, sizeof probe_hist);
      memset(&signin_hist, 0, sizeof signin_hist);
      signins = 0;
      win_first = next_seq;
      win_last = UINT64_MAX;
      printf("phase-start %d\n", phase);
      fflush(stdout);
      double c0 = cpu_s(NULL);
      uint64_t t0 = now_ns(), end = t0 + (uint64_t)(duration * 1e9);
      uint64_t probes = 0;
      if (phase == 1)
        for (int i = n_fixed; i < n_conns; i++) cs[i].state = S_IDLE;
      for (uint64_t now = t0; now < end; now = now_ns()) {
        if (phase == 1)
          for (int i = n_fixed; i < n_conns; i++)
            if (cs[i].state == S_IDLE) {
              snprintf(cs[i].name, sizeof cs[i].name, "s%d", storm_next++ % storm_names);
              conn_start(&cs[i]);
              if (cs[i].state == S_DEAD) cs[i].state = S_IDLE;
            }
        uint64_t due = (uint64_t)((double)(now - t0) / 1e9 * probe_rate);
        while (probes < due) {
          send_msg(a, 0);
          probes++;
        }
        poll_once(1);
      }
      phases[phase] = (double)(now_ns() - t0) / 1e9;
      if (phase) cpu1 = cpu_s(NULL) - c0;
      else cpu0 = cpu_s(NULL) - c0;
      ph_signins[phase] = signins;
      ph_probe[phase] = probe_hist;
      if (phase == 1) ph_signin_lat = signin_hist;
      printf("phase-end %d\n", phase);
      fflush(stdout);
      if (phase == 1)
        for (int i = n_fixed; i < n_conns; i++)
          if (cs[i].state != S_IDLE && cs[i].state != S_DEAD) {
            cs[i].role = R_STORM;
            conn_close(&cs[i], 0, NULL);
          }
    }
    printf("{\"mode\":\"signin\",\"storm_conns\":%d,\"seconds\":%.3f,\"signins\":%llu,\"signins_per_s\":%.2f,", storm_conns,
           phases[1], (unsigned long long)ph_signins[1], (double)ph_signins[1] / phases[1]);
    hist_json(&ph_signin_lat, "signin_");
    printf(",");
    hist_json(&ph_probe[0], "quiet_");
    printf(",");
    hist_json(&ph_probe[1], "storm_");
    printf(",\"probe_rate\":%.1f,\"chatgen_cpu_quiet\":%.4f,\"chatgen_cpu_storm\":%.4f,\"signin_errors\":%d,\"conn_errors\":%d}\n",
           probe_rate, cpu0 / phases[0], cpu1 / phases[1], signin_errors, conn_errors);
    return 0;
  }

  /* fanout ladder */
  double rates[64];
  int n_rates = 0;
  for (char *tok = strtok(rates_arg, ","); tok && n_rates < 64; tok = strtok(NULL, ",")) rates[n_rates++] = atof(tok);
  for (int step = 0; step < n_rates; step++) {
    double rate = rates[step];
    int sender_rr = 0;
    uint64_t generated = 0;
    win_first = UINT64_MAX;
    win_last = 0;
    win_delivered = win_sent = win_skipped = 0;
    memset(&lat, 0, sizeof lat);
    uint64_t t0 = now_ns();
    uint64_t m_start = t0 + (uint64_t)(warmup * 1e9), m_end = m_start + (uint64_t)(duration * 1e9);
    int measuring = 0;
    double cpu0 = 0, cpu0u = 0;
    uint64_t deliv0 = 0;
    for (uint64_t now = t0; now < m_end; now = now_ns()) {
      if (!measuring && now >= m_start) {
        measuring = 1;
        cpu0 = cpu_s(&cpu0u);
        deliv0 = total_deliveries;
        printf("measure-start %g\n", rate);
        fflush(stdout);
      }
      uint64_t due = (uint64_t)((double)(now - t0) / 1e9 * rate);
      while (generated < due) {
        send_msg(&cs[n_recv + sender_rr], measuring);
        sender_rr = (sender_rr + 1) % n_send;
        generated++;
      }
      poll_once(1);
    }
    double win_s = (double)(now_ns() - m_start) / 1e9;
    double cpu1u, cpu1 = cpu_s(&cpu1u);
    uint64_t received_in_window = total_deliveries - deliv0;
    printf("measure-end %g\n", rate);
    fflush(stdout);
    uint64_t expected = (win_sent + win_skipped) * (uint64_t)n_recv;
    uint64_t drain_end = now_ns() + (uint64_t)(drain * 1e9);
    for (uint64_t now = now_ns(); now < drain_end && win_delivered < win_sent * (uint64_t)n_recv; now = now_ns())
      poll_once(2);
    double delivered_frac = expected ? (double)win_delivered / (double)expected : 0;
    double p99_us = hist_pct(&lat, 99) / 1e3;
    printf("{\"mode\":\"fanout\",\"rate\":%g,\"receivers\":%d,\"senders\":%d,\"seconds\":%.4f,\"sent\":%llu,\"skipped\":%llu,"
           "\"expected\":%llu,\"delivered\":%llu,\"lost\":%llu,\"delivered_frac\":%.5f,\"deliveries_per_s\":%.1f,"
           "\"received_per_s\":%.1f,",
           rate, n_recv, n_send, win_s, (unsigned long long)win_sent, (unsigned long long)win_skipped,
           (unsigned long long)expected, (unsigned long long)win_delivered,
           (unsigned long long)(expected - (win_delivered < expected ? win_delivered : expected)), delivered_frac,
           (double)win_delivered / win_s, (double)received_in_window / win_s);
    hist_json(&lat, "");
    printf(",\"chatgen_cpu\":%.4f,\"chatgen_cpu_user\":%.4f,\"conn_errors\":%d,\"alive\":%d}\n", (cpu1 - cpu0) / win_s,
           (cpu1u - cpu0u) / win_s, conn_errors, ready_count);
    fflush(stdout);
    if (delivered_frac < stop_delivered || p99_us > stop_p99_ms * 1000.0 || ready_count < n_fixed ||
        (cpu1 - cpu0) / win_s > stop_cpu)
      break;
    run_for(0.3);
  }
  return 0;
}
