/* The VRMSE table by lead-time bins, from a stats.csv written by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/stats_csv.h"
#include "../../src/report.h"
#include "harness.h"

TEST(report_bins_vrmse_by_lead_time_per_method) {
  char path[1024];
  snprintf(path, sizeof path, "%s/report_stats.csv", harness_tmpdir());
  remove(path);
  char *text = malloc(1 << 20), row[2048];
  text[0] = '\0';
  /* surrogate: vrmse = lead/100; diffusion ab16: 2·lead/100; relative rows (ignored): 9. */
  const char *methods[2] = {"surrogate", "diffusion"}, *settings[2] = {"None", "ab16"};
  for (int m = 0; m < 2; m++)
    for (int lead = 0; lead <= 80; lead++)
      for (int rel = 0; rel < 2; rel++) {
        stats_row_key k = {.run = "r1",
                           .target = "last",
                           .method = methods[m],
                           .settings = settings[m],
                           .guidance = "None",
                           .split = "test",
                           .context = 1,
                           .overlap = 1};
        field_scores s = {.vrmse = rel ? 9.0 : (m + 1) * lead / 100.0};
        stats_csv_row(row, sizeof row, &k, 0, lead, rel, &s);
        strcat(text, row);
        strcat(text, "\n");
      }
  stats_csv_append(path, 0, text);
  free(text);
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  CHECK(report_vrmse(path, f) == 2);
  fclose(f);
  /* surrogate: mean of 1..20 = 10.5 -> 0.105; 21..60 -> 0.405; 61..80 -> 0.705 */
  CHECK(strstr(out, "r1 surrogate") && strstr(out, "0.1050") && strstr(out, "0.4050") &&
        strstr(out, "0.7050"));
  CHECK(strstr(out, "r1 diffusion ab16") && strstr(out, "0.2100") && strstr(out, "0.8100") &&
        strstr(out, "1.4100"));
  CHECK(!strstr(out, "9.0000"));
  free(out);
}
