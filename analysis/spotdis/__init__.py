"""SPOTDisClust: clustering epochs by their spatio-temporal spike patterns.

Grossberger L, Battaglia FP, Vinck M (2018), "Unsupervised clustering of temporal patterns
in high-dimensional neuronal ensembles using a novel dissimilarity measure", PLoS Comput
Biol 14(7): e1006283.

SPOTDis (Methods, "SPOTDis"): M epochs, N neurons, spike times within each epoch. For
epoch k and neurons i < j, the multiset of all delays ``t_j - t_i`` over the spikes of i
and j in the epoch, each with mass 1/n (n = n_i n_j). Between epochs k and m, each pair's
two delay distributions are compared by the earth mover's distance, which on a line is
the Wasserstein-1 distance, the integral of |F_k - F_m| over the lag. SPOTDis(k, m) is
the mean of these distances over the pairs in which both neurons fire in both epochs.
SPOTDisClust then clusters the M x M matrix with HDBSCAN and shows it with t-SNE
(Methods, "Clustering and visualization").

Choices made here (say so when comparing with other implementations):

* Normalisation: a pair's distance is divided by 2 T, with T the epoch length (the longest
  epoch when lengths differ), so that 0 <= SPOTDis <= 1 in continuous time: delays lie in
  (-T, T). This is the scale of the authors' code (LGro/spot, which passes twice the epoch
  length), where the paper normalises by the number of time bins.
* Undefined entries: an epoch pair without any neuron pair that fires in both epochs has
  no SPOTDis. It is counted (``n_undefined``), marked in ``undefined``, and given the
  largest dissimilarity, 1.0, for clustering and embedding. Epochs without spikes (or with
  one active neuron) give whole undefined rows; they are allowed and counted.
* Exactness: both kernels compute the same numbers (to rounding); the sample-grid kernel is
  used when spike times lie on a sampling grid and that is cheaper (see ``spotdis``).

The package, one concept per module, none importing a later one:

* ``epochs``: checking the data, spikes per epoch, the sample grid, the choice of kernel;
* ``tiles``: the grid kernel's work in cache-sized tiles of epoch pairs;
* ``matrix``: the full matrix (``spotdis``, ``SpotDis``);
* ``graph``: exact SPOTDis to candidate neighbours only (``spotdis_knn``, ``SpotDisGraph``);
* ``spikeship``: SpikeShip (Sotomayor-Gómez, Battaglia & Vinck 2023), the transport left
  after one common shift per epoch pair, its global shifts and neuron-specific flows
  (``spikeship``, ``neuron_flows``, ``pair_flows``), a dissimilarity ``SpotDisClust`` can
  cluster instead of SPOTDis;
* ``clust``: the ``SpotDisClust`` object, the rate-vector baseline and the window sweep;
* ``events``: epochs cut around event times (the events as text, their sample grid) and
  population events (``population_events``);
* ``windows``: sliding windows over a continuous recording as the epochs of any
  dissimilarity, their time course of pattern labels and each pattern's average sequence
  (``SlidingWindows``).
"""

from .clust import (SpotDisClust, SpotDisClustResult, rate_vector_dissimilarity,
                    window_sweep)
from .epochs import GRID_TOLERANCE, detect_sampling_period
from .matrix import SpotDis, spotdis
from .events import population_events
from .spikeship import NeuronFlows, SpikeShip, neuron_flows, pair_flows, spikeship
from .windows import (PatternSequence, SlidingWindows, SlidingWindowsResult, window_epochs,
                      window_truth)

__all__ = ["SpotDisClust", "SpotDis", "SpotDisClustResult", "spotdis", "detect_sampling_period",
           "GRID_TOLERANCE", "rate_vector_dissimilarity", "window_sweep", "SpikeShip",
           "NeuronFlows", "spikeship", "neuron_flows", "pair_flows", "SlidingWindows",
           "SlidingWindowsResult", "PatternSequence", "window_epochs", "window_truth",
           "population_events"]
