/* SPDX-License-Identifier: MIT */
/*
 * test_client — the http-server example's test.  Starts the server on
 * 127.0.0.1 with a free port (--port 0), sends a bounded number of requests,
 * checks every response, stops the server with SIGTERM and checks that it
 * exits cleanly.  Talks to 127.0.0.1 only.
 *
 *   test_client SERVER [REQUESTS]
 *
 * With HTTP_TEST_PRELOAD=/path/liboffheap.so in the environment the
 * server (only the server) runs with LD_PRELOAD set to it, and the test
 * also requires that the handler really ran in a scope: "scoped": true in
 * every answer and scope blocks counted in /stats.
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
    bool close; /* Connection: close */
    char *body; /* malloc'd, NUL-terminated */
    size_t len;
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

static bool fill(conn *c)
{
    if (c->have == c->cap) {
        char *nb = realloc(c->buf, c->cap * 2);
        if (!nb) return false;
        c->buf = nb;
        c->cap *= 2;
    }
    ssize_t r;
    do r = recv(c->fd, c->buf + c->have, c->cap - c->have, 0);
    while (r < 0 && errno == EINTR);
    if (r <= 0) return false;
    c->have += (size_t)r;
    return true;
}

/* Read one response; false on a closed/timed-out connection or bad syntax. */
static bool read_response(conn *c, response *r)
{
    memset(r, 0, sizeof *r);
    char *end;
    while (!(end = c->have >= 4 ? memmem(c->buf, c->have, "\r\n\r\n", 4) : NULL))
        if (!fill(c)) return false;
    size_t head = (size_t)(end - c->buf) + 4;
    if (sscanf(c->buf, "HTTP/1.1 %d", &r->status) != 1) return false;
    char *cl = memmem(c->buf, head, "Content-Length: ", 16);
    if (!cl) return false;
    r->len = strtoul(cl + 16, NULL, 10);
    r->close = memmem(c->buf, head, "Connection: close", 17) != NULL;
    while (c->have < head + r->len)
        if (!fill(c)) return false;
    r->body = malloc(r->len + 1);
    memcpy(r->body, c->buf + head, r->len);
    r->body[r->len] = '\0';
    memmove(c->buf, c->buf + head + r->len, c->have - head - r->len);
    c->have -= head + r->len;
    return true;
}

static bool request(conn *c, const char *method, const char *path, const char *body, const char *extra_headers,
                    response *r)
{
    size_t blen = body ? strlen(body) : 0;
    char head[512];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%zu\r\n\r\n", method, path,
                     extra_headers ? extra_headers : "",
                     body ? "Content-Type: application/json\r\nContent-Length: " : "Content-Length: ", blen);
    return send_all(c->fd, head, (size_t)n) && (!body || send_all(c->fd, body, blen)) && read_response(c, r);
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
    json_t *a = json_loads(r->body, 0, &err);
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

/* A worker: `n` orders over one keep-alive connection. */
typedef struct worker_arg {
    int id, n;
    int done;
} worker_arg;

static void *worker_main(void *p)
{
    worker_arg *w = p;
    conn c;
    if (!conn_open(&c)) {
        CHECK(false, "worker %d: connect failed", w->id);
        return NULL;
    }
    for (int i = 0; i < w->n; i++) {
        order o;
        make_order((uint64_t)w->id * 100000 + (uint64_t)i, 1 + (size_t)(i % 40), &o);
        response r;
        char where[64];
        snprintf(where, sizeof where, "worker %d order %d", w->id, i);
        bool ok = request(&c, "POST", "/orders", o.json, NULL, &r);
        CHECK(ok, "%s: no response", where);
        if (ok) {
            check_order_answer(&o, &r, where);
            CHECK(!r.close, "%s: server closed a keep-alive connection", where);
            w->done++;
        }
        free(r.body);
        free(o.json);
        if (!ok) break;
    }
    conn_close(&c);
    return NULL;
}

/* ------------------------------------------------------------------------ */

static pid_t start_server(const char *path, FILE **out)
{
    int pfd[2];
    if (pipe(pfd) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        /* Not an OFFHEAP_* name: the preload warns about unknown ones. */
        const char *pre = getenv("HTTP_TEST_PRELOAD");
        if (pre && *pre) setenv("LD_PRELOAD", pre, 1);
        execl(path, path, "--port", "0", (char *)NULL);
        perror(path);
        _exit(127);
    }
    close(pfd[1]);
    *out = fdopen(pfd[0], "r");
    return pid;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_client: timed out\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(3);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SERVER [REQUESTS]\n", argv[0]);
        return 2;
    }
    int total_orders = argc > 2 ? atoi(argv[2]) : 400;
    if (total_orders < 4) total_orders = 4;
    const char *pre = getenv("HTTP_TEST_PRELOAD");
    preloaded = pre && *pre;
    signal(SIGALRM, on_alarm);
    alarm(120); /* the whole test, whatever happens */

    FILE *out;
    pid_t pid = start_server(argv[1], &out);
    if (pid < 0 || !out) {
        perror("start server");
        return 1;
    }
    char line[256];
    if (!fgets(line, sizeof line, out) || sscanf(line, "listening on 127.0.0.1:%d", &port) != 1) {
        fprintf(stderr, "server did not start: %s\n", line);
        kill(pid, SIGKILL);
        return 1;
    }
    printf("server pid %d: %s", (int)pid, line);
    CHECK(strstr(line, preloaded ? "preload loaded" : "preload not loaded") != NULL, "%s", line);
    int sent = 0;

    conn c;
    response r;
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

    /* Concurrency: 4 clients on their own keep-alive connections. */
    enum { WORKERS = 4 };
    pthread_t t[WORKERS];
    worker_arg w[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        w[i] = (worker_arg){i + 1, total_orders / WORKERS, 0};
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(t[i], NULL);
        CHECK(w[i].done == w[i].n, "worker %d answered %d of %d", i + 1, w[i].done, w[i].n);
        sent += w[i].done;
    }

    /* /stats: the server counted them all; with the preload, the handler's
     * allocations went to scopes. */
    CHECK(conn_open(&c), "connect 3");
    CHECK(request(&c, "GET", "/stats", NULL, NULL, &r) && r.status == 200, "stats");
    sent += 1;
    {
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
    }

    /* Stop it: SIGTERM with a connection still open, clean exit 0. */
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    conn_close(&c);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server exit status %d", status);
    bool saw_served = false;
    while (fgets(line, sizeof line, out)) {
        printf("server: %s", line);
        int n;
        if (sscanf(line, "served %d requests", &n) == 1) {
            saw_served = true;
            CHECK(n == sent, "server served %d, we sent %d", n, sent);
        }
    }
    CHECK(saw_served, "no final line from the server");
    fclose(out);
    printf("http-server test (%s preload): %d requests, %d checks, %d failed\n", preloaded ? "with" : "without", sent,
           checks, failures);
    return failures ? 1 : 0;
}
