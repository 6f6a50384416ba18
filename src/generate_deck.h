/* The generate stage's deck keys read into a solver configuration, and the
 * solver's cost per stored state, which eval sets beside the emulators' speed. */
#ifndef LOLA_GENERATE_DECK_H
#define LOLA_GENERATE_DECK_H

#include "deck.h"
#include "generate.h"

/* Collective (deck errors are). The deck must list the generate stage. */
void generate_config_from_deck(const deck *d, generate_config *c);

/* Wall seconds per stored state of one test trajectory of the configuration
 * (the first parameter set), over its first `states` stored states, on this
 * rank alone. A negative value when the solver failed. */
double generate_seconds_per_state(const generate_config *c, int states);

#endif
