/* Field transforms and normalisation (lola.data.field_preprocess) and their
 * exact inverse (field_postprocess). */
#include <math.h>
#include <stdlib.h>

#include "../../src/preprocess.h"
#include "harness.h"

TEST(preprocess_transform_values) {
  CHECK(transform_parse("log") == TRANSFORM_LOG && transform_parse("log_eps") == TRANSFORM_LOG_EPS);
  CHECK(transform_parse("log1p") == TRANSFORM_LOG1P && transform_parse("arcsinh") == TRANSFORM_ARCSINH);
  CHECK(transform_parse("") == TRANSFORM_NONE && transform_parse("none") == TRANSFORM_NONE);
  CHECK(transform_parse("sqrt") == -1);
  CHECK_NEAR(transform_forward(TRANSFORM_LOG, M_E * M_E), 2.0, 1e-15);
  CHECK_NEAR(transform_forward(TRANSFORM_LOG_EPS, 0.0), log(1e-6), 1e-12);
  CHECK_NEAR(transform_forward(TRANSFORM_LOG1P, M_E - 1.0), 1.0, 1e-15);
  CHECK_NEAR(transform_forward(TRANSFORM_ARCSINH, 0.75), log(0.75 + sqrt(0.75 * 0.75 + 1.0)), 1e-15);
  CHECK_NEAR(transform_inverse(TRANSFORM_ARCSINH, log(2.0)), 0.75, 1e-15); /* sinh(ln 2) = 3/4 */
  CHECK_NEAR(transform_inverse(TRANSFORM_LOG_EPS, log(1e-6)), 0.0, 1e-18);
  CHECK_REL(transform_inverse(TRANSFORM_LOG1P, 1e-12), 1e-12 + 5e-25, 1e-13); /* expm1, not exp - 1 */
}

TEST(preprocess_normalises_then_round_trips) {
  enum { P = 257, C = 5 };
  preprocess p = {.channels = C, .normalize = true};
  field_transform tf[C] = {TRANSFORM_LOG, TRANSFORM_LOG_EPS, TRANSFORM_LOG1P, TRANSFORM_ARCSINH,
                           TRANSFORM_NONE};
  for (int c = 0; c < C; c++) p.transform[c] = tf[c], p.mean[c] = 0.3 * c - 0.5, p.std[c] = 0.25 + 0.5 * c;
  float *x = malloc(sizeof(float) * P * C), *orig = malloc(sizeof(float) * P * C);
  srand(3);
  for (int i = 0; i < P * C; i++) {
    int c = i % C;
    double u = (double)rand() / RAND_MAX;
    orig[i] = x[i] = (float)(c == 3 || c == 4 ? 20.0 * u - 10.0 : 1e-3 + 50.0 * u * u);
  }
  preprocess_apply(&p, x, P);
  for (int i = 0; i < P * C; i++) {
    int c = i % C;
    double want = (transform_forward(tf[c], orig[i]) - p.mean[c]) / p.std[c];
    CHECK_NEAR(x[i], want, 1e-6 * fmax(1.0, fabs(want)));
  }
  preprocess_invert(&p, x, P);
  double worst = 0;
  for (int i = 0; i < P * C; i++) worst = fmax(worst, fabs(x[i] - orig[i]) / fmax(fabs(orig[i]), 1e-3));
  CHECK(worst < 2e-6); /* float storage of the transformed value is the only loss */
  free(x);
  free(orig);
}
