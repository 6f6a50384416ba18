/* Pictures without dependencies: PNG (RGB, zlib stored blocks) and animated GIF
 * (256-colour palette, LZW), both written atomically; and a perceptual colour
 * map (viridis) to turn fields into colours. */
#ifndef LOLA_IMAGE_H
#define LOLA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* rgb: height × width × 3 bytes, row-major. */
void png_write(const char *path, const uint8_t *rgb, int width, int height);

/* frames: count × height × width palette indices; palette: 256 × 3 bytes;
 * delay in hundredths of a second; loops forever. */
void gif_write(const char *path, const uint8_t *frames, int count, int width, int height,
               const uint8_t *palette, int delay_cs);

/* viridis at v in [0, 1] (clamped; NaN maps to black) into rgb[3]. */
void colormap_viridis(double v, uint8_t *rgb);
/* The 256-entry palette of viridis, for GIFs. */
void colormap_palette(uint8_t *palette);

/* CRC-32 (ISO-HDLC, PNG's) of n bytes, continuing from crc (0 to start). */
uint32_t crc32_update(uint32_t crc, const uint8_t *data, size_t n);

#endif
