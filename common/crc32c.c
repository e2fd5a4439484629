/* crc32c.c — CRC-32C (Castagnoli, reflected 0x82F63B78) and CRC-32 (reflected 0xEDB88320,
 * as zlib and the binlog use). Slicing-by-8 tables built once on first use; on x86-64 CPUs
 * with SSE4.2, CRC-32C uses the crc32 instruction (several times faster), and with PCLMULQDQ
 * CRC-32 folds 64 bytes at a time by carry-less multiplication, both chosen at run time.
 *
 * The folding: four 128-bit lanes of the message (the starting CRC xored into the first)
 * are each carried 512 bits on, as lo * (x^(512+32) mod P) ^ hi * (x^(512-32) mod P) in the
 * bit-reflected domain, and xored into the next 64 bytes; the lanes are then folded into one
 * with the 128-bit constants, and 16 bytes at a time after it. The 16 bytes left stand for
 * the whole prefix (the same remainder mod P), so the tables finish: their CRC from zero,
 * then the tail. */
#include "common/crc32c.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#include <wmmintrin.h>
#endif

static uint32_t tab_c[8][256], tab_z[8][256];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool have_sse42, have_pclmul;

static void build(uint32_t t[8][256], uint32_t poly)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
        t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int s = 1; s < 8; s++) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
}

static void init_tables(void)
{
    build(tab_c, 0x82F63B78u);
    build(tab_z, 0xEDB88320u);
#if defined(__x86_64__)
    __builtin_cpu_init();
    have_sse42 = __builtin_cpu_supports("sse4.2");
    have_pclmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
#endif
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p, size_t n)
{
    uint64_t c = (uint32_t)~crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}
#endif

static uint32_t crc_update(uint32_t t[8][256], uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n >= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
              t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__)
/* lane * (hi, lo constants) carried on and xored with next */
__attribute__((target("pclmul,sse4.1"))) static inline __m128i fold(__m128i lane, __m128i k, __m128i next)
{
    __m128i lo = _mm_clmulepi64_si128(lane, k, 0x00), hi = _mm_clmulepi64_si128(lane, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

__attribute__((target("pclmul,sse4.1"))) static uint32_t crc32_pclmul(uint32_t crc, const uint8_t *p, size_t n)
{
    if (n < 16) return crc_update(tab_z, crc, p, n);
    const __m128i k512 = _mm_set_epi64x(0x1c6e41596, 0x154442bd4); /* hi: x^(512-32), lo: x^(512+32) */
    const __m128i k128 = _mm_set_epi64x(0x0ccaa009e, 0x1751997d0); /* hi: x^(128-32), lo: x^(128+32) */
    __m128i x0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p), _mm_cvtsi32_si128((int)~crc));
    if (n >= 64) {
        __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16)), x2 = _mm_loadu_si128((const __m128i *)(p + 32)),
                x3 = _mm_loadu_si128((const __m128i *)(p + 48));
        p += 64;
        n -= 64;
        while (n >= 64) {
            x0 = fold(x0, k512, _mm_loadu_si128((const __m128i *)p));
            x1 = fold(x1, k512, _mm_loadu_si128((const __m128i *)(p + 16)));
            x2 = fold(x2, k512, _mm_loadu_si128((const __m128i *)(p + 32)));
            x3 = fold(x3, k512, _mm_loadu_si128((const __m128i *)(p + 48)));
            p += 64;
            n -= 64;
        }
        x0 = fold(fold(fold(x0, k128, x1), k128, x2), k128, x3);
    } else { /* one lane (most binlog events are this short) */
        p += 16;
        n -= 16;
    }
    while (n >= 16) {
        x0 = fold(x0, k128, _mm_loadu_si128((const __m128i *)p));
        p += 16;
        n -= 16;
    }
    uint8_t rest[16];
    _mm_storeu_si128((__m128i *)rest, x0);
    return crc_update(tab_z, crc_update(tab_z, 0xFFFFFFFFu, rest, 16), p, n);
}
#endif

uint32_t fl_crc32c(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&once, init_tables);
#if defined(__x86_64__)
    if (have_sse42) return crc32c_sse42(crc, data, len);
#endif
    return crc_update(tab_c, crc, data, len);
}

uint32_t fl_crc32c_portable(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&once, init_tables);
    return crc_update(tab_c, crc, data, len);
}

uint32_t fl_crc32(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&once, init_tables);
#if defined(__x86_64__)
    if (have_pclmul) return crc32_pclmul(crc, data, len);
#endif
    return crc_update(tab_z, crc, data, len);
}

uint32_t fl_crc32_portable(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&once, init_tables);
    return crc_update(tab_z, crc, data, len);
}
