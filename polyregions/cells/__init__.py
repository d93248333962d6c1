"""Exact low-dimensional cells: the planar algorithm, its polygon kernels, measurements and pictures."""
