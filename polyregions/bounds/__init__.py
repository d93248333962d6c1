"""Closed-form counts and bounds on the number of linear regions, in exact integers.

One module per family, each citing its paper:

- :mod:`.dense`: fully connected networks (Zaslavsky; Montufar et al. 2014;
  Montufar 2017; Serra et al. 2018);
- :mod:`.xiong`: one-layer convolutional networks (Xiong et al. 2020, Theorem 1);
- :mod:`.xiong_deep`: several convolutional layers (Xiong et al. 2020, Theorem 2);
- :mod:`.generic`: exact one-layer oracles for any parameters (Whitney's
  formula; independent subsets of the weight rows);
- :mod:`.local`: bounds on the regions meeting a ball (Zhu, Lin & Tang's Algorithm 1,
  and polyregions' own tighter arrangement bound);
- :mod:`.rank_deficit`: why a one-layer CNN can have fewer regions than Xiong et al.'s
  Theorem 1 states (matchable but linearly dependent normals), on the exact linear
  algebra of :mod:`.rational`;
- :mod:`.filter_polynomial`: the generic count of a one-layer CNN and Theorem 1's
  :math:`R_N` as polynomials in the number of filters;
- :mod:`.applicable`: which of these bounds apply to a given network and domain.
"""

from .xiong import (
    receptive_fields,
    xiong_K,
    xiong_one_layer,
)
from .xiong_deep import DeepLowerBound, xiong_deep_lower, xiong_deep_lower_certificate, xiong_deep_upper
from .dense import (
    montufar2014_lower,
    montufar2017_upper,
    serra2018_upper,
    zaslavsky,
)
from .generic import (
    independent_subsets,
    whitney_count,
)
from .local import LocalArrangementBound, ZhuLocal, local_arrangement_bound, zhu_local
from .rank_deficit import NormalRankDeficit, normal_rank_deficit
from .filter_polynomial import FilterPolynomial, generic_count_polynomial, xiong_coefficients
from .applicable import BOUND_NAMES, architecture_of, network_bounds

__all__ = [
    # dense
    "zaslavsky",
    "montufar2014_lower",
    "montufar2017_upper",
    "serra2018_upper",
    # conv
    "xiong_one_layer",
    "xiong_deep_lower",
    "xiong_deep_upper",
    "xiong_deep_lower_certificate",
    "DeepLowerBound",
    "xiong_K",
    "receptive_fields",
    # generic
    "whitney_count",
    "independent_subsets",
    # local
    "zhu_local",
    "local_arrangement_bound",
    "ZhuLocal",
    "LocalArrangementBound",
    # rank deficits of one-layer CNNs
    "normal_rank_deficit",
    "NormalRankDeficit",
    "generic_count_polynomial",
    "xiong_coefficients",
    "FilterPolynomial",
    # which bounds apply
    "BOUND_NAMES",
    "architecture_of",
    "network_bounds",
]
