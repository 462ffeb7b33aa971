/* SPDX-License-Identifier: MIT */
/* libsodium: sodium_init (every request: it is idempotent), keyed BLAKE2b,
 * secretbox, XChaCha20-Poly1305, Ed25519 from a seed (sign + verify),
 * crypto_box from seeded key pairs, key derivation, hex/base64 helpers,
 * sodium_malloc'd guarded memory, and randombytes (lengths only). */
#include "battery.h"

#include <sodium.h>

static void request(int i, char *line, size_t cap)
{
    int init = sodium_init();
    if (init < 0) {
        bt_add(line, cap, "sodium_init FAILED");
        return;
    }
    unsigned char msg[500];
    uint64_t st = (uint64_t)i * 12345 + 1;
    size_t len = 1 + (size_t)i % 490;
    for (size_t k = 0; k < len; k++) msg[k] = (unsigned char)bt_rand(&st);
    char hex[200];
    unsigned char key[32], seed[32];
    for (int k = 0; k < 32; k++) {
        key[k] = (unsigned char)(i + k);
        seed[k] = (unsigned char)(i * 3 + k * 5);
    }

    unsigned char h[32];
    crypto_generichash(h, sizeof h, msg, len, key, 16 + (size_t)i % 16);
    sodium_bin2hex(hex, sizeof hex, h, 12);
    bt_add(line, cap, "blake2b=%s", hex);

    unsigned char nonce[crypto_secretbox_NONCEBYTES] = {0};
    nonce[0] = (unsigned char)i;
    unsigned char *box = malloc(len + crypto_secretbox_MACBYTES), *open = malloc(len);
    crypto_secretbox_easy(box, msg, len, nonce, key);
    int ok = crypto_secretbox_open_easy(open, box, len + crypto_secretbox_MACBYTES, nonce, key) == 0 &&
             memcmp(open, msg, len) == 0;
    bt_add(line, cap, " secretbox=%s/%016llx", ok ? "ok" : "FAILED",
           (unsigned long long)bt_fnv(box, len + crypto_secretbox_MACBYTES));
    free(box);

    unsigned char xn[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES] = {1, 2, 3};
    xn[5] = (unsigned char)(i >> 3);
    unsigned char ct[500 + crypto_aead_xchacha20poly1305_ietf_ABYTES];
    unsigned long long ctlen = 0, ptlen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &ctlen, msg, len, (const unsigned char *)"ad", 2, NULL, xn, key);
    ok = crypto_aead_xchacha20poly1305_ietf_decrypt(open, &ptlen, NULL, ct, ctlen, (const unsigned char *)"ad", 2, xn,
                                                    key) == 0 &&
         ptlen == len && memcmp(open, msg, len) == 0;
    bt_add(line, cap, " xchacha=%s/%016llx", ok ? "ok" : "FAILED", (unsigned long long)bt_fnv(ct, (size_t)ctlen));
    free(open);

    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], sig[crypto_sign_BYTES];
    crypto_sign_seed_keypair(pk, sk, seed);
    crypto_sign_detached(sig, NULL, msg, len, sk);
    sodium_bin2hex(hex, sizeof hex, sig, 10);
    bt_add(line, cap, " ed25519=%s verify=%d", hex, crypto_sign_verify_detached(sig, msg, len, pk));

    unsigned char apk[crypto_box_PUBLICKEYBYTES], ask[crypto_box_SECRETKEYBYTES], bpk[crypto_box_PUBLICKEYBYTES],
        bsk[crypto_box_SECRETKEYBYTES];
    crypto_box_seed_keypair(apk, ask, seed);
    crypto_box_seed_keypair(bpk, bsk, key);
    unsigned char bn[crypto_box_NONCEBYTES] = {9};
    unsigned char bc[64 + crypto_box_MACBYTES], bp[64];
    size_t bl = len < 64 ? len : 64;
    ok = crypto_box_easy(bc, msg, bl, bn, bpk, ask) == 0 && crypto_box_open_easy(bp, bc, bl + crypto_box_MACBYTES, bn, apk, bsk) == 0 && memcmp(bp, msg, bl) == 0;
    bt_add(line, cap, " box=%s/%016llx", ok ? "ok" : "FAILED", (unsigned long long)bt_fnv(bc, bl + crypto_box_MACBYTES));

    unsigned char sub[32];
    crypto_kdf_derive_from_key(sub, sizeof sub, (uint64_t)i, "battery_", key);
    char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE)];
    sodium_bin2base64(b64, sizeof b64, sub, 18, sodium_base64_VARIANT_URLSAFE);
    bt_add(line, cap, " kdf=%s", b64);

    /* Guarded allocations (pages + canary, mprotect'd). */
    unsigned char *secret = sodium_malloc(100 + (size_t)i % 4000);
    if (secret) {
        memcpy(secret, key, 32);
        sodium_mprotect_readonly(secret);
        bt_add(line, cap, " guarded=%d", secret[0] == key[0]);
        sodium_mprotect_readwrite(secret);
        sodium_memzero(secret, 32);
        sodium_free(secret);
    }

    unsigned char rnd[64];
    randombytes_buf(rnd, 8 + (size_t)i % 56);
    uint32_t u = randombytes_uniform(1000);
    bt_add(line, cap, " random=%s init=%d", u < 1000 ? "ok" : "FAILED", init);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
