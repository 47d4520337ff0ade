"""The batch path: the lecture's whole ConvNet on whole batches, in NumPy.

net = load("seed_convnet")                    # or a path to a network .toml
logits = net.forward(x)                       # x (N, 3, 32, 32) float32
loss, dlogits = cross_entropy(logits, labels)
net.backward(dlogits)                         # fills net.grads
"""

from __future__ import annotations

from engine.network.loss import cross_entropy
from engine.network.model import Network, from_sample, load

__all__ = ["Network", "cross_entropy", "from_sample", "load"]
