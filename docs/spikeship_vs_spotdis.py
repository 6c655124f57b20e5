"""Draws docs/spikeship_vs_spotdis.png: what SpikeShip measures that SPOTDis does not, and
the reverse, on one sequence of 20 neurons changed in controlled ways.

Run from the repository root: ``PYTHONPATH=. python docs/spikeship_vs_spotdis.py``
(a few seconds). Every number in the figure is computed here by ``analysis.spotdis``.

A: the dissimilarity between a sequence and a changed copy, divided by its mean between
   unrelated sequences (1 = as different as chance), against the size of the change:
   all neurons shifted together, half of them shifted against the other half, every neuron
   jittered on its own, and the sequence played twice in the window (second copy Delta
   later).
B: SpikeShip's decomposition of the half-shift at Delta = 30 ms: the global shift and each
   neuron's flow beyond it (SPOTDis has one number for the pair, nothing per neuron).
"""

from __future__ import annotations

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from analysis.spiketrains import Epochs, SpikeTrains  # noqa: E402
from analysis.spotdis import neuron_flows, spikeship, spotdis  # noqa: E402

N = 20            # neurons
T = 0.5           # epoch length, s
SEED = 16


def recording(epochs_spikes):
    """SpikeTrains with one epoch per list of per-neuron spike-time arrays (relative)."""
    times = [[] for _ in range(N)]
    for k, spikes in enumerate(epochs_spikes):
        for i, t in enumerate(spikes):
            times[i].extend((k * T + np.asarray(t)).tolist())
    flat = [np.sort(np.asarray(t, dtype=np.float64)) for t in times]
    offsets = np.concatenate([[0], np.cumsum([t.size for t in flat])])
    K = len(epochs_spikes)
    return SpikeTrains(np.concatenate(flat), offsets, 0.0, K * T,
                       epochs=Epochs(np.arange(K) * T, (np.arange(K) + 1) * T,
                                     np.arange(K).astype(str)))


def both(a, b):
    """(SPOTDis, SpikeShip) between two epochs given as per-neuron spike lists."""
    data = recording([a, b])
    return spotdis(data).matrix[0, 1], spikeship(data).matrix[0, 1]


def main(out=pathlib.Path(__file__).with_name("spikeship_vs_spotdis.png")):
    rng = np.random.default_rng(SEED)
    base = rng.uniform(0.1, 0.2, N)                    # one spike per neuron
    half = np.arange(N) < N // 2

    def seq(t):
        return [np.array([x]) for x in t]

    # chance level: unrelated sequences
    chance = np.mean([both(seq(rng.uniform(0.1, 0.2, N)), seq(rng.uniform(0.1, 0.2, N)))
                      for _ in range(20)], axis=0)
    deltas = np.linspace(0.0, 0.06, 13)
    cases = {
        "all neurons shifted together": lambda d: seq(base + d),
        "half shifted against the other half": lambda d: seq(base + d * half),
        "every neuron jittered on its own": lambda d: seq(
            np.clip(base + d * np.random.default_rng(SEED + 1).standard_normal(N), 0, T - 1e-3)),
        "played twice (second copy Delta later)": lambda d: [np.array([x, x + 0.15 + d])
                                                             for x in base],
    }
    colours = ["#4d4d4d", "#1f77b4", "#ff7f0e", "#2ca02c"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2),
                             gridspec_kw={"width_ratios": [1, 1, 1.15]})
    for col, (name, make) in enumerate(cases.items()):
        values = np.array([both(seq(base), make(d)) for d in deltas]) / chance
        for ax, which in zip(axes[:2], (0, 1)):
            ax.plot(deltas * 1e3, values[:, which], "o-", color=colours[col], ms=3.5,
                    label=name)
    for ax, title in zip(axes[:2], ("SPOTDis", "SpikeShip")):
        ax.set_title(f"A. {title} against a changed copy")
        ax.set_xlabel("size of the change, Delta (ms)")
        ax.set_ylabel("dissimilarity / mean between unrelated sequences")
        ax.axhline(1.0, color="#bbbbbb", lw=0.8, ls="--")
        ax.set_ylim(-0.05, max(1.6, ax.get_ylim()[1]))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper left")

    # B: SpikeShip's decomposition of the half-shift
    d = 0.03
    data = recording([seq(base + d * half), seq(base)])
    fl = neuron_flows(data, [0], [1])
    g = fl.shift[0, 0]
    order = np.argsort(fl.mean_flow, kind="stable")
    axes[2].bar(np.arange(N), fl.mean_flow[order] * 1e3,
                color=np.where(half[order], "#1f77b4", "#9ecae1"))
    axes[2].set_xticks(np.arange(N), [str(i) for i in order], fontsize=7)
    axes[2].set_xlabel("neuron (dark: the half shifted by 30 ms)")
    axes[2].set_ylabel("flow beyond the global shift (ms)")
    axes[2].set_title(f"B. SpikeShip's flows, half shifted by 30 ms\n"
                      f"global shift g = {g * 1e3:.1f} ms; SPOTDis: one number per pair",
                      fontsize=10)
    axes[2].grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}; chance level SPOTDis {chance[0]:.4f}, SpikeShip "
          f"{chance[1] * 1e3:.2f} ms; half-shift global shift {g * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
