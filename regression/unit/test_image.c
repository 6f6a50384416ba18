/* PNG and GIF writers: read the files back with independent minimal decoders
 * (stored-block zlib; GIF LZW) and compare every pixel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/image.h"
#include "harness.h"

static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  rewind(f);
  uint8_t *b = malloc(*n);
  if (fread(b, 1, *n, f) != *n) *n = 0;
  fclose(f);
  return b;
}

static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

TEST(png_round_trips_through_an_independent_reader) {
  int w = 300, h = 250; /* > 64 KiB of rows: several stored blocks */
  uint8_t *rgb = malloc((size_t)w * h * 3);
  for (int i = 0; i < w * h * 3; i++) rgb[i] = (uint8_t)(i * 7 + i / 3);
  char path[1024];
  snprintf(path, sizeof path, "%s/t.png", harness_tmpdir());
  png_write(path, rgb, w, h);
  size_t n;
  uint8_t *b = slurp(path, &n);
  CHECK(b && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0);
  /* Walk the chunks, checking each CRC; gather IDAT. */
  size_t at = 8, zlen = 0;
  uint8_t *z = malloc(n);
  int ok_crc = 1, width = 0, height = 0;
  while (at + 12 <= n) {
    uint32_t len = get32(b + at);
    const uint8_t *type = b + at + 4;
    ok_crc &= crc32_update(0, type, len + 4) == get32(b + at + 8 + len);
    if (!memcmp(type, "IHDR", 4)) width = (int)get32(type + 4), height = (int)get32(type + 8);
    if (!memcmp(type, "IDAT", 4)) memcpy(z + zlen, type + 4, len), zlen += len;
    at += 12 + len;
  }
  CHECK(ok_crc && width == w && height == h && at == n);
  /* zlib: header, stored blocks, Adler-32. */
  size_t row = (size_t)w * 3 + 1, pos = 2, out = 0;
  uint8_t *raw = malloc(row * h);
  int last = 0;
  while (!last && pos + 5 <= zlen) {
    last = z[pos] & 1;
    size_t len = z[pos + 1] | z[pos + 2] << 8;
    CHECK((uint16_t)~len == (uint16_t)(z[pos + 3] | z[pos + 4] << 8));
    memcpy(raw + out, z + pos + 5, len);
    out += len;
    pos += 5 + len;
  }
  CHECK(out == row * h);
  uint32_t a = 1, s = 0;
  for (size_t i = 0; i < out; i++) a = (a + raw[i]) % 65521, s = (s + a) % 65521;
  CHECK(get32(z + pos) == (s << 16 | a));
  int same = 1;
  for (int y = 0; y < h; y++)
    same &= raw[y * row] == 0 && !memcmp(raw + y * row + 1, rgb + (size_t)y * w * 3, (size_t)w * 3);
  CHECK(same);
  free(rgb), free(b), free(z), free(raw);
}

/* Minimal GIF LZW decoder for one frame's sub-blocks. */
static size_t lzw_decode(const uint8_t *data, size_t n, uint8_t *out, size_t cap) {
  static uint16_t prefix[4096];
  static uint8_t suffix[4096], stack[4096];
  uint32_t bits = 0;
  int nbits = 0, width = 9, next = 258, prev = -1;
  size_t o = 0;
  uint8_t first = 0;
  for (size_t i = 0; i < n;) {
    while (nbits < width && i < n) bits |= (uint32_t)data[i++] << nbits, nbits += 8;
    if (nbits < width) break;
    int code = (int)(bits & ((1u << width) - 1));
    bits >>= width, nbits -= width;
    if (code == 256) {
      width = 9, next = 258, prev = -1;
      continue;
    }
    if (code == 257) break;
    int c = code, sp = 0;
    if (prev >= 0 && code >= next) stack[sp++] = first, c = prev; /* KwKwK */
    while (c >= 256) stack[sp++] = suffix[c], c = prefix[c];
    stack[sp++] = (uint8_t)c;
    first = (uint8_t)c;
    while (sp && o < cap) out[o++] = stack[--sp];
    if (prev >= 0 && next < 4096) {
      prefix[next] = (uint16_t)prev, suffix[next] = first, next++;
      if (next == (1 << width) && width < 12) width++;
    }
    prev = code;
  }
  return o;
}

TEST(gif_frames_decode_to_the_written_pixels) {
  int w = 160, h = 120, frames = 3;
  uint8_t *px = malloc((size_t)w * h * frames), pal[768];
  colormap_palette(pal);
  for (int f = 0; f < frames; f++)
    for (int i = 0; i < w * h; i++) /* enough variety to fill the 4096-code table */
      px[(size_t)f * w * h + i] =
          f == 2 ? (uint8_t)((i * 2654435761u) >> 24) : (uint8_t)((i / 7 + f * 31) % 256);
  char path[1024];
  snprintf(path, sizeof path, "%s/t.gif", harness_tmpdir());
  gif_write(path, px, frames, w, h, pal, 25);
  size_t n;
  uint8_t *b = slurp(path, &n);
  CHECK(b && memcmp(b, "GIF89a", 6) == 0 && b[n - 1] == 0x3B);
  CHECK(!memcmp(b + 13, pal, 768));
  size_t at = 13 + 768 + 19; /* past the header, palette and the loop extension */
  uint8_t *data = malloc(n), *out = malloc((size_t)w * h);
  int decoded = 0;
  while (at < n && b[at] != 0x3B) {
    if (b[at] == 0x21) { /* extension: skip its sub-blocks */
      at += 2;
      while (b[at]) at += 1 + b[at];
      at++;
      continue;
    }
    CHECK(b[at] == 0x2C && b[at + 10] == 8);
    at += 11;
    size_t len = 0;
    while (b[at]) memcpy(data + len, b + at + 1, b[at]), len += b[at], at += 1 + b[at];
    at++;
    size_t got = lzw_decode(data, len, out, (size_t)w * h);
    CHECK(got == (size_t)w * h && !memcmp(out, px + (size_t)decoded * w * h, (size_t)w * h));
    decoded++;
  }
  CHECK(decoded == frames);
  free(px), free(b), free(data), free(out);
}

TEST(viridis_runs_from_purple_to_yellow) {
  uint8_t lo[3], mid[3], hi[3], nan_rgb[3];
  colormap_viridis(0, lo), colormap_viridis(0.5, mid), colormap_viridis(1, hi),
      colormap_viridis(0.0 / 0.0, nan_rgb);
  CHECK(lo[0] == 68 && lo[2] == 84 && hi[0] == 253 && hi[1] == 231);
  CHECK(mid[1] == 145 && nan_rgb[0] == 0 && nan_rgb[1] == 0);
  /* Perceptual: luminance increases monotonically. */
  double prev = -1;
  int mono = 1;
  for (int i = 0; i <= 100; i++) {
    uint8_t c[3];
    colormap_viridis(i / 100.0, c);
    double l = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    mono &= l >= prev - 1e-9;
    prev = l;
  }
  CHECK(mono);
}
