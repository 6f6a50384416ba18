#define _GNU_SOURCE
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

enum { MAX_METHODS = 64, BINS = 3 };

typedef struct {
  char name[160];
  double sum[BINS];
  long count[BINS];
} method_row;

/* Index of `name` in the comma-separated header, or -1. */
static int column(const char *header, const char *name) {
  int i = 0;
  size_t n = strlen(name);
  for (const char *p = header; p; i++) {
    if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\n' || p[n] == '\0')) return i;
    p = strchr(p, ',');
    if (p) p++;
  }
  return -1;
}

static int lead_bin(long lead) { return lead <= 20 ? 0 : lead <= 60 ? 1 : 2; }

int report_vrmse(const char *path, FILE *out) {
  FILE *f = fopen(path, "r");
  if (!f) lola_die(LOLA_EXIT_DATA, "%s: no evaluation results (run the eval stage first)", path);
  char *line = NULL;
  size_t cap = 0;
  if (getline(&line, &cap, f) <= 0) lola_die(LOLA_EXIT_DATA, "%s: empty file", path);
  const char *need[] = {"method", "settings", "lead_time", "relative", "vrmse", "run"};
  int col[6];
  for (int i = 0; i < 6; i++)
    if ((col[i] = column(line, need[i])) < 0) lola_die(LOLA_EXIT_DATA, "%s: no column '%s'", path, need[i]);
  method_row rows[MAX_METHODS];
  int nrows = 0;
  while (getline(&line, &cap, f) > 0) {
    char *field[64] = {0}, *rest = line;
    int nf = 0;
    rest[strcspn(rest, "\n")] = '\0';
    for (char *tok; nf < 64 && (tok = strsep(&rest, ",")) != NULL;)
      field[nf++] = tok; /* keeps empty fields */
    int last = 0;
    for (int i = 0; i < 6; i++) last = col[i] > last ? col[i] : last;
    if (nf <= last || strcmp(field[col[3]], "False") != 0) continue;
    char name[160];
    snprintf(name, sizeof name, "%s %s %s", field[col[5]], field[col[0]],
             strcmp(field[col[1]], "None") ? field[col[1]] : "");
    int r = 0;
    while (r < nrows && strcmp(rows[r].name, name)) r++;
    if (r == nrows) {
      if (nrows == MAX_METHODS) continue;
      memset(&rows[r], 0, sizeof rows[r]);
      snprintf(rows[r].name, sizeof rows[r].name, "%s", name);
      nrows++;
    }
    long lead = strtol(field[col[2]], NULL, 10);
    if (lead < 1) continue; /* the context itself */
    int b = lead_bin(lead);
    rows[r].sum[b] += strtod(field[col[4]], NULL);
    rows[r].count[b]++;
  }
  free(line);
  fclose(f);
  fprintf(out, "%-48s %10s %10s %10s\n", "VRMSE (run method settings)", "1-20", "21-60", "61-end");
  for (int r = 0; r < nrows; r++) {
    fprintf(out, "%-48s", rows[r].name);
    for (int b = 0; b < BINS; b++) {
      if (rows[r].count[b])
        fprintf(out, " %10.4f", rows[r].sum[b] / (double)rows[r].count[b]);
      else
        fprintf(out, " %10s", "-");
    }
    fputc('\n', out);
  }
  return nrows;
}
