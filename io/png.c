/* PNG writer: 8-bit RGB, no filtering, zlib stream of stored (uncompressed)
 * deflate blocks. Larger than a compressed PNG, but exact and dependency-free. */
#include <stdlib.h>
#include <string.h>

#include "../src/error.h"
#include "atomic_file.h"
#include "image.h"

uint32_t crc32_update(uint32_t crc, const uint8_t *data, size_t n) {
  static uint32_t table[256];
  if (!table[1])
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
  crc = ~crc;
  for (size_t i = 0; i < n; i++) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void chunk(FILE *f, const char *type, const uint8_t *data, uint32_t n) {
  uint8_t head[8];
  put32(head, n);
  memcpy(head + 4, type, 4);
  fwrite(head, 1, 8, f);
  if (n) fwrite(data, 1, n, f);
  uint32_t crc = crc32_update(crc32_update(0, (const uint8_t *)type, 4), data, n);
  uint8_t tail[4];
  put32(tail, crc);
  fwrite(tail, 1, 4, f);
}

void png_write(const char *path, const uint8_t *rgb, int width, int height) {
  size_t row = (size_t)width * 3 + 1, raw_len = row * (size_t)height;
  uint8_t *raw = lola_malloc(raw_len, "PNG rows");
  for (int y = 0; y < height; y++) {
    raw[y * row] = 0; /* filter: none */
    memcpy(raw + y * row + 1, rgb + (size_t)y * width * 3, (size_t)width * 3);
  }
  size_t blocks = (raw_len + 65534) / 65535;
  size_t z_len = 2 + raw_len + 5 * (blocks ? blocks : 1) + 4;
  uint8_t *z = lola_malloc(z_len, "PNG zlib stream"), *w = z;
  *w++ = 0x78, *w++ = 0x01; /* deflate, 32K window, no dictionary */
  uint32_t a = 1, b = 0;    /* Adler-32 */
  for (size_t off = 0; off < raw_len || off == 0; off += 65535) {
    size_t n = raw_len - off < 65535 ? raw_len - off : 65535;
    *w++ = off + n >= raw_len ? 1 : 0; /* BFINAL, BTYPE = stored */
    *w++ = (uint8_t)n, *w++ = (uint8_t)(n >> 8), *w++ = (uint8_t)~n, *w++ = (uint8_t)(~n >> 8);
    memcpy(w, raw + off, n);
    for (size_t i = 0; i < n; i++) {
      a = (a + raw[off + i]) % 65521;
      b = (b + a) % 65521;
    }
    w += n;
    if (raw_len == 0) break;
  }
  put32(w, (b << 16) | a);
  w += 4;
  uint8_t ihdr[13];
  put32(ihdr, (uint32_t)width);
  put32(ihdr + 4, (uint32_t)height);
  ihdr[8] = 8, ihdr[9] = 2, ihdr[10] = 0, ihdr[11] = 0, ihdr[12] = 0; /* 8-bit RGB */
  atomic_file af;
  atomic_open(&af, path);
  fwrite("\x89PNG\r\n\x1a\n", 1, 8, af.fp);
  chunk(af.fp, "IHDR", ihdr, 13);
  chunk(af.fp, "IDAT", z, (uint32_t)(w - z));
  chunk(af.fp, "IEND", NULL, 0);
  atomic_commit(&af);
  free(raw);
  free(z);
}
