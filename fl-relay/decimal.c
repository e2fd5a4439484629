/* decimal.c — binary DECIMAL to text.
 *
 * The digits are stored in groups of nine, each in 4 big-endian bytes; the integer part's
 * leading group and the fraction's trailing group keep only the digits they need in 1-4
 * bytes (1-2 digits: 1 byte, 3-4: 2, 5-6: 3, 7-9: 4). The first byte has its top bit
 * flipped, and a negative number has every byte inverted. */
#include "fl-relay/decimal.h"

#include <stdbool.h>
#include <string.h>

static const uint8_t dig2bytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
static const uint32_t pow10[10] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};

size_t fl_decimal_bin_size(unsigned prec, unsigned scale)
{
    if (prec == 0 || prec > 81 || scale > prec) return 0;
    unsigned intg = prec - scale;
    return (intg / 9) * 4 + dig2bytes[intg % 9] + (scale / 9) * 4 + dig2bytes[scale % 9];
}

int fl_decimal_to_text(const uint8_t *p, unsigned prec, unsigned scale, char *text, uint32_t *bad_group)
{
    size_t size = fl_decimal_bin_size(prec, scale);
    unsigned intg = prec - scale;
    uint8_t b[48] = {0}; /* 81 digits take at most 9 full groups and 2 partial ones: 40 bytes */
    if (size == 0) {     /* not a valid precision/scale: the caller checks, this is a guard */
        *bad_group = 0;
        return -1;
    }
    memcpy(b, p, size);
    bool negative = !(b[0] & 0x80);
    b[0] ^= 0x80;
    if (negative)
        for (size_t i = 0; i < size; i++) b[i] = (uint8_t)~b[i];

    /* digit counts of the groups in order: leading partial, full, full, trailing partial */
    unsigned groups[16], ng = 0;
    if (intg % 9) groups[ng++] = intg % 9;
    for (unsigned i = 0; i < intg / 9; i++) groups[ng++] = 9;
    for (unsigned i = 0; i < scale / 9; i++) groups[ng++] = 9;
    if (scale % 9) groups[ng++] = scale % 9;

    char digits[96];
    size_t nd = 0, pos = 0;
    for (unsigned g = 0; g < ng; g++) {
        uint32_t v = 0;
        for (unsigned k = 0; k < dig2bytes[groups[g]]; k++) v = v << 8 | b[pos++];
        if (v >= pow10[groups[g]]) {
            *bad_group = v;
            return -1;
        }
        for (unsigned k = groups[g]; k-- > 0;) digits[nd++] = (char)('0' + (v / pow10[k]) % 10);
    }

    size_t tl = 0, first = 0;
    while (first + 1 < intg && digits[first] == '0') first++; /* keep one integer digit */
    bool zero = true;
    for (size_t i = 0; i < nd; i++)
        if (digits[i] != '0') zero = false;
    if (negative && !zero) text[tl++] = '-';
    if (intg == 0) {
        text[tl++] = '0';
    } else {
        memcpy(text + tl, digits + first, intg - first);
        tl += intg - first;
    }
    if (scale) {
        text[tl++] = '.';
        memcpy(text + tl, digits + intg, scale);
        tl += scale;
    }
    text[tl] = 0;
    return (int)tl;
}
