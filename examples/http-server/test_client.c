/* SPDX-License-Identifier: MIT */
/*
 * test_client — the test of the HTTP examples: http-server and the framework
 * servers (evhttp-server, mhd-server, uv-server), which answer the same API.
 * Starts the server on 127.0.0.1 with a free port (--port 0), sends a
 * bounded number of requests, checks every response against values it
 * computed itself, checks that the server still answers after the load,
 * stops the server with SIGTERM and checks that it exits cleanly.  Talks to
 * 127.0.0.1 only.
 *
 *   test_client [OPTIONS] SERVER [REQUESTS]
 *     --threads N       client threads for the load (default 4), each on its
 *                       own keep-alive connection; REQUESTS (default 400)
 *                       are shared among them
 *     --pipeline K      in the load, every other run of K requests is sent
 *                       in one write (pipelined) and answered in order
 *     --close-every N   in the load, every Nth request goes with
 *                       "Connection: close" (the server must close; the
 *                       thread reconnects)
 *     --echo-id         the server echoes X-Request-Id: check it per answer
 *     --server-arg ARG  pass ARG to the server (repeatable)
 *     --timeout S       bound on the whole test (default 120 s); a request
 *                       unanswered for 10 s fails, and so does a server
 *                       still running 10 s after SIGTERM (then killed)
 *
 * The server gets the client's environment without any OFFHEAP_* variable.
 * With HTTP_TEST_PRELOAD=/path/liboffheap.so it (only the server) runs with
 * LD_PRELOAD set to it, and the test also requires that the handler really
 * ran in a scope: "scoped": true in every answer and scope blocks counted in
 * /stats.  HTTP_TEST_SERVER_ENV="NAME=VALUE ..." adds variables to the
 * server's environment after that (e.g. OFFHEAP_CHECK=1).
 */
#define _GNU_SOURCE /* memmem, accept4 */
#include <jansson.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int port;
static bool preloaded;
static bool echo_id;
static int pipeline_depth, close_every;
static volatile pid_t server_pid;
static int failures, checks;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        pthread_mutex_lock(&report_lock);                                                                              \
        checks++;                                                                                                      \
        if (!(cond)) {                                                                                                 \
            failures++;                                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);                                   \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fputc('\n', stderr);                                                                                       \
        }                                                                                                              \
        pthread_mutex_unlock(&report_lock);                                                                            \
    } while (0)

static int connect_local(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* only ever 127.0.0.1 */
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* A connection with a read buffer (responses may arrive together). */
typedef struct conn {
    int fd;
    char *buf;
    size_t have, cap;
} conn;

typedef struct response {
    int status;
    bool close;   /* Connection: close */
    bool timeout; /* no (complete) answer within the receive timeout */
    char *body;   /* malloc'd, NUL-terminated */
    size_t len;
    char id[80]; /* X-Request-Id, "" when absent */
} response;

static bool conn_open(conn *c)
{
    c->fd = connect_local();
    c->cap = 1u << 16;
    c->have = 0;
    c->buf = malloc(c->cap);
    return c->fd >= 0 && c->buf;
}

static void conn_close(conn *c)
{
    if (c->fd >= 0) close(c->fd);
    free(c->buf);
    c->fd = -1;
    c->buf = NULL;
}

/* 1: read some; 0: the peer closed; -1: error or timeout (errno). */
static int fill(conn *c)
{
    if (c->have == c->cap) {
        char *nb = realloc(c->buf, c->cap * 2);
        if (!nb) return -1;
        c->buf = nb;
        c->cap *= 2;
    }
    ssize_t r;
    do r = recv(c->fd, c->buf + c->have, c->cap - c->have, 0);
    while (r < 0 && errno == EINTR);
    if (r <= 0) return (int)r;
    c->have += (size_t)r;
    return 1;
}

/* Header `name` ("Name: ", exact case) in the head [h, h + n). */
static const char *head_field(const char *h, size_t n, const char *name)
{
    const char *p = memmem(h, n, name, strlen(name));
    return p ? p + strlen(name) : NULL;
}

/* Read one response; false on a closed/timed-out connection or bad syntax
 * (r->timeout tells a timeout from the rest). */
static bool read_response(conn *c, response *r)
{
    memset(r, 0, sizeof *r);
    char *end;
    int f;
    while (!(end = c->have >= 4 ? memmem(c->buf, c->have, "\r\n\r\n", 4) : NULL))
        if ((f = fill(c)) <= 0) {
            r->timeout = f < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
            return false;
        }
    size_t head = (size_t)(end - c->buf) + 4;
    if (sscanf(c->buf, "HTTP/1.1 %d", &r->status) != 1) return false;
    const char *cl = head_field(c->buf, head, "Content-Length: ");
    if (!cl) return false;
    r->len = strtoul(cl, NULL, 10);
    r->close = head_field(c->buf, head, "Connection: close") != NULL;
    const char *id = head_field(c->buf, head, "X-Request-Id: ");
    if (id) {
        size_t n = strcspn(id, "\r\n");
        if (n >= sizeof r->id) n = sizeof r->id - 1;
        memcpy(r->id, id, n);
    }
    while (c->have < head + r->len)
        if ((f = fill(c)) <= 0) {
            r->timeout = f < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
            return false;
        }
    r->body = malloc(r->len + 1);
    memcpy(r->body, c->buf + head, r->len);
    r->body[r->len] = '\0';
    memmove(c->buf, c->buf + head + r->len, c->have - head - r->len);
    c->have -= head + r->len;
    return true;
}

/* The bytes of one request (malloc'd). */
static char *format_request(const char *method, const char *path, const char *body, const char *extra_headers,
                            size_t *n)
{
    size_t blen = body ? strlen(body) : 0;
    char *s = malloc(blen + 512);
    if (!s) {
        perror("malloc");
        exit(1);
    }
    int h = snprintf(s, 512, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%zu\r\n\r\n", method, path,
                     extra_headers ? extra_headers : "",
                     body ? "Content-Type: application/json\r\nContent-Length: " : "Content-Length: ", blen);
    if (body) memcpy(s + h, body, blen);
    *n = (size_t)h + blen;
    return s;
}

static bool request(conn *c, const char *method, const char *path, const char *body, const char *extra_headers,
                    response *r)
{
    size_t n;
    char *s = format_request(method, path, body, extra_headers, &n);
    bool sent = send_all(c->fd, s, n);
    free(s);
    if (!sent) memset(r, 0, sizeof *r);
    return sent && read_response(c, r);
}

/* ------------------------------------------------------------------------ */
/* Orders with known answers                                                 */
/* ------------------------------------------------------------------------ */

typedef struct order {
    char *json;
    long long items, quantity;
    double total, max_price;
    char customer[32];
} order;

static void make_order(uint64_t seed, size_t nitems, order *o)
{
    uint64_t s = seed * 6364136223846793005u + 1442695040888963407u;
    json_t *items = json_array();
    o->items = (long long)nitems;
    o->quantity = 0;
    o->total = 0;
    o->max_price = 0;
    snprintf(o->customer, sizeof o->customer, "cust-%llu \"\xc3\xa9\"", (unsigned long long)seed);
    for (size_t i = 0; i < nitems; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        long long qty = (long long)((s >> 33) % 10);
        double price = (double)((s >> 13) % 100000) / 100.0; /* exact cents */
        json_array_append_new(items, json_pack("{s:I, s:I, s:f, s:s}", "sku", (json_int_t)((s >> 40) % 100000), "qty",
                                               (json_int_t)qty, "price", price, "note", "fragile, keep upright"));
        o->quantity += qty;
        o->total += (double)qty * price;
        if (price > o->max_price) o->max_price = price;
    }
    json_t *root = json_pack("{s:s, s:o, s:{s:s, s:b}}", "customer", o->customer, "items", items, "meta", "channel",
                             "web", "gift", (int)(seed % 2));
    o->json = json_dumps(root, JSON_COMPACT);
    json_decref(root);
}

static void check_order_answer(const order *o, const response *r, const char *where)
{
    CHECK(r->status == 200, "%s: status %d body %s", where, r->status, r->body);
    json_error_t err;
    json_t *a = json_loads(r->body ? r->body : "", 0, &err);
    CHECK(a != NULL, "%s: answer is not JSON: %s", where, r->body);
    if (!a) return;
    const char *customer = "";
    json_int_t items = -1, quantity = -1;
    double total = -1, max_price = -1;
    int scoped = -1;
    int rc = json_unpack(a, "{s:s, s:I, s:I, s:F, s:F, s:b}", "customer", &customer, "items", &items, "quantity",
                         &quantity, "total", &total, "max_price", &max_price, "scoped", &scoped);
    CHECK(rc == 0, "%s: answer has the wrong shape: %s", where, r->body);
    CHECK(strcmp(customer, o->customer) == 0, "%s: customer %s", where, customer);
    CHECK(items == o->items && quantity == o->quantity, "%s: items %lld quantity %lld", where, (long long)items,
          (long long)quantity);
    double tol = 1e-9 * (o->total > 1 ? o->total : 1);
    CHECK(total - o->total < tol && o->total - total < tol, "%s: total %.6f expected %.6f", where, total, o->total);
    CHECK(max_price == o->max_price, "%s: max_price %.2f expected %.2f", where, max_price, o->max_price);
    CHECK(scoped == (preloaded ? 1 : 0), "%s: scoped %d with preload %d", where, scoped, preloaded);
    json_decref(a);
}

/* The request id the workers send, and its check. */
static void check_id(const response *r, const char *id, const char *where)
{
    if (echo_id) CHECK(strcmp(r->id, id) == 0, "%s: X-Request-Id \"%s\", sent \"%s\"", where, r->id, id);
}

/* ------------------------------------------------------------------------ */
/* The load                                                                  */
/* ------------------------------------------------------------------------ */

/* A worker: `n` orders over its keep-alive connection(s): single requests,
 * pipelined runs (--pipeline) and Connection: close (--close-every). */
typedef struct worker_arg {
    int id, n;
    int done;     /* answered and checked */
    int timeouts; /* requests left unanswered */
} worker_arg;

static bool is_close_request(int i)
{
    return close_every > 0 && (i + 1) % close_every == 0;
}

static void *worker_main(void *p)
{
    worker_arg *w = p;
    conn c;
    char where[96];
    if (!conn_open(&c)) {
        CHECK(false, "worker %d: connect failed", w->id);
        conn_close(&c);
        return NULL;
    }
    int i = 0;
    bool alive = true;
    while (i < w->n && alive) {
        /* How many requests go in this write. */
        int k = 1;
        bool closing = is_close_request(i);
        if (!closing && pipeline_depth > 1 && (i / pipeline_depth) % 2 == 1) {
            k = pipeline_depth < w->n - i ? pipeline_depth : w->n - i;
            for (int j = 1; j < k; j++)
                if (is_close_request(i + j)) {
                    k = j;
                    break;
                }
        }
        order o[64];
        char ids[64][48];
        char *wire = NULL;
        size_t wlen = 0;
        for (int j = 0; j < k; j++) {
            make_order((uint64_t)w->id * 1000000 + (uint64_t)(i + j), 1 + (size_t)((i + j) % 40), &o[j]);
            snprintf(ids[j], sizeof ids[j], "w%d-%d", w->id, i + j);
            char extra[96];
            snprintf(extra, sizeof extra, "X-Request-Id: %.47s\r\n%s", ids[j], closing ? "Connection: close\r\n" : "");
            size_t n;
            char *one = format_request("POST", "/orders", o[j].json, extra, &n);
            char *nw = realloc(wire, wlen + n);
            if (!nw) {
                perror("realloc");
                exit(1);
            }
            wire = nw;
            memcpy(wire + wlen, one, n);
            wlen += n;
            free(one);
        }
        bool sent = send_all(c.fd, wire, wlen);
        free(wire);
        CHECK(sent, "worker %d request %d: send failed: %s", w->id, i, strerror(errno));
        for (int j = 0; j < k; j++) {
            snprintf(where, sizeof where, "worker %d order %d%s%s", w->id, i + j, k > 1 ? " (pipelined)" : "",
                     closing ? " (Connection: close)" : "");
            response r = {0};
            bool ok = sent && alive && read_response(&c, &r);
            if (sent && alive) {
                CHECK(ok, "%s: %s", where,
                      r.timeout ? "no answer within 10 s" : "no answer (connection closed or bad response)");
            }
            if (ok) {
                check_order_answer(&o[j], &r, where);
                check_id(&r, ids[j], where);
                if (closing) {
                    CHECK(r.close, "%s: no Connection: close in the answer", where);
                    char b;
                    CHECK(recv(c.fd, &b, 1, 0) == 0, "%s: server kept a closed connection open", where);
                } else {
                    CHECK(!r.close, "%s: server closed a keep-alive connection", where);
                }
                w->done++;
            } else {
                if (r.timeout) w->timeouts++;
                alive = false;
            }
            free(r.body);
            free(o[j].json);
        }
        i += k;
        if (closing && alive) {
            conn_close(&c);
            if (!conn_open(&c)) {
                CHECK(false, "worker %d: reconnect failed", w->id);
                alive = false;
            }
        }
    }
    conn_close(&c);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The server process                                                        */
/* ------------------------------------------------------------------------ */

static pid_t start_server(const char *path, char **server_args, int nargs, FILE **out)
{
    int pfd[2];
    if (pipe(pfd) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        /* A clean environment: no OFFHEAP_* setting reaches the server
         * unless HTTP_TEST_SERVER_ENV asks for it. */
        for (;;) {
            char **e = environ;
            while (*e && strncmp(*e, "OFFHEAP_", 8) != 0) e++;
            if (!*e) break;
            char name[128];
            size_t n = strcspn(*e, "=");
            if (n >= sizeof name) n = sizeof name - 1;
            memcpy(name, *e, n);
            name[n] = '\0';
            unsetenv(name);
        }
        const char *extra = getenv("HTTP_TEST_SERVER_ENV");
        if (extra && *extra) {
            char *copy = strdup(extra), *save = NULL;
            for (char *kv = strtok_r(copy, " ", &save); kv; kv = strtok_r(NULL, " ", &save))
                putenv(kv); /* copy is never freed: putenv keeps the strings */
        }
        /* Not an OFFHEAP_* name: the preload warns about unknown ones. */
        const char *pre = getenv("HTTP_TEST_PRELOAD");
        if (pre && *pre) setenv("LD_PRELOAD", pre, 1);
        char **argv = calloc((size_t)nargs + 4, sizeof *argv);
        argv[0] = (char *)path;
        argv[1] = "--port";
        argv[2] = "0";
        for (int i = 0; i < nargs; i++) argv[3 + i] = server_args[i];
        execv(path, argv);
        perror(path);
        _exit(127);
    }
    close(pfd[1]);
    *out = fdopen(pfd[0], "r");
    return pid;
}

/* Seconds of CPU the process has used (utime + stime), -1 if unknown. */
static double cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* after the command name */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_client: timed out (whole-test bound); killing the server\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    if (server_pid > 0) kill(server_pid, SIGKILL);
    _exit(3);
}

/* ------------------------------------------------------------------------ */

/* After the load: the server still answers (one connection, a few
 * requests).  Stops at the first request left unanswered. */
static int check_still_answers(int *sent)
{
    conn c;
    response r = {0};
    bool ok;
    if (!conn_open(&c)) {
        CHECK(false, "after the load: connect failed");
        conn_close(&c);
        return 1;
    }
    ok = request(&c, "GET", "/health", NULL, NULL, &r);
    CHECK(ok && r.status == 200 && strcmp(r.body, "{\"ok\":true}") == 0, "after the load: health: %s %d %s",
          r.timeout ? "timeout" : "", r.status, r.body);
    free(r.body);
    if (!ok) goto out;
    ++*sent;
    order a, b;
    make_order(777, 40, &a);
    ok = request(&c, "POST", "/orders", a.json, "X-Request-Id: after-1\r\n", &r);
    CHECK(ok, "after the load: order: %s", r.timeout ? "no answer within 10 s" : "no answer");
    if (ok) {
        check_order_answer(&a, &r, "after the load: order");
        check_id(&r, "after-1", "after the load: order");
        ++*sent;
    }
    free(r.body);
    free(a.json);
    if (!ok) goto out;
    /* A pipelined pair. */
    make_order(778, 7, &a);
    make_order(779, 13, &b);
    size_t n1, n2;
    char *s1 = format_request("POST", "/orders", a.json, NULL, &n1);
    char *s2 = format_request("POST", "/orders", b.json, NULL, &n2);
    char *two = malloc(n1 + n2);
    memcpy(two, s1, n1);
    memcpy(two + n1, s2, n2);
    CHECK(send_all(c.fd, two, n1 + n2), "after the load: pipelined send");
    ok = read_response(&c, &r);
    CHECK(ok, "after the load: pipelined 1: no answer");
    if (ok) {
        check_order_answer(&a, &r, "after the load: pipelined 1");
        ++*sent;
        free(r.body);
        ok = read_response(&c, &r);
        CHECK(ok, "after the load: pipelined 2: no answer");
        if (ok) {
            check_order_answer(&b, &r, "after the load: pipelined 2");
            ++*sent;
        }
    }
    free(r.body);
    free(s1);
    free(s2);
    free(two);
    free(a.json);
    free(b.json);
out:
    conn_close(&c);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    int nthreads = 4, timeout = 120;
    char *server_args[16];
    int nargs = 0;
    int ai = 1;
    for (; ai < argc && strncmp(argv[ai], "--", 2) == 0; ai++) {
        if (strcmp(argv[ai], "--threads") == 0 && ai + 1 < argc) nthreads = atoi(argv[++ai]);
        else if (strcmp(argv[ai], "--pipeline") == 0 && ai + 1 < argc) pipeline_depth = atoi(argv[++ai]);
        else if (strcmp(argv[ai], "--close-every") == 0 && ai + 1 < argc) close_every = atoi(argv[++ai]);
        else if (strcmp(argv[ai], "--echo-id") == 0) echo_id = true;
        else if (strcmp(argv[ai], "--server-arg") == 0 && ai + 1 < argc && nargs < 16)
            server_args[nargs++] = argv[++ai];
        else if (strcmp(argv[ai], "--timeout") == 0 && ai + 1 < argc) timeout = atoi(argv[++ai]);
        else break;
    }
    if (ai >= argc || nthreads < 1 || nthreads > 64 || pipeline_depth > 64 || timeout < 1) {
        fprintf(stderr,
                "usage: %s [--threads N] [--pipeline K] [--close-every N] [--echo-id]\n"
                "          [--server-arg ARG]... [--timeout S] SERVER [REQUESTS]\n",
                argv[0]);
        return 2;
    }
    const char *server = argv[ai];
    int total_orders = ai + 1 < argc ? atoi(argv[ai + 1]) : 400;
    if (total_orders < nthreads) total_orders = nthreads;
    const char *pre = getenv("HTTP_TEST_PRELOAD");
    preloaded = pre && *pre;
    signal(SIGALRM, on_alarm);
    alarm((unsigned)timeout); /* the whole test, whatever happens */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    FILE *out;
    pid_t pid = start_server(server, server_args, nargs, &out);
    if (pid < 0 || !out) {
        perror("start server");
        return 1;
    }
    server_pid = pid;
    char line[256] = "";
    if (!fgets(line, sizeof line, out) || sscanf(line, "listening on 127.0.0.1:%d", &port) != 1) {
        fprintf(stderr, "server did not start: %s\n", line);
        kill(pid, SIGKILL);
        return 1;
    }
    printf("server pid %d: %s", (int)pid, line);
    const char *env = getenv("HTTP_TEST_SERVER_ENV");
    if (env && *env) printf("server environment adds: %s\n", env);
    CHECK(strstr(line, preloaded ? "preload loaded" : "preload not loaded") != NULL, "%s", line);
    int sent = 0;

    conn c;
    response r = {0};
    CHECK(conn_open(&c), "connect");

    /* Simple routes and errors on one keep-alive connection. */
    CHECK(request(&c, "GET", "/health", NULL, NULL, &r) && r.status == 200 && strcmp(r.body, "{\"ok\":true}") == 0,
          "health: %d %s", r.status, r.body);
    free(r.body);
    CHECK(request(&c, "POST", "/orders", "{\"customer\": \"x\", \"items\": [1,", NULL, &r) && r.status == 400 &&
              strstr(r.body, "\"error\"") && strstr(r.body, "\"column\""),
          "bad json: %d %s", r.status, r.body);
    free(r.body);
    CHECK(request(&c, "POST", "/orders", "[1, 2, 3]", NULL, &r) && r.status == 422, "wrong shape: %d %s", r.status,
          r.body);
    free(r.body);
    CHECK(request(&c, "POST", "/orders", "{\"customer\":\"x\",\"items\":[{\"sku\":1}]}", NULL, &r) && r.status == 422 &&
              strstr(r.body, "item 0"),
          "bad item: %d %s", r.status, r.body);
    free(r.body);
    CHECK(request(&c, "GET", "/nope", NULL, NULL, &r) && r.status == 404, "404: %d", r.status);
    free(r.body);
    CHECK(request(&c, "GET", "/orders", NULL, NULL, &r) && r.status == 405, "405: %d", r.status);
    free(r.body);
    sent += 6;

    /* An empty order and a large one (~1 MiB body, many slabs' worth of
     * jansson nodes). */
    {
        order o;
        make_order(1, 0, &o);
        CHECK(request(&c, "POST", "/orders", o.json, NULL, &r), "empty order");
        check_order_answer(&o, &r, "empty order");
        free(r.body);
        free(o.json);
        make_order(2, 20000, &o);
        CHECK(strlen(o.json) > (1u << 20), "large order is %zu bytes", strlen(o.json));
        CHECK(request(&c, "POST", "/orders", o.json, NULL, &r), "large order");
        check_order_answer(&o, &r, "large order");
        free(r.body);
        free(o.json);
        sent += 2;
    }

    /* Pipelining: two requests in one write, two answers in order. */
    {
        order a, b;
        make_order(11, 3, &a);
        make_order(12, 5, &b);
        char *two = malloc(strlen(a.json) + strlen(b.json) + 512);
        if (!two) {
            perror("malloc");
            return 1;
        }
        sprintf(two,
                "POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n\r\n%s"
                "POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n\r\n%s",
                strlen(a.json), a.json, strlen(b.json), b.json);
        CHECK(send_all(c.fd, two, strlen(two)), "pipelined send");
        CHECK(read_response(&c, &r), "pipelined 1");
        check_order_answer(&a, &r, "pipelined 1");
        free(r.body);
        CHECK(read_response(&c, &r), "pipelined 2");
        check_order_answer(&b, &r, "pipelined 2");
        free(r.body);
        free(two);
        free(a.json);
        free(b.json);
        sent += 2;
    }
    conn_close(&c);

    /* Connection: close is honoured. */
    {
        CHECK(conn_open(&c), "connect 2");
        CHECK(request(&c, "GET", "/health", NULL, "Connection: close\r\n", &r) && r.status == 200 && r.close,
              "close: %d", r.status);
        free(r.body);
        char b;
        CHECK(recv(c.fd, &b, 1, 0) == 0, "server kept a closed connection open");
        conn_close(&c);
        sent += 1;
    }
    int before_load = failures;

    /* The load: nthreads clients on their own keep-alive connections. */
    pthread_t t[64];
    worker_arg w[64];
    int unanswered = 0;
    for (int i = 0; i < nthreads; i++) {
        w[i] = (worker_arg){i + 1, total_orders / nthreads + (i < total_orders % nthreads), 0, 0};
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < nthreads; i++) {
        pthread_join(t[i], NULL);
        CHECK(w[i].done == w[i].n, "worker %d answered %d of %d (%d left unanswered for 10 s)", i + 1, w[i].done,
              w[i].n, w[i].timeouts);
        sent += w[i].done;
        unanswered += w[i].timeouts;
    }
    printf("load: %d orders from %d threads%s%s, %d failed checks, %d requests unanswered\n", total_orders, nthreads,
           pipeline_depth > 1 ? ", pipelined runs" : "", close_every ? ", some Connection: close" : "",
           failures - before_load, unanswered);

    /* The server still answers correctly after the load. */
    int after_failed = check_still_answers(&sent);

    /* /stats: the server counted them all; with the preload, the handler's
     * allocations went to scopes. */
    if (!after_failed) {
        CHECK(conn_open(&c), "connect 3");
        bool ok = request(&c, "GET", "/stats", NULL, NULL, &r);
        CHECK(ok && r.status == 200, "stats");
        if (ok) sent += 1;
        json_t *s = json_loads(r.body ? r.body : "", 0, NULL);
        json_int_t reqs = -1, blocks = -1, scopes = -1;
        int loaded = -1;
        CHECK(s && json_unpack(s, "{s:I, s:b, s:I, s:I}", "requests", &reqs, "offheap_loaded", &loaded, "scopes",
                               &scopes, "scope_blocks", &blocks) == 0,
              "stats: %s", r.body);
        CHECK(reqs == sent, "stats: server counted %lld requests, we sent %d", (long long)reqs, sent);
        CHECK(loaded == preloaded, "stats: offheap_loaded %d", loaded);
        if (preloaded)
            CHECK(scopes >= total_orders && blocks > 10LL * total_orders,
                  "stats: %lld scopes, %lld scope blocks for %d orders", (long long)scopes, (long long)blocks,
                  total_orders);
        else CHECK(scopes == 0 && blocks == 0, "stats without preload: %s", r.body);
        printf("stats: %s\n", r.body);
        json_decref(s);
        free(r.body);
    } else {
        c.fd = -1;
        c.buf = NULL;
        printf("after the load: the server does not answer (CPU time so far %.1f s)\n", cpu_seconds(pid));
    }

    /* Stop it: SIGTERM with a connection still open, clean exit 0 within
     * 10 s. */
    kill(pid, SIGTERM);
    int status = 0;
    bool exited = false;
    for (int i = 0; i < 200 && !exited; i++) {
        pid_t p = waitpid(pid, &status, WNOHANG);
        if (p == pid) exited = true;
        else usleep(50000);
    }
    if (!exited) {
        double cpu = cpu_seconds(pid);
        CHECK(false, "server still running 10 s after SIGTERM (hung; %.1f s of CPU used): killed", cpu);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    conn_close(&c);
    if (exited) {
        if (WIFSIGNALED(status))
            CHECK(false, "server killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        else CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server exit status %d", WEXITSTATUS(status));
    }
    bool saw_served = false;
    while (fgets(line, sizeof line, out)) {
        printf("server: %s", line);
        int n;
        if (sscanf(line, "served %d requests", &n) == 1) {
            saw_served = true;
            CHECK(n == sent, "server served %d, we sent %d", n, sent);
        }
    }
    if (exited) CHECK(saw_served, "no final line from the server");
    fclose(out);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%s test (%s preload): %d requests answered, %d checks, %d failed, %.1f s\n",
           strrchr(server, '/') ? strrchr(server, '/') + 1 : server, preloaded ? "with" : "without", sent, checks,
           failures, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return failures ? 1 : 0;
}
