/* The deck keys of an autoencoder ("ae.*", the reference's configs/ae/<name>.yaml
 * keys, and "ae.loss.*", configs/ae/loss/<name>.yaml) and the model config they
 * describe. A stage that builds an autoencoder lists autoencoder_deck_keys
 * among its key arrays. */
#ifndef LOLA_AUTOENCODER_DECK_H
#define LOLA_AUTOENCODER_DECK_H

#include "autoencoder.h"
#include "deck.h"

extern const deck_key autoencoder_deck_keys[];

/* The config of "ae.*" for data of `pix_channels` fields over `spatial` dims
 * (the reference sets pix_channels and spatial from the dataset); bad values
 * are reported with deck_fail, naming the key. loss may be NULL. */
void autoencoder_config_from_deck(const deck *d, int64_t pix_channels, int spatial, autoencoder_config *cfg,
                                  ae_loss_config *loss);

#endif
