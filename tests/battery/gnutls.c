/* SPDX-License-Identifier: MIT */
/* GnuTLS: per request, a TLS handshake between an in-memory client and
 * server (push/pull callbacks over two byte queues; TLS 1.3 or 1.2 by
 * priority string) with certificate verification and a message each way;
 * fast hash and HMAC; an AES-GCM AEAD round trip; base64; X.509 parsing of
 * the embedded certificate; and gnutls_rnd at the three levels (only the
 * lengths and success are printed).  Also built with 3 threads. */
#include "battery.h"
#include "pem.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

struct queue {
    unsigned char buf[65536];
    size_t head, tail;
};

struct end {
    struct queue *in, *out;
    gnutls_session_t s;
};

static ssize_t push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
    struct end *e = p;
    if (sizeof e->out->buf - e->out->tail < len) {
        gnutls_transport_set_errno(e->s, ENOMEM);
        return -1;
    }
    memcpy(e->out->buf + e->out->tail, data, len);
    e->out->tail += len;
    return (ssize_t)len;
}

static ssize_t pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
    struct end *e = p;
    size_t have = e->in->tail - e->in->head;
    if (have == 0) {
        gnutls_transport_set_errno(e->s, EAGAIN);
        return -1;
    }
    if (len > have) len = have;
    memcpy(data, e->in->buf + e->in->head, len);
    e->in->head += len;
    if (e->in->head == e->in->tail) e->in->head = e->in->tail = 0;
    return (ssize_t)len;
}

static const char *const priorities[] = {
    "NORMAL:-VERS-ALL:+VERS-TLS1.3",
    "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM",
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305",
    "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM",
};

static void tls(int i, char *line, size_t cap)
{
    gnutls_datum_t key = {(unsigned char *)key_pem, sizeof key_pem - 1};
    gnutls_datum_t cert = {(unsigned char *)cert_pem, sizeof cert_pem - 1};
    gnutls_certificate_credentials_t scred, ccred;
    gnutls_certificate_allocate_credentials(&scred);
    gnutls_certificate_allocate_credentials(&ccred);
    int r = gnutls_certificate_set_x509_key_mem(scred, &cert, &key, GNUTLS_X509_FMT_PEM);
    gnutls_certificate_set_x509_trust_mem(ccred, &cert, GNUTLS_X509_FMT_PEM);
    gnutls_certificate_set_verify_flags(ccred, GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
                                                   GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS);

    static __thread struct queue c2s, s2c; /* 128 KiB: not on the stack */
    c2s.head = c2s.tail = s2c.head = s2c.tail = 0;
    struct end se = {&c2s, &s2c, NULL}, ce = {&s2c, &c2s, NULL};
    gnutls_init(&se.s, GNUTLS_SERVER | GNUTLS_NONBLOCK);
    gnutls_init(&ce.s, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
    const char *prio = priorities[i % 4];
    gnutls_priority_set_direct(se.s, prio, NULL);
    gnutls_priority_set_direct(ce.s, prio, NULL);
    gnutls_credentials_set(se.s, GNUTLS_CRD_CERTIFICATE, scred);
    gnutls_credentials_set(ce.s, GNUTLS_CRD_CERTIFICATE, ccred);
    gnutls_server_name_set(ce.s, GNUTLS_NAME_DNS, "battery.test", strlen("battery.test"));
    gnutls_session_set_verify_cert(ce.s, "battery.test", 0);
    struct end *ends[2] = {&ce, &se};
    for (int k = 0; k < 2; k++) {
        gnutls_transport_set_ptr(ends[k]->s, ends[k]);
        gnutls_transport_set_push_function(ends[k]->s, push);
        gnutls_transport_set_pull_function(ends[k]->s, pull);
    }
    int cdone = 0, sdone = 0, err = 0;
    for (int round = 0; round < 100 && !(cdone && sdone) && !err; round++) {
        if (!cdone) {
            int rc = gnutls_handshake(ce.s);
            if (rc == 0) cdone = 1;
            else if (gnutls_error_is_fatal(rc)) err = rc;
        }
        if (!sdone && !err) {
            int rc = gnutls_handshake(se.s);
            if (rc == 0) sdone = 1;
            else if (gnutls_error_is_fatal(rc)) err = rc;
        }
    }
    if (r < 0 || err || !cdone || !sdone) {
        bt_add(line, cap, "handshake FAILED: %s", gnutls_strerror(err ? err : r));
    } else {
        char msg[2048], got[4096];
        int len = 50 + (i * 29) % 1900;
        for (int k = 0; k < len; k++) msg[k] = (char)('A' + (i * 3 + k) % 26);
        ssize_t w = gnutls_record_send(ce.s, msg, (size_t)len);
        ssize_t total = 0;
        while (w == len && total < len) {
            ssize_t n = gnutls_record_recv(se.s, got + total, sizeof got - (size_t)total);
            if (n <= 0) break;
            total += n;
        }
        int same = total == len && memcmp(got, msg, (size_t)len) == 0;
        w = gnutls_record_send(se.s, got, (size_t)total);
        ssize_t back = w > 0 ? gnutls_record_recv(ce.s, got, sizeof got) : -1;
        char *desc = gnutls_session_get_desc(ce.s);
        bt_add(line, cap, "%s verify=%u sent=%d %s back=%zd", desc ? desc : "?", gnutls_session_get_verify_cert_status(ce.s),
               len, same ? "same" : "DIFFERENT", back);
        gnutls_free(desc);
        gnutls_bye(ce.s, GNUTLS_SHUT_WR);
        gnutls_bye(se.s, GNUTLS_SHUT_WR);
    }
    gnutls_deinit(ce.s);
    gnutls_deinit(se.s);
    gnutls_certificate_free_credentials(scred);
    gnutls_certificate_free_credentials(ccred);
}

static void request(int i, char *line, size_t cap)
{
    tls(i, line, cap);

    unsigned char msg[700];
    uint64_t st = (uint64_t)i * 31 + 7;
    size_t len = 1 + (size_t)i % 690;
    for (size_t k = 0; k < len; k++) msg[k] = (unsigned char)bt_rand(&st);
    unsigned char out[64];
    char hex[129];
    gnutls_digest_algorithm_t algs[] = {GNUTLS_DIG_SHA256, GNUTLS_DIG_SHA512, GNUTLS_DIG_SHA3_256, GNUTLS_DIG_SHA1};
    gnutls_digest_algorithm_t a = algs[i % 4];
    gnutls_hash_fast(a, msg, len, out);
    bt_hex(hex, out, 12);
    bt_add(line, cap, " %s=%s", gnutls_digest_get_name(a), hex);
    gnutls_hmac_fast(GNUTLS_MAC_SHA256, "key", 3, msg, len, out);
    bt_hex(hex, out, 12);
    bt_add(line, cap, " hmac=%s", hex);

    /* AEAD round trip. */
    unsigned char kb[16], nonce[12], ct[800], pt[800];
    for (int k = 0; k < 16; k++) kb[k] = (unsigned char)(i ^ k);
    for (int k = 0; k < 12; k++) nonce[k] = (unsigned char)(i + k);
    gnutls_datum_t kd = {kb, 16};
    gnutls_aead_cipher_hd_t h;
    size_t ctlen = sizeof ct, ptlen = sizeof pt;
    int ok = gnutls_aead_cipher_init(&h, GNUTLS_CIPHER_AES_128_GCM, &kd) == 0 &&
             gnutls_aead_cipher_encrypt(h, nonce, 12, "hdr", 3, 16, msg, len, ct, &ctlen) == 0 &&
             gnutls_aead_cipher_decrypt(h, nonce, 12, "hdr", 3, 16, ct, ctlen, pt, &ptlen) == 0 && ptlen == len &&
             memcmp(pt, msg, len) == 0;
    gnutls_aead_cipher_deinit(h);
    bt_add(line, cap, " aead=%s ct=%016llx", ok ? "ok" : "FAILED", (unsigned long long)bt_fnv(ct, ctlen));

    gnutls_datum_t raw = {msg, (unsigned int)(len < 40 ? len : 40)}, b64 = {NULL, 0};
    gnutls_base64_encode2(&raw, &b64);
    bt_add(line, cap, " b64=%.*s", (int)b64.size, b64.data);
    gnutls_free(b64.data);

    /* X.509 parsing. */
    gnutls_x509_crt_t crt;
    gnutls_datum_t cd = {(unsigned char *)cert_pem, sizeof cert_pem - 1};
    gnutls_x509_crt_init(&crt);
    gnutls_datum_t dn = {NULL, 0};
    if (gnutls_x509_crt_import(crt, &cd, GNUTLS_X509_FMT_PEM) == 0 && gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0)
        bt_add(line, cap, " dn=%s host=%d", dn.data, gnutls_x509_crt_check_hostname(crt, i % 3 ? "battery.test" : "other.test"));
    gnutls_free(dn.data);
    gnutls_x509_crt_deinit(crt);

    /* Randomness at each level: lengths and status only. */
    unsigned char rnd[64];
    int r1 = gnutls_rnd(GNUTLS_RND_NONCE, rnd, 8 + (size_t)i % 50);
    int r2 = gnutls_rnd(GNUTLS_RND_RANDOM, rnd, 16);
    int r3 = gnutls_rnd(GNUTLS_RND_KEY, rnd, 32);
    bt_add(line, cap, " rnd=%d/%d/%d", r1, r2, r3);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
