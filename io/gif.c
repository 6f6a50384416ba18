/* Animated GIF writer (GIF89a): one global 256-colour palette, frames
 * LZW-compressed with 8-bit minimum code size, looping forever. */
#include <stdlib.h>
#include <string.h>

#include "../src/error.h"
#include "atomic_file.h"
#include "image.h"

typedef struct {
  FILE *f;
  uint8_t block[255];
  int used;
  uint32_t bits;
  int nbits;
} bit_writer;

static void flush_block(bit_writer *w) {
  if (!w->used) return;
  fputc(w->used, w->f);
  fwrite(w->block, 1, (size_t)w->used, w->f);
  w->used = 0;
}

static void put_code(bit_writer *w, int code, int width) {
  w->bits |= (uint32_t)code << w->nbits;
  w->nbits += width;
  while (w->nbits >= 8) {
    w->block[w->used++] = (uint8_t)w->bits;
    w->bits >>= 8;
    w->nbits -= 8;
    if (w->used == 255) flush_block(w);
  }
}

enum { CLEAR = 256, STOP = 257, MAX_CODES = 4096 };

/* LZW over palette indices: a trie of (prefix code, next byte) -> code. */
static void lzw_frame(FILE *f, const uint8_t *px, size_t n, int *next) {
  bit_writer w = {.f = f};
  fputc(8, f); /* minimum code size */
  int width = 9, free_code = STOP + 1;
  memset(next, 0xFF, sizeof(int) * MAX_CODES * 256);
  put_code(&w, CLEAR, width);
  int prefix = n ? px[0] : 0;
  for (size_t i = 1; i < n; i++) {
    int c = px[i], *slot = &next[prefix * 256 + c];
    if (*slot >= 0) {
      prefix = *slot;
      continue;
    }
    put_code(&w, prefix, width);
    if (free_code < MAX_CODES) {
      *slot = free_code++;
      if (free_code > (1 << width) && width < 12) width++;
    } else { /* table full: start over */
      put_code(&w, CLEAR, width);
      memset(next, 0xFF, sizeof(int) * MAX_CODES * 256);
      free_code = STOP + 1;
      width = 9;
    }
    prefix = c;
  }
  if (n) put_code(&w, prefix, width);
  put_code(&w, STOP, width);
  if (w.nbits) put_code(&w, 0, 8 - w.nbits);
  flush_block(&w);
  fputc(0, f); /* block terminator */
}

static void put16(FILE *f, int v) {
  fputc(v & 0xFF, f);
  fputc((v >> 8) & 0xFF, f);
}

void gif_write(const char *path, const uint8_t *frames, int count, int width, int height,
               const uint8_t *palette, int delay_cs) {
  int *next = lola_malloc(sizeof(int) * MAX_CODES * 256, "GIF LZW table");
  atomic_file af;
  atomic_open(&af, path);
  FILE *f = af.fp;
  fwrite("GIF89a", 1, 6, f);
  put16(f, width);
  put16(f, height);
  fputc(0xF7, f); /* global colour table of 256 entries */
  fputc(0, f), fputc(0, f);
  fwrite(palette, 1, 768, f);
  static const uint8_t loop[] = {0x21, 0xFF, 11,  'N', 'E', 'T', 'S', 'C', 'A', 'P',
                                 'E',  '2',  '.', '0', 3,   1,   0,   0,   0};
  fwrite(loop, 1, sizeof loop, f);
  for (int i = 0; i < count; i++) {
    fputc(0x21, f), fputc(0xF9, f), fputc(4, f), fputc(0, f); /* graphic control: delay */
    put16(f, delay_cs);
    fputc(0, f), fputc(0, f);
    fputc(0x2C, f); /* image descriptor */
    put16(f, 0), put16(f, 0), put16(f, width), put16(f, height);
    fputc(0, f);
    lzw_frame(f, frames + (size_t)i * width * height, (size_t)width * height, next);
  }
  fputc(0x3B, f);
  atomic_commit(&af);
  free(next);
}
