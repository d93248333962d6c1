"""The 3-D side of ``polyregions plot``: volumes, 3-D boxes, level sets and their meshes.

    polyregions plot NET --volume X1 X2 X3 X4 [--margin M] -o cells.png   the volume through four inputs
    polyregions plot NET3D [--box LO HI] -o cells.png [--inside]          a 3-input network in a box
                         [--level-set [--mesh surface.ply]]               the output's zero level set

Cells are coloured by their patterns (the 2-D pictures' colours); without ``--inside`` the
domain's surface is drawn, with it every cell shrunk towards its centre. ``--level-set``
draws the exact zero level set of a scalar output; ``--mesh`` also writes it (.ply, .obj, .stl).
"""

from __future__ import annotations

from ..domains.slices import Slice, Volume
from ..errors import InvalidInputError
from .args import output_path, parse_vector

__all__ = ["add_volume_options", "is_volume", "plot_volume", "volume_from_args"]


def add_volume_options(group, parser) -> None:
    """``--volume`` in the domain `group`; ``--inside``, ``--level-set``, ``--mesh`` on `parser`."""
    group.add_argument("--volume", nargs=4, metavar="X", help="X1 X2 X3 X4: the volume through four inputs, "
                                                              "(s, t, w) in [-M, 1 + M]^3")
    parser.add_argument("--inside", action="store_true", help="3-D: draw every cell shrunk, not the surface")
    parser.add_argument("--level-set", action="store_true", help="3-D: draw the zero level set of the scalar output")
    parser.add_argument("--mesh", default=None, metavar="FILE", help="with --level-set: also write the mesh "
                                                                     "(.ply, .obj or .stl)")


def volume_from_args(args, n):
    """The Volume asked for by ``--volume``, or None."""
    if not getattr(args, "volume", None):
        return None
    return Volume.through(*(parse_vector(t, n, f"X{k + 1}") for k, t in enumerate(args.volume)), margin=args.margin)


def is_volume(domain) -> bool:
    """Whether `domain` is drawn in 3-D: a Volume, or a 3-D input domain."""
    return isinstance(domain, Volume) or (not isinstance(domain, Slice) and domain.dim == 3)


def plot_volume(args, net, domain, figsize, dpi):
    """The figure of a 3-D domain; writes ``--mesh`` when asked. Returns ``(figure, note)``."""
    from ..cells.complex import polyhedral_complex
    from ..cells.plot3d import plot_cells3d, plot_level_set

    if args.mesh is not None and not args.level_set:
        raise InvalidInputError("--mesh writes the level set: give --level-set too")
    if args.mesh is not None:
        suffix = args.mesh.rsplit(".", 1)[-1].lower() if "." in args.mesh else ""
        if suffix not in ("ply", "obj", "stl", "off", "glb"):
            raise InvalidInputError(f"--mesh must end in .ply, .obj, .stl, .off or .glb, got {args.mesh!r}")
        output_path(args.mesh, "--mesh")
    cx = polyhedral_complex(net, domain, eps=args.eps)
    note = f"{cx.num_cells:,} cells, f-vector {cx.f_vector}"
    if args.level_set:
        from ..cells.mesh import level_set

        mesh = level_set(net, domain, complex=cx)
        if args.mesh is not None:
            mesh.write(args.mesh)
            note += f"; wrote {len(mesh.faces):,} triangles to {args.mesh}"
        return plot_level_set(net, domain, complex=cx, figsize=figsize, dpi=dpi), note
    return plot_cells3d(net, domain, complex=cx, surface=not args.inside, edges=not args.no_edges,
                        figsize=figsize, dpi=dpi), note
