/* SPDX-License-Identifier: MIT */
/* OpenSSL libssl: per request, a server and a client context (ECDSA P-256
 * key and self-signed certificate embedded as PEM), a full TLS handshake
 * between them over a BIO pair in memory (TLS 1.3 or 1.2, several cipher
 * suites), certificate and host-name verification, a request and a
 * response each way, and both shutdowns. */
#include "battery.h"
#include "pem.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static const char *const tls12_ciphers[] = {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                                            "ECDHE-ECDSA-CHACHA20-POLY1305"};
static const char *const tls13_suites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                           "TLS_CHACHA20_POLY1305_SHA256"};

/* Drive both ends until neither wants to go on; 1 when both are done. */
static int handshake(SSL *client, SSL *server)
{
    int cdone = 0, sdone = 0;
    for (int round = 0; round < 100 && !(cdone && sdone); round++) {
        if (!cdone) {
            int r = SSL_do_handshake(client);
            if (r == 1) cdone = 1;
            else if (SSL_get_error(client, r) != SSL_ERROR_WANT_READ) return 0;
        }
        if (!sdone) {
            int r = SSL_do_handshake(server);
            if (r == 1) sdone = 1;
            else if (SSL_get_error(server, r) != SSL_ERROR_WANT_READ) return 0;
        }
    }
    return cdone && sdone;
}

static int transfer(SSL *from, SSL *to, const char *msg, int len, char *got, int cap)
{
    if (SSL_write(from, msg, len) != len) return -1;
    int total = 0;
    while (total < len) {
        int r = SSL_read(to, got + total, cap - total);
        if (r <= 0) return -1;
        total += r;
    }
    return total;
}

static void request(int i, char *line, size_t cap)
{
    BIO *kb = BIO_new_mem_buf(key_pem, -1), *cb = BIO_new_mem_buf(cert_pem, -1);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
    X509 *cert = PEM_read_bio_X509(cb, NULL, NULL, NULL);
    BIO_free(kb);
    BIO_free(cb);

    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    int v13 = i % 2 == 0;
    int version = v13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    SSL_CTX_set_min_proto_version(sctx, version);
    SSL_CTX_set_max_proto_version(sctx, version);
    SSL_CTX_set_min_proto_version(cctx, version);
    SSL_CTX_set_max_proto_version(cctx, version);
    if (v13) SSL_CTX_set_ciphersuites(cctx, tls13_suites[(i / 2) % 3]);
    else SSL_CTX_set_cipher_list(cctx, tls12_ciphers[(i / 2) % 3]);
    SSL_CTX_use_certificate(sctx, cert);
    SSL_CTX_use_PrivateKey(sctx, key);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), cert);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(cctx), X509_V_FLAG_NO_CHECK_TIME);
    SSL_CTX_set_session_cache_mode(sctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(sctx, SSL_OP_NO_TICKET);

    SSL *server = SSL_new(sctx), *client = SSL_new(cctx);
    BIO *cbio = NULL, *sbio = NULL;
    BIO_new_bio_pair(&cbio, 0, &sbio, 0);
    SSL_set_bio(client, cbio, cbio);
    SSL_set_bio(server, sbio, sbio);
    SSL_set_connect_state(client);
    SSL_set_accept_state(server);
    SSL_set_tlsext_host_name(client, "battery.test");
    SSL_set1_host(client, "battery.test");

    if (!handshake(client, server)) {
        unsigned long e = ERR_get_error();
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        bt_add(line, cap, "handshake FAILED: %s", buf);
    } else {
        char req[256], got[4096], resp[3000];
        int rlen = snprintf(req, sizeof req, "GET /item/%d HTTP/1.1\r\nHost: battery.test\r\n\r\n", i);
        int n1 = transfer(client, server, req, rlen, got, sizeof got);
        uint64_t h1 = bt_fnv(got, n1 > 0 ? (size_t)n1 : 0);
        int plen = 100 + (i * 37) % 2800;
        for (int k = 0; k < plen; k++) resp[k] = (char)('a' + (i + k) % 26);
        int n2 = transfer(server, client, resp, plen, got, sizeof got);
        int same = n2 == plen && memcmp(got, resp, (size_t)plen) == 0;
        bt_add(line, cap, "%s %s verify=%ld peer=%s req=%d/%016llx resp=%d %s", SSL_get_version(client),
               SSL_get_cipher_name(client), SSL_get_verify_result(client),
               SSL_get0_peer_certificate(client) ? "yes" : "no", n1, (unsigned long long)h1, n2,
               same ? "same" : "DIFFERENT");
        SSL_shutdown(client);
        SSL_shutdown(server);
        SSL_shutdown(client);
    }
    ERR_clear_error();
    SSL_free(client);
    SSL_free(server);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
    X509_free(cert);
    EVP_PKEY_free(key);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    OPENSSL_cleanup();
    return 0;
}
