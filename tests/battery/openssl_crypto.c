/* SPDX-License-Identifier: MIT */
/* OpenSSL libcrypto: HMAC through EVP_MAC (fetched by name), digests by
 * name and by the legacy getters, an AES-256-GCM round trip, a PBKDF2
 * derivation, base64, and RAND_bytes (only its success is printed). */
#include "battery.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

static const char *const mac_digests[] = {"SHA256", "SHA512", "SHA3-256", "SHA1"};
static const char *const md_names[] = {"SHA2-384", "BLAKE2b512", "SHA3-512", "MD5", "SHA512-256"};

static void request(int i, char *line, size_t cap)
{
    unsigned char msg[512];
    uint64_t st = (uint64_t)i * 7919 + 1;
    size_t msglen = 16 + (size_t)i % 480;
    for (size_t k = 0; k < msglen; k++) msg[k] = (unsigned char)bt_rand(&st);
    char hex[2 * EVP_MAX_MD_SIZE + 1];

    /* HMAC via EVP_MAC. */
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *mctx = EVP_MAC_CTX_new(mac);
    char digest[32];
    snprintf(digest, sizeof digest, "%s", mac_digests[i % 4]);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_END};
    unsigned char key[32];
    for (int k = 0; k < 32; k++) key[k] = (unsigned char)(i + k * 3);
    unsigned char out[EVP_MAX_MD_SIZE];
    size_t outlen = 0;
    int ok = EVP_MAC_init(mctx, key, sizeof key, params) && EVP_MAC_update(mctx, msg, msglen) &&
             EVP_MAC_final(mctx, out, &outlen, sizeof out);
    EVP_MAC_CTX_free(mctx);
    EVP_MAC_free(mac);
    bt_hex(hex, out, outlen > 16 ? 16 : outlen);
    bt_add(line, cap, "hmac-%s=%s%s", digest, ok ? "" : "FAILED:", hex);

    /* A digest fetched by name, and one through the legacy getter. */
    EVP_MD *md = EVP_MD_fetch(NULL, md_names[i % 5], NULL);
    unsigned int dlen = 0;
    ok = md && EVP_Digest(msg, msglen, out, &dlen, md, NULL);
    EVP_MD_free(md);
    bt_hex(hex, out, dlen > 16 ? 16 : dlen);
    bt_add(line, cap, " %s=%s%s", md_names[i % 5], ok ? "" : "FAILED:", hex);
    ok = EVP_Digest(msg, msglen, out, &dlen, EVP_sha256(), NULL);
    bt_hex(hex, out, 8);
    bt_add(line, cap, " sha256=%s%s", ok ? "" : "FAILED:", hex);

    /* AES-256-GCM round trip with AAD. */
    unsigned char iv[12], tag[16], ct[512 + 16], pt[512 + 16];
    for (int k = 0; k < 12; k++) iv[k] = (unsigned char)(i * 5 + k);
    int len = 0, ctlen = 0, ptlen = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    ok = EVP_EncryptInit_ex2(c, EVP_aes_256_gcm(), key, iv, NULL) &&
         EVP_EncryptUpdate(c, NULL, &len, (const unsigned char *)"aad", 3) &&
         EVP_EncryptUpdate(c, ct, &len, msg, (int)msglen);
    ctlen = len;
    ok = ok && EVP_EncryptFinal_ex(c, ct + ctlen, &len);
    ctlen += len;
    ok = ok && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
    EVP_CIPHER_CTX_free(c);
    c = EVP_CIPHER_CTX_new();
    EVP_CIPHER *gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL); /* by name this time */
    int dec = gcm && EVP_DecryptInit_ex2(c, gcm, key, iv, NULL) &&
              EVP_DecryptUpdate(c, NULL, &len, (const unsigned char *)"aad", 3) &&
              EVP_DecryptUpdate(c, pt, &len, ct, ctlen);
    ptlen = len;
    dec = dec && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) && EVP_DecryptFinal_ex(c, pt + ptlen, &len);
    ptlen += len;
    EVP_CIPHER_CTX_free(c);
    EVP_CIPHER_free(gcm);
    bt_hex(hex, tag, 16);
    bt_add(line, cap, " gcm=%s ct=%016llx tag=%s roundtrip=%s", ok ? "ok" : "FAILED",
           (unsigned long long)bt_fnv(ct, (size_t)ctlen), hex,
           dec && ptlen == (int)msglen && memcmp(pt, msg, msglen) == 0 ? "ok" : "FAILED");

    /* PBKDF2 through the KDF API. */
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "PBKDF2", NULL);
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
    unsigned int iter = 10 + (unsigned int)i % 20;
    char mdname[] = "SHA256";
    OSSL_PARAM kp[] = {OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, msg, 12),
                       OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, key, 16),
                       OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &iter),
                       OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, mdname, 0), OSSL_PARAM_END};
    unsigned char dk[20];
    ok = EVP_KDF_derive(kctx, dk, sizeof dk, kp);
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    bt_hex(hex, dk, 8);
    bt_add(line, cap, " pbkdf2=%s%s", ok > 0 ? "" : "FAILED:", hex);

    /* base64 of the tag. */
    unsigned char b64[64];
    int blen = EVP_EncodeBlock(b64, tag, 16);
    bt_add(line, cap, " b64=%.*s", blen, (const char *)b64);

    /* Randomness: only whether it worked. */
    unsigned char rnd[48];
    bt_add(line, cap, " rand=%s", RAND_bytes(rnd, 16 + i % 32) == 1 ? "ok" : "FAILED");
    if (ERR_peek_error()) bt_add(line, cap, " errors-queued");
    ERR_clear_error();
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    OPENSSL_cleanup();
    return 0;
}
