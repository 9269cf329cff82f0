"""Search spaces: encodings, sampling, network builders and (where a benchmark exists) its
ground truth.

* ``zcnas.spaces.nb201``: NAS-Bench-201 (15,625 cells);
* ``zcnas.spaces.macro``: NAS-Bench-Macro (6,561 MobileNetV2-block networks);
* ``zcnas.spaces.darts``: DARTS cells (genotypes, NB301 encodings, the CIFAR network);
* ``zcnas.spaces.nb101``: NAS-Bench-101 cells (specs, NASLib's encoding, hashing, the network);
* ``zcnas.spaces.nb301``: NB301 genotypes scored as NASLib builds them (DARTS, C=32, 8 cells);
* ``zcnas.spaces.tnb101``: TransNAS-Bench-101 micro/macro encoders, the seven task networks.

Importing them does not import torch; their ``build`` functions do.
"""

from zcnas.spaces import darts, macro, nb101, nb201, nb301, tnb101

__all__ = ["darts", "macro", "nb101", "nb201", "nb301", "tnb101"]
