"""Dataset-scale counts: local complexity around data points and regions along segments, as a table
(:mod:`polyregions.local.counts`, :mod:`polyregions.local.table`, :mod:`polyregions.local.plot`)."""
