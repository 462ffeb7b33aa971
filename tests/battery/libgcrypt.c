/* SPDX-License-Identifier: MIT */
/* libgcrypt: initialisation (once, by the first request that gets there),
 * one-shot digests, HMAC through a handle, AES-GCM and ChaCha20-Poly1305
 * round trips, PBKDF2, big-number arithmetic, S-expressions, and
 * gcry_randomize / gcry_create_nonce (only lengths and success printed).
 * Also built with 3 threads. */
#include "battery.h"

#include <gcrypt.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_ok;

static void init(void)
{
    init_ok = gcry_check_version("1.8.0") != NULL;
    gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
}

static void request(int i, char *line, size_t cap)
{
    pthread_once(&once, init);
    if (!init_ok) {
        bt_add(line, cap, "gcry_check_version FAILED");
        return;
    }
    unsigned char msg[600];
    uint64_t st = (uint64_t)i * 977 + 3;
    size_t len = 1 + (size_t)i % 590;
    for (size_t k = 0; k < len; k++) msg[k] = (unsigned char)bt_rand(&st);
    char hex[129];
    unsigned char out[64];

    int algos[] = {GCRY_MD_SHA256, GCRY_MD_SHA3_512, GCRY_MD_BLAKE2B_512, GCRY_MD_SHA1, GCRY_MD_SM3};
    int a = algos[i % 5];
    gcry_md_hash_buffer(a, out, msg, len);
    bt_hex(hex, out, 12);
    bt_add(line, cap, "%s=%s", gcry_md_algo_name(a), hex);

    gcry_md_hd_t md;
    gcry_error_t e = gcry_md_open(&md, GCRY_MD_SHA512, GCRY_MD_FLAG_HMAC);
    if (!e) e = gcry_md_setkey(md, msg, len < 32 ? len : 32);
    if (!e) {
        gcry_md_write(md, msg, len);
        bt_hex(hex, gcry_md_read(md, GCRY_MD_SHA512), 12);
        bt_add(line, cap, " hmac=%s", hex);
        gcry_md_close(md);
    } else {
        bt_add(line, cap, " hmac FAILED: %s", gcry_strerror(e));
    }

    /* AEAD round trips. */
    int ciphers[][2] = {{GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM}, {GCRY_CIPHER_CHACHA20, GCRY_CIPHER_MODE_POLY1305}};
    int c = i % 2;
    unsigned char key[32], iv[12], ct[600], pt[600], tag[16];
    for (int k = 0; k < 32; k++) key[k] = (unsigned char)(i * 7 + k);
    for (int k = 0; k < 12; k++) iv[k] = (unsigned char)(i + 3 * k);
    gcry_cipher_hd_t h;
    int ok = gcry_cipher_open(&h, ciphers[c][0], ciphers[c][1], 0) == 0;
    ok = ok && gcry_cipher_setkey(h, key, 32) == 0 && gcry_cipher_setiv(h, iv, 12) == 0 &&
         gcry_cipher_authenticate(h, "aad", 3) == 0 && gcry_cipher_encrypt(h, ct, len, msg, len) == 0 &&
         gcry_cipher_gettag(h, tag, 16) == 0;
    ok = ok && gcry_cipher_reset(h) == 0 && gcry_cipher_setiv(h, iv, 12) == 0 &&
         gcry_cipher_authenticate(h, "aad", 3) == 0 && gcry_cipher_decrypt(h, pt, len, ct, len) == 0 &&
         gcry_cipher_checktag(h, tag, 16) == 0 && memcmp(pt, msg, len) == 0;
    gcry_cipher_close(h);
    bt_hex(hex, tag, 16);
    bt_add(line, cap, " %s=%s tag=%s", c ? "chacha20-poly1305" : "aes256-gcm", ok ? "ok" : "FAILED", hex);

    unsigned char dk[24];
    gpg_error_t ke = gcry_kdf_derive(msg, len < 16 ? len : 16, GCRY_KDF_PBKDF2, GCRY_MD_SHA256, key, 16,
                                     10 + (unsigned long)i % 30, sizeof dk, dk);
    bt_hex(hex, dk, 10);
    bt_add(line, cap, " pbkdf2=%s", ke ? "FAILED" : hex);

    /* Big numbers: (i+2)^(65537) mod a fixed prime-ish modulus. */
    gcry_mpi_t base = gcry_mpi_set_ui(NULL, (unsigned long)i + 2), expo = gcry_mpi_set_ui(NULL, 65537), mod = NULL,
               res = gcry_mpi_new(0);
    gcry_mpi_scan(&mod, GCRYMPI_FMT_HEX, "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF", 0, NULL);
    gcry_mpi_powm(res, base, expo, mod);
    unsigned char *mhex = NULL;
    gcry_mpi_aprint(GCRYMPI_FMT_HEX, &mhex, NULL, res);
    bt_add(line, cap, " powm=%.16s nbits=%u", mhex ? (char *)mhex : "?", gcry_mpi_get_nbits(res));
    gcry_free(mhex);
    gcry_mpi_release(base);
    gcry_mpi_release(expo);
    gcry_mpi_release(mod);
    gcry_mpi_release(res);

    /* S-expressions. */
    gcry_sexp_t sx = NULL;
    e = gcry_sexp_build(&sx, NULL, "(request (id %d) (name %s) (blob %b))", i, "battery", (int)(len < 8 ? len : 8), msg);
    if (!e) {
        char buf[256];
        size_t n = gcry_sexp_sprint(sx, GCRYSEXP_FMT_CANON, buf, sizeof buf);
        gcry_sexp_t idx = gcry_sexp_find_token(sx, "id", 0);
        bt_add(line, cap, " sexp=%zu/%016llx id=%s", n, (unsigned long long)bt_fnv(buf, n),
               idx ? "found" : "missing");
        gcry_sexp_release(idx);
        gcry_sexp_release(sx);
    }

    /* Randomness: lengths only. */
    unsigned char rnd[64];
    gcry_randomize(rnd, 16 + (size_t)i % 48, GCRY_STRONG_RANDOM);
    gcry_create_nonce(rnd, 12);
    void *r = gcry_random_bytes(24, GCRY_WEAK_RANDOM);
    bt_add(line, cap, " random=%s", r ? "ok" : "FAILED");
    gcry_free(r);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
