"""Repulsion between charged vertices: exact (O(N^2), chunked) and Barnes-Hut (vectorized).

The force of vertex j on vertex i is ``q_i q_j (p_i - p_j) / |p_i - p_j|^(k+1)`` (magnitude
``q_i q_j / d^k``), summed over j != i.  Distances are softened by ``SOFTENING`` (relative to the
layout's extent) so coincident vertices do not divide by zero; both modes soften alike.

Barnes-Hut, without a Python loop over vertices
------------------------------------------------
1. Tree: the points' bounding square is split into a quadtree of ``depth`` levels.  Every point
   gets the Morton code of its cell at the deepest level (bits of x and y interleaved); after
   sorting by code, the cells of level l are the distinct values of ``code >> 2 (depth - l)``,
   found with ``unique_consecutive``, and each cell's total charge and centre of charge are
   segment sums.  The children of a cell are a contiguous run of the next level's cells.
2. Traversal, level by level, for all vertices at once: a tensor of (vertex, cell) pairs starts
   at the root.  A pair whose cell is far enough (cell size < theta * distance to its centre of
   charge, and the cell does not hold the vertex) or holds a single point is evaluated as one
   charge; the other pairs are replaced by (vertex, child) pairs.  At the deepest level the
   remaining pairs are expanded into the cell's points (direct sums).  Contributions are
   scatter-added into the vertices' forces.
Everything is tensor ops, so the same code runs on CPU and CUDA (the device of ``pos``).
"""
from __future__ import annotations

import torch

# distance softening, as a fraction of the layout's extent
SOFTENING = 1e-6
# below this many vertices the exact sum is faster than Barnes-Hut (and is used instead)
EXACT_BELOW = 1024
# the exact mode works on blocks of rows so that at most this many pairs are in memory
EXACT_CHUNK_PAIRS = 1 << 22


def _softening(pos: torch.Tensor) -> float:
    extent = float((pos.max(0).values - pos.min(0).values).max()) if len(pos) else 1.0
    return (SOFTENING * (extent if extent > 0 else 1.0)) ** 2


def _pair_force(diff: torch.Tensor, qq: torch.Tensor, exponent: float, eps2: float) -> torch.Tensor:
    """q_i q_j diff / |diff|^(k+1) for diff [..., 2], qq [...]."""
    d2 = (diff * diff).sum(-1) + eps2
    return diff * (qq * d2.pow(-(exponent + 1) / 2)).unsqueeze(-1)


def exact_repulsion(pos: torch.Tensor, charges: torch.Tensor, exponent: float) -> torch.Tensor:
    """Exact repulsion on every vertex: [N, 2] positions, [N] charges -> [N, 2]."""
    n = len(pos)
    eps2 = _softening(pos)
    out = torch.zeros_like(pos)
    rows = max(1, EXACT_CHUNK_PAIRS // max(n, 1))
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        diff = pos[start:stop, None, :] - pos[None, :, :]
        qq = charges[start:stop, None] * charges[None, :]
        qq[torch.arange(stop - start), torch.arange(start, stop)] = 0.0  # no self-force
        out[start:stop] = _pair_force(diff, qq, exponent, eps2).sum(1)
    return out


def _spread_bits(v: torch.Tensor) -> torch.Tensor:
    """Insert a zero bit between the bits of v (int64, < 2^31): the Morton code's x part."""
    v = v & 0x7FFFFFFF
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    v = (v | (v << 1)) & 0x5555555555555555
    return v


class QuadTree:
    """Cells of every level of a Morton-ordered quadtree over ``pos`` (see module docstring)."""

    def __init__(self, pos: torch.Tensor, charges: torch.Tensor, depth: int):
        self.depth = depth
        lo = pos.min(0).values
        size = float((pos.max(0).values - lo).max()) * (1 + 1e-6) + 1e-30
        cells = 1 << depth
        ij = ((pos - lo) / size * cells).long().clamp_(0, cells - 1)
        code = _spread_bits(ij[:, 0]) | (_spread_bits(ij[:, 1]) << 1)
        self.code, self.order = torch.sort(code)
        self.point_pos = pos[self.order]
        self.point_charge = charges[self.order]
        # per level l (0 = root): cell codes, first point (sorted order), point count, total charge,
        # centre of charge, bounding box of the cell's points
        self.codes, self.start, self.count, self.charge, self.centre = [], [], [], [], []
        self.box_lo, self.box_hi = [], []
        qp = self.point_pos * self.point_charge.unsqueeze(-1)
        for level in range(depth + 1):
            key = self.code >> (2 * (depth - level))
            cell_code, inverse, count = torch.unique_consecutive(key, return_inverse=True, return_counts=True)
            m = len(cell_code)
            charge = torch.zeros(m, dtype=pos.dtype, device=pos.device).index_add_(0, inverse, self.point_charge)
            centre = torch.zeros(m, 2, dtype=pos.dtype, device=pos.device).index_add_(0, inverse, qp)
            centre = centre / charge.clamp_min(torch.finfo(pos.dtype).tiny).unsqueeze(-1)
            idx = inverse.unsqueeze(-1).expand(-1, 2)
            box_lo = torch.full((m, 2), float("inf"), dtype=pos.dtype, device=pos.device).scatter_reduce_(
                0, idx, self.point_pos, "amin")
            box_hi = torch.full((m, 2), float("-inf"), dtype=pos.dtype, device=pos.device).scatter_reduce_(
                0, idx, self.point_pos, "amax")
            self.codes.append(cell_code)
            self.start.append(torch.cumsum(count, 0) - count)
            self.count.append(count)
            self.charge.append(charge)
            self.centre.append(centre)
            self.box_lo.append(box_lo)
            self.box_hi.append(box_hi)
        # per level l < depth: first child (index into level l + 1) and number of children
        self.child_start, self.child_count = [], []
        for level in range(depth):
            n_children = torch.unique_consecutive(self.codes[level + 1] >> 2, return_counts=True)[1]
            self.child_count.append(n_children)
            self.child_start.append(torch.cumsum(n_children, 0) - n_children)


def default_depth(n: int, max_depth: int) -> int:
    """Enough levels that a uniform layout has about one point per deepest cell, plus slack for
    clustering; at most ``max_depth``."""
    levels = 1
    while 4 ** levels < n:
        levels += 1
    return max(1, min(max_depth, levels + 4))


def _expand(first: torch.Tensor, counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For runs (first, count): (run index, first + offset) of every element of every run."""
    run = torch.repeat_interleave(torch.arange(len(counts), device=counts.device), counts)
    offsets = torch.arange(len(run), device=counts.device) - (torch.cumsum(counts, 0) - counts)[run]
    return run, first[run] + offsets


# target group and direct-sum leaf sizes of Barnes-Hut (points)
GROUP_SIZE = 64
LEAF_SIZE = 16
# entries per row of the padded interaction-list table
LIST_WIDTH = 64


def barnes_hut_repulsion(pos: torch.Tensor, charges: torch.Tensor, exponent: float, theta: float,
                         max_depth: int = 16) -> torch.Tensor:
    """Barnes-Hut approximation of :func:`exact_repulsion` with opening angle ``theta``.

    Targets are traversed in groups of GROUP_SIZE consecutive points of the Morton order (compact
    in space): a source cell is taken as one charge for the whole group when its size (the
    bounding box of its points) is below theta times the distance from the group's bounding box
    to the cell's centre of charge -- so below theta times its distance from every vertex of the
    group -- and the two boxes do not overlap.  Cells of at most LEAF_SIZE points that are not far
    enough are summed point by point.  Both kinds of interaction are evaluated as dense padded
    blocks ([pairs, GROUP_SIZE] and [pairs, GROUP_SIZE, LEAF_SIZE]); padding has charge 0, and a
    vertex meets itself at distance 0, which gives no force.
    """
    n = len(pos)
    out = torch.zeros_like(pos)
    if n < 2:
        return out
    eps2 = _softening(pos)
    tree = QuadTree(pos, charges, default_depth(n, max_depth))
    device, dtype = pos.device, pos.dtype
    n_groups = -(-n // GROUP_SIZE)
    pad = n_groups * GROUP_SIZE - n
    # sorted points with one dummy (charge 0) at index n, used for padding
    p_pos = torch.cat([tree.point_pos, tree.point_pos[-1:]])
    p_q = torch.cat([tree.point_charge, torch.zeros(1, dtype=dtype, device=device)])
    member = torch.cat([torch.arange(n, device=device), torch.full((pad,), n, device=device)])
    member = member.view(n_groups, GROUP_SIZE)
    g_pos, g_q = p_pos[member], p_q[member]  # [G, S, 2], [G, S]
    box_pos = torch.cat([tree.point_pos, tree.point_pos[-1:].expand(pad, 2)]).view(n_groups, GROUP_SIZE, 2)
    g_lo, g_hi = box_pos.min(1).values, box_pos.max(1).values

    # traversal: (group, cell) pairs, level by level; every accepted source becomes an entry
    # (group, position, charge) of that group's interaction list
    group = torch.arange(n_groups, device=device)
    cell = torch.zeros(n_groups, dtype=torch.long, device=device)
    entry_group, entry_pos, entry_q = [], [], []
    near_group, near_start, near_count = [], [], []
    for level in range(tree.depth + 1):
        if not len(group):
            break
        c_lo, c_hi, centre = tree.box_lo[level][cell], tree.box_hi[level][cell], tree.centre[level][cell]
        lo, hi = g_lo[group], g_hi[group]
        gap = torch.clamp_min(torch.maximum(lo - centre, centre - hi), 0.0)
        dist2 = (gap * gap).sum(-1)
        size = (c_hi - c_lo).max(-1).values
        overlap = ((c_lo <= hi) & (lo <= c_hi)).all(-1)
        far = ~overlap & (size * size < theta * theta * dist2)
        count = tree.count[level][cell]
        near = ~far & ((count <= LEAF_SIZE) | (level == tree.depth))
        entry_group.append(group[far])
        entry_pos.append(centre[far])
        entry_q.append(tree.charge[level][cell[far]])
        near_group.append(group[near])
        near_start.append(tree.start[level][cell[near]])
        near_count.append(count[near])
        opened = ~far & ~near
        group, cell = group[opened], cell[opened]
        if level < tree.depth and len(group):
            run, cell = _expand(tree.child_start[level][cell], tree.child_count[level][cell])
            group = group[run]
    # near cells contribute their points one by one
    run, point = _expand(torch.cat(near_start), torch.cat(near_count))
    entry_group.append(torch.cat(near_group)[run])
    entry_pos.append(tree.point_pos[point])
    entry_q.append(tree.point_charge[point])
    e_group, e_pos, e_q = torch.cat(entry_group), torch.cat(entry_pos), torch.cat(entry_q)
    # the interaction lists as a table of rows of LIST_WIDTH entries (a group's list spans
    # ceil(length / LIST_WIDTH) rows); padding has charge 0
    order = torch.argsort(e_group, stable=True)
    e_group, e_pos, e_q = e_group[order], e_pos[order], e_q[order]
    per_group = torch.bincount(e_group, minlength=n_groups)
    rank = torch.arange(len(e_group), device=device) - (torch.cumsum(per_group, 0) - per_group)[e_group]
    rows_per_group = (per_group + LIST_WIDTH - 1) // LIST_WIDTH
    row_start = torch.cumsum(rows_per_group, 0) - rows_per_group
    n_rows = int(rows_per_group.sum())
    row_group = torch.repeat_interleave(torch.arange(n_groups, device=device), rows_per_group)
    t_pos = torch.zeros(n_rows, LIST_WIDTH, 2, dtype=dtype, device=device)
    t_q = torch.zeros(n_rows, LIST_WIDTH, dtype=dtype, device=device)
    row, col = row_start[e_group] + rank // LIST_WIDTH, rank % LIST_WIDTH
    t_pos[row, col] = e_pos
    t_q[row, col] = e_q
    # dense evaluation: [rows, GROUP_SIZE, LIST_WIDTH] pairs, in chunks of rows
    g_force = torch.zeros(n_groups, GROUP_SIZE, 2, dtype=dtype, device=device)
    chunk = max(1, (1 << 22) // (GROUP_SIZE * LIST_WIDTH))
    # x and y are handled as separate contiguous planes and the weighted sums over the list are
    # batched matmuls: sum_j w_ij (p_i - p_j) = p_i sum_j w_ij - sum_j w_ij p_j
    gx, gy = g_pos[..., 0].contiguous(), g_pos[..., 1].contiguous()  # [G, S]
    tx, ty = t_pos[..., 0].contiguous(), t_pos[..., 1].contiguous()  # [rows, W]
    power = -(exponent + 1) / 2
    centre_x, centre_y = (g_lo[:, 0] + g_hi[:, 0]) / 2, (g_lo[:, 1] + g_hi[:, 1]) / 2
    for a in range(0, n_rows, chunk):
        rg = row_group[a:a + chunk]
        # coordinates relative to the group's box centre: small numbers, so the two sums below
        # cancel without losing precision
        cx, cy = centre_x[rg].unsqueeze(1), centre_y[rg].unsqueeze(1)
        rx, ry, rt = tx[a:a + chunk] - cx, ty[a:a + chunk] - cy, t_q[a:a + chunk]
        sx, sy = gx[rg] - cx, gy[rg] - cy  # [r, S]
        dx = sx.unsqueeze(2) - rx.unsqueeze(1)  # [r, S, W]
        dy = sy.unsqueeze(2) - ry.unsqueeze(1)
        d2 = (dx * dx).add_(dy * dy)
        # a vertex meets itself (and coincident vertices each other) at distance 0: no force, as in
        # the exact sum; zeroing the weight also avoids the cancellation of two huge terms below
        w = (d2 + eps2).pow_(power).mul_(rt.unsqueeze(1)).masked_fill_(d2 == 0, 0.0)  # q_j / d^(k+1)
        total = w.sum(2)  # [r, S]
        fx = sx * total - torch.bmm(w, rx.unsqueeze(2)).squeeze(2)
        fy = sy * total - torch.bmm(w, ry.unsqueeze(2)).squeeze(2)
        g_force.index_add_(0, rg, torch.stack([fx, fy], -1) * g_q[rg].unsqueeze(-1))
    out[tree.order] = g_force.view(-1, 2)[:n]
    return out


def repulsion(pos: torch.Tensor, charges: torch.Tensor, exponent: float, theta: float, method: str,
              max_depth: int = 16) -> torch.Tensor:
    if method == "exact" or len(pos) <= EXACT_BELOW:
        return exact_repulsion(pos, charges, exponent)
    return barnes_hut_repulsion(pos, charges, exponent, theta, max_depth)


def relative_error(approx: torch.Tensor, exact: torch.Tensor) -> float:
    """Relative L2 error ||approx - exact|| / ||exact||."""
    return float((approx - exact).norm() / exact.norm().clamp_min(1e-30))
