/* crc32c.h — CRC-32C (Castagnoli) for journal records, and CRC-32 (ISO-HDLC) for binlog events. */
#ifndef FL_CRC32C_H
#define FL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t fl_crc32c(uint32_t crc, const void *data, size_t len); /* start with crc = 0 */
/* The table-driven CRC-32C, whatever the CPU offers (tests compare the two). */
uint32_t fl_crc32c_portable(uint32_t crc, const void *data, size_t len);
uint32_t fl_crc32(uint32_t crc, const void *data, size_t len);          /* zlib-compatible; start with 0 */
uint32_t fl_crc32_portable(uint32_t crc, const void *data, size_t len); /* table-driven CRC-32 */

#endif
