# The set-up of the training benchmarks (source it with the script's
# arguments: [LOLA] [WORKDIR] [EPOCHS]): lola, a work folder, the epochs, one
# thread per rank, the demo deck (inputs/demo.cfg), and its data generated
# there on 2 ranks. Sets LOLA, W, EPOCHS, DECK and DATA (the deck overrides
# that point the dataset at that data).
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
LOLA=${1:-$PWD/build/lola}
W=${2:-$(mktemp -d)}
EPOCHS=${3:-3}
mkdir -p "$W"
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_rmaps_base_oversubscribe=1 OMP_NUM_THREADS=1
DECK=$PWD/inputs/demo.cfg
DATA="generate.root=$W/data dataset.path=$W/data"
mpirun -np 2 "$LOLA" $DECK 'stages=["generate"]' run.dir=$W/gen $DATA >$W/gen.log 2>&1 ||
  { echo "generate failed"; tail $W/gen.log; exit 1; }
