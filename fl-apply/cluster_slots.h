/* cluster_slots.h — Redis Cluster key hashing: the slot of a key (CRC16/XMODEM of the key, or
 * of its hash tag: the bytes between the first '{' and the next '}' when there are any, modulo
 * 16384), and for every slot one short tag that hashes to it, so that a key "...{TAG}" can be
 * placed in any chosen slot. */
#ifndef FL_CLUSTER_SLOTS_H
#define FL_CLUSTER_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#define FL_CLUSTER_SLOTS 16384
#define FL_CLUSTER_TAG_MAX 4 /* longest tag fl_cluster_slot_tags finds, with its NUL */

/* CRC16/XMODEM (polynomial 0x1021, initial value 0), as the cluster specification defines. */
uint16_t fl_cluster_crc16(const void *data, size_t n);
/* The slot of key[0..n). */
uint16_t fl_cluster_key_slot(const char *key, size_t n);
/* Fills tags[s] with a short string (no '{' or '}') whose slot is s, for every slot. */
void fl_cluster_slot_tags(char (*tags)[FL_CLUSTER_TAG_MAX]);

#endif
