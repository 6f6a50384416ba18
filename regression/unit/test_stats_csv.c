/* The evaluation table: columns in the reference's order, and appends from
 * several ranks at once that neither interleave nor duplicate the header. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../io/stats_csv.h"
#include "../../parallel/comm.h"
#include "harness.h"

static int count_char(const char *s, char c) {
  int n = 0;
  for (; *s; s++) n += *s == c;
  return n;
}

TEST(stats_csv_has_the_reference_columns) {
  char *h = stats_csv_header(2);
  CHECK(strncmp(
            h,
            "run,target,compression,method,settings,guidance,context,overlap,speed,split,index,start,seed,"
            "field,lead_time,relative,m1,m2,spread,rmse,nrmse,vrmse,invariant,psd_rmse_low",
            strlen("run,target,compression,method,settings,guidance,context,overlap,speed,split,index,start,"
                   "seed,field,lead_time,relative,m1,m2,spread,rmse,nrmse,vrmse,invariant,psd_rmse_low")) ==
        0);
  CHECK(count_char(h, ',') == 23 + 8 + 2 - 1);
  float label[2] = {1.4f, 2.0f};
  stats_row_key k = {.run = "r",
                     .target = "last",
                     .method = "diffusion",
                     .settings = "ab16",
                     .guidance = "None",
                     .split = "test",
                     .compression = 20,
                     .speed = 0.5,
                     .context = 1,
                     .overlap = 1,
                     .index = 3,
                     .start = 0,
                     .seed = 0,
                     .labels = 2,
                     .label = label};
  field_scores s = {.m1 = 1, .m2 = 2, .spread = 0.5, .rmse = 0.1, .nrmse = 0.2, .vrmse = 0.3, .invariant = 0};
  char row[2048];
  stats_csv_row(row, sizeof row, &k, 4, 12, true, &s);
  CHECK(count_char(row, ',') == count_char(h, ','));
  CHECK(strncmp(row, "r,last,20,diffusion,ab16,None,1,1,0.5,test,3,0,0,4,12,True,1,2,0.5,0.1,", 70) == 0);
  free(h);
}

TEST_RANKS(stats_csv_appends_from_three_ranks_do_not_interleave, 3) {
  char path[512] = {0};
  if (comm_rank() == 0) snprintf(path, sizeof path, "%s/stats.csv", harness_tmpdir());
  MPI_Bcast(path, sizeof path, MPI_CHAR, 0, MPI_COMM_WORLD);
  /* 50 appends of 20 rows each per rank, every row naming its rank. */
  char *text = malloc(20 * 64);
  for (int a = 0; a < 50; a++) {
    text[0] = '\0';
    for (int r = 0; r < 20; r++) sprintf(text + strlen(text), "rank%d,%d,%d\n", comm_rank(), a, r);
    stats_csv_append(path, 0, text);
  }
  free(text);
  MPI_Barrier(MPI_COMM_WORLD);
  if (comm_rank() == 0) {
    FILE *f = fopen(path, "r");
    char line[1024];
    int lines = 0, headers = 0, broken = 0, last_a[3] = {-1, -1, -1}, in_order = 1;
    while (f && fgets(line, sizeof line, f)) {
      lines++;
      if (!strncmp(line, "run,", 4)) {
        headers++;
        continue;
      }
      int rank, a, r;
      if (sscanf(line, "rank%d,%d,%d", &rank, &a, &r) != 3 || rank < 0 || rank > 2) {
        broken++;
        continue;
      }
      in_order &= a >= last_a[rank];
      last_a[rank] = a;
    }
    if (f) fclose(f);
    CHECK(lines == 1 + 3 * 50 * 20);
    CHECK(headers == 1);
    CHECK(broken == 0);
    CHECK(in_order);
    unlink(path);
  }
}
