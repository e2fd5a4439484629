/* cluster_slots.c — Redis Cluster key slots (see cluster_slots.h). The CRC goes a byte at a
 * time through a table built once on first use from the polynomial (every key an applier
 * writes is hashed, so this is on its hot path). */
#include "fl-apply/cluster_slots.h"

#include <pthread.h>
#include <string.h>

static uint16_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void build_crc_table(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint16_t crc = (uint16_t)(i << 8);
        for (int b = 0; b < 8; b++) crc = crc & 0x8000 ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
        crc_table[i] = crc;
    }
}

uint16_t fl_cluster_crc16(const void *data, size_t n)
{
    pthread_once(&crc_once, build_crc_table);
    const unsigned char *p = data;
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) crc = (uint16_t)((crc << 8) ^ crc_table[(crc >> 8) ^ p[i]]);
    return crc;
}

uint16_t fl_cluster_key_slot(const char *key, size_t n)
{
    const char *open = memchr(key, '{', n);
    if (open) {
        size_t rest = n - (size_t)(open - key) - 1;
        const char *close = memchr(open + 1, '}', rest);
        if (close && close > open + 1)
            return fl_cluster_crc16(open + 1, (size_t)(close - open - 1)) % FL_CLUSTER_SLOTS;
    }
    return fl_cluster_crc16(key, n) % FL_CLUSTER_SLOTS;
}

void fl_cluster_slot_tags(char (*tags)[FL_CLUSTER_TAG_MAX])
{
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const size_t na = sizeof alphabet - 1;
    size_t found = 0;
    for (size_t s = 0; s < FL_CLUSTER_SLOTS; s++) tags[s][0] = 0;
    /* every string of 1, 2, then 3 characters, shortest first: 62^3 cover every slot */
    for (size_t len = 1; len < FL_CLUSTER_TAG_MAX && found < FL_CLUSTER_SLOTS; len++) {
        size_t total = 1;
        for (size_t i = 0; i < len; i++) total *= na;
        for (size_t v = 0; v < total && found < FL_CLUSTER_SLOTS; v++) {
            char t[FL_CLUSTER_TAG_MAX];
            size_t x = v;
            for (size_t i = 0; i < len; i++, x /= na) t[i] = alphabet[x % na];
            t[len] = 0;
            uint16_t slot = fl_cluster_crc16(t, len) % FL_CLUSTER_SLOTS;
            if (tags[slot][0]) continue;
            memcpy(tags[slot], t, len + 1);
            found++;
        }
    }
}
