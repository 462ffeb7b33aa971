/* SPDX-License-Identifier: MIT */
/* pem.h — the battery's TLS identity: an ECDSA P-256 key and a self-signed
 * certificate for CN/DNS "battery.test", valid 2026-12-06 to 2126-11-12
 * (the programs also turn time checks off).  Made with
 *   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -days 36500 -nodes
 *     -subj /CN=battery.test -addext subjectAltName=DNS:battery.test
 * Test material only. */
#ifndef BATTERY_PEM_H
#define BATTERY_PEM_H

static const char key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgh20VochR+EnSwdM0\n"
    "AVVEdqAWecZH/adaaXv+ASJuACihRANCAASeCrhvhihgSk2WAJrpA+P/zQSQ9Q4u\n"
    "FOm/Sel4gowhiuZwVPf7xbsfdQIM0u8KukgtKTt0sPJlvh2dF8PT+CKt\n"
    "-----END PRIVATE KEY-----\n"
    ;
static const char cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBnzCCAUSgAwIBAgIUUvWRROX3XYLk8u0MUiJMBu0lePIwCgYIKoZIzj0EAwIw\n"
    "FzEVMBMGA1UEAwwMYmF0dGVyeS50ZXN0MCAXDTI2MTIwNjEzMjcxM1oYDzIxMjYx\n"
    "MTEyMTMyNzEzWjAXMRUwEwYDVQQDDAxiYXR0ZXJ5LnRlc3QwWTATBgcqhkjOPQIB\n"
    "BggqhkjOPQMBBwNCAASeCrhvhihgSk2WAJrpA+P/zQSQ9Q4uFOm/Sel4gowhiuZw\n"
    "VPf7xbsfdQIM0u8KukgtKTt0sPJlvh2dF8PT+CKto2wwajAdBgNVHQ4EFgQU7Pqh\n"
    "2Ab/3wepT9moPufh/gVkki8wHwYDVR0jBBgwFoAU7Pqh2Ab/3wepT9moPufh/gVk\n"
    "ki8wDwYDVR0TAQH/BAUwAwEB/zAXBgNVHREEEDAOggxiYXR0ZXJ5LnRlc3QwCgYI\n"
    "KoZIzj0EAwIDSQAwRgIhAJE0KhHEn2QzfmSTNYctrMjxZ0sZ5sqScas54T/GiVXm\n"
    "AiEA/3He8GlGHM04CgAtVV2FBrrxNADvLWuLbGKs8UaLXu8=\n"
    "-----END CERTIFICATE-----\n"
    ;

#endif /* BATTERY_PEM_H */
