"""The neuron graph: one vertex per (layer, channel, frequency), time excluded.

Edge representation
-------------------
Every connection between two layers of a conv network is a *Kronecker product* of a channel
relation and a frequency relation: a conv joins every input channel to every output channel
(channel relation: all ones) within its frequency kernel extent (frequency relation: a band), a
max-pool joins each output frequency to the 2 inputs it pools, a residual path joins channel c to
channel c (identity) or, through a 1x1 projection, every channel to every channel, at the
(pooled, centre-cropped) frequency it came from.  So the graph is stored as a list of
:class:`Block` ``(src layer, dst layer, K [C_dst, C_src], M [F_dst, F_src])``: the edge
``(src, c', f') -> (dst, c, f)`` exists, with multiplicity ``K[c, c'] * M[f, f']``.  At the
finest level K and M are 0/1 and every edge has the same weight w; the explicit edge list
(:meth:`NeuronGraph.explicit_edges`, e.g. 1.9 M edges for the ``small`` model, tens of millions
for ``seed``) is never built for the layout.

The layout forces are computed *exactly* from this representation, never by sampling or
dropping edges: the attraction on vertex i is ``w * (sum_j A_ij p_j - deg_i p_i)`` and, for a
block, ``sum_j A_ij p_j = (K (x) M) P = K P M^T`` (P: the source layer's positions as a
[C_src, F_src] grid of points) -- a channel sum (K all ones), a channel-wise copy (K diagonal)
or a small matmul, followed by a [F_dst, F_src] matmul.  Cost per step: O(N + sum of K and M
sizes) instead of O(edges).  Breadth-first search for the quality metrics uses the same product.

Coarsening (multilevel layout) merges neighbouring frequencies (or channel pairs) of each layer
with 0/1 restriction matrices R: ``K' = R_dst K R_src^T``, ``M' = R_dst M R_src^T``, so a coarse
graph is again a list of Kronecker blocks, whose entries now count the fine edges they stand for.

The graph of any network is found by *probing* (:func:`probe_graph`): every nonlinearity's
output is replaced by a fresh random leaf tensor during one forward pass, which cuts the
autograd graph between captured layers; the gradient of each layer's pre-activation with respect
to the earlier leaves then shows which layers feed it directly, and summing |gradient| over
(frequency, time) or (channel, time) gives K and M.  This assumes a Kronecker structure per
(src, dst) pair; a connection that is not one (two paths of different shapes between the same two
layers with no nonlinearity between) is over-approximated by the product of its projections.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..activations import hooked, nonlinearity_modules
from ..errors import UserError


def _kind(k: torch.Tensor) -> str:
    """'uniform' (all entries equal), 'diagonal' (square, zero off the diagonal) or 'general'."""
    if bool((k == k.flatten()[0]).all()):
        return "uniform"
    if k.shape[0] == k.shape[1] and bool((k == torch.diag(torch.diagonal(k))).all()):
        return "diagonal"
    return "general"


@dataclass
class Block:
    """Edges from every vertex of layer ``src`` to layer ``dst``: multiplicity K[c, c'] * M[f, f']."""
    src: int
    dst: int
    channels: torch.Tensor  # K [C_dst, C_src]
    frequencies: torch.Tensor  # M [F_dst, F_src]
    kind: str = ""

    def __post_init__(self):
        self.kind = self.kind or _kind(self.channels)

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """(K (x) M) x for source values x [S, C_src, F_src, D] -> [S, C_dst, F_dst, D]."""
        return torch.einsum("ab,scbd->scad", self.frequencies.to(x.dtype), _channels(self.channels, self.kind, x))

    def apply_transpose(self, y: torch.Tensor) -> torch.Tensor:
        """(K (x) M)^T y for destination values y [S, C_dst, F_dst, D] -> [S, C_src, F_src, D]."""
        return torch.einsum("ab,scad->scbd", self.frequencies.to(y.dtype),
                            _channels(self.channels.T, self.kind, y))

    @property
    def n_edges(self) -> int:
        return int(round(float(self.channels.double().sum()) * float(self.frequencies.double().sum())))

    def to(self, device) -> "Block":
        return Block(self.src, self.dst, self.channels.to(device), self.frequencies.to(device), self.kind)


def _channels(k: torch.Tensor, kind: str, x: torch.Tensor) -> torch.Tensor:
    """K x over the channel axis (1) of x [S, C_in, F, D] -> [S, C_out, F, D]."""
    if kind == "uniform":
        total = x.sum(dim=1, keepdim=True) * k.flatten()[0].to(x.dtype)
        return total.expand(x.shape[0], k.shape[0], *x.shape[2:])
    if kind == "diagonal":
        return x * torch.diagonal(k).to(x.dtype).view(1, -1, 1, 1)
    return torch.einsum("ij,sjfd->sifd", k.to(x.dtype), x)


@dataclass
class NeuronGraph:
    names: list[str]
    shapes: list[tuple[int, int]]  # (channels, frequencies) per layer
    blocks: list[Block]
    offsets: list[int] = field(init=False)

    def __post_init__(self):
        self.offsets = [0]
        for c, f in self.shapes:
            self.offsets.append(self.offsets[-1] + c * f)

    # --- sizes -----------------------------------------------------------------------------------
    @property
    def num_vertices(self) -> int:
        return self.offsets[-1]

    @property
    def num_edges(self) -> int:
        """Edges counted with multiplicity (at the finest level: the number of explicit edges)."""
        return sum(b.n_edges for b in self.blocks)

    def to(self, device) -> "NeuronGraph":
        return NeuronGraph(list(self.names), list(self.shapes), [b.to(device) for b in self.blocks])

    def index_table(self) -> np.ndarray:
        """[N, 3] int32: (layer, channel, frequency) of every vertex."""
        rows = []
        for layer, (c, f) in enumerate(self.shapes):
            cc, ff = np.meshgrid(np.arange(c), np.arange(f), indexing="ij")
            rows.append(np.stack([np.full(c * f, layer), cc.ravel(), ff.ravel()], axis=1))
        return np.concatenate(rows).astype(np.int32)

    def layer_of_vertex(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.shapes)), np.diff(self.offsets)).astype(np.int32)

    # --- the structured adjacency ----------------------------------------------------------------
    def _grid(self, x: torch.Tensor, layer: int) -> torch.Tensor:
        """x [S, N, D] -> layer's slice as [S, C, F, D]."""
        c, f = self.shapes[layer]
        return x[:, self.offsets[layer]: self.offsets[layer + 1]].reshape(x.shape[0], c, f, x.shape[-1])

    def adjacency_product(self, x: torch.Tensor) -> torch.Tensor:
        """A x for the symmetric adjacency (with multiplicities): x [S, N, D] -> [S, N, D]."""
        out = torch.zeros_like(x)
        for b in self.blocks:
            c_d, f_d = self.shapes[b.dst]
            c_s, f_s = self.shapes[b.src]
            out[:, self.offsets[b.dst]: self.offsets[b.dst + 1]] += \
                b.apply(self._grid(x, b.src)).reshape(x.shape[0], c_d * f_d, x.shape[-1])
            out[:, self.offsets[b.src]: self.offsets[b.src + 1]] += \
                b.apply_transpose(self._grid(x, b.dst)).reshape(x.shape[0], c_s * f_s, x.shape[-1])
        return out

    def degrees(self) -> torch.Tensor:
        """[N] weighted degree (sum of multiplicities) of every vertex."""
        device = self.blocks[0].channels.device if self.blocks else "cpu"
        deg = torch.zeros(self.num_vertices, dtype=torch.float64, device=device)
        for b in self.blocks:
            k, m = b.channels.double(), b.frequencies.double()
            deg[self.offsets[b.dst]: self.offsets[b.dst + 1]] += torch.outer(k.sum(1), m.sum(1)).flatten()
            deg[self.offsets[b.src]: self.offsets[b.src + 1]] += torch.outer(k.sum(0), m.sum(0)).flatten()
        return deg

    def attraction(self, pos: torch.Tensor, weight: float, degrees: torch.Tensor | None = None) -> torch.Tensor:
        """sum_j w A_ij (p_j - p_i) for positions [N, 2] -> [N, 2], exactly, without an edge list."""
        deg = self.degrees().to(pos.dtype) if degrees is None else degrees
        neighbour_sum = self.adjacency_product(pos.unsqueeze(0))[0]
        return weight * (neighbour_sum - deg.unsqueeze(-1) * pos)

    def dense_adjacency(self) -> torch.Tensor:
        """[N, N] symmetric adjacency with multiplicities, built from the blocks (small graphs only:
        the coarse levels of the multilevel layout, where one matmul beats the per-block products)."""
        device = self.blocks[0].channels.device if self.blocks else "cpu"
        a = torch.zeros(self.num_vertices, self.num_vertices, device=device)
        for b in self.blocks:
            block = torch.kron(b.channels.float(), b.frequencies.float())  # [C_d F_d, C_s F_s]
            d = slice(self.offsets[b.dst], self.offsets[b.dst + 1])
            s = slice(self.offsets[b.src], self.offsets[b.src + 1])
            a[d, s] += block
            a[s, d] += block.T
        return a

    def explicit_edges(self) -> np.ndarray:
        """[E, 2] int64 (src vertex, dst vertex): every edge once (finest level only)."""
        out = []
        for b in self.blocks:
            kk = torch.nonzero(b.channels).cpu().numpy()
            mm = torch.nonzero(b.frequencies).cpu().numpy()
            f_s, f_d = self.shapes[b.src][1], self.shapes[b.dst][1]
            src = self.offsets[b.src] + kk[:, 1, None] * f_s + mm[None, :, 1]
            dst = self.offsets[b.dst] + kk[:, 0, None] * f_d + mm[None, :, 0]
            out.append(np.stack([src.ravel(), dst.ravel()], axis=1))
        return np.concatenate(out).astype(np.int64) if out else np.zeros((0, 2), np.int64)

    def sample_edges(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """[count, 2] edges drawn uniformly (with replacement) from the explicit edge list."""
        sizes = np.array([b.n_edges for b in self.blocks], dtype=np.float64)
        which = rng.choice(len(self.blocks), size=count, p=sizes / sizes.sum())
        out = np.zeros((count, 2), np.int64)
        for i, b in enumerate(self.blocks):
            sel = np.flatnonzero(which == i)
            if not len(sel):
                continue
            kk = torch.nonzero(b.channels).cpu().numpy()
            mm = torch.nonzero(b.frequencies).cpu().numpy()
            ki, mi = kk[rng.integers(len(kk), size=len(sel))], mm[rng.integers(len(mm), size=len(sel))]
            f_s, f_d = self.shapes[b.src][1], self.shapes[b.dst][1]
            out[sel, 0] = self.offsets[b.src] + ki[:, 1] * f_s + mi[:, 1]
            out[sel, 1] = self.offsets[b.dst] + ki[:, 0] * f_d + mi[:, 0]
        return out

    def hop_distances(self, sources: torch.Tensor, max_hops: int = 1000) -> torch.Tensor:
        """Breadth-first search from each source: [S, N] hop counts (-1: unreachable)."""
        n = self.num_vertices
        dist = torch.full((len(sources), n), -1, dtype=torch.int32)
        frontier = torch.zeros(len(sources), n, 1)
        frontier[torch.arange(len(sources)), sources] = 1.0
        dist[torch.arange(len(sources)), sources] = 0
        for hop in range(1, max_hops + 1):
            reached = (self.adjacency_product(frontier)[..., 0] > 0) & (dist < 0)
            if not reached.any():
                break
            dist[reached] = hop
            frontier = reached.unsqueeze(-1).float()
        return dist

    # --- multilevel --------------------------------------------------------------------------------
    def coarsen(self) -> tuple["NeuronGraph", torch.Tensor]:
        """Merge neighbouring frequency pairs (or channel pairs, where a layer has more channels
        than frequencies) of every layer.  Returns (coarse graph, parent [N] -> coarse vertex)."""
        restrict_c, restrict_f, shapes, parents = [], [], [], []
        offset = 0
        for c, f in self.shapes:
            rc, rf = torch.eye(c), torch.eye(f)
            if c * f > 1:
                if f >= c:
                    rf = _pair_restriction(f)
                else:
                    rc = _pair_restriction(c)
            restrict_c.append(rc)
            restrict_f.append(rf)
            pc, pf = rc.argmax(0), rf.argmax(0)  # fine index -> coarse index
            parents.append(offset + (pc[:, None] * rf.shape[0] + pf[None, :]).flatten())
            shapes.append((rc.shape[0], rf.shape[0]))
            offset += rc.shape[0] * rf.shape[0]
        blocks = []
        for b in self.blocks:
            dev = b.channels.device
            k = restrict_c[b.dst].to(dev) @ b.channels.float() @ restrict_c[b.src].to(dev).T
            m = restrict_f[b.dst].to(dev) @ b.frequencies.float() @ restrict_f[b.src].to(dev).T
            blocks.append(Block(b.src, b.dst, k, m))
        return NeuronGraph(list(self.names), shapes, blocks), torch.cat(parents)


def _pair_restriction(n: int) -> torch.Tensor:
    """[ceil(n/2), n] 0/1: coarse i = fine 2i and 2i+1."""
    r = torch.zeros((n + 1) // 2, n)
    r[torch.arange(n) // 2, torch.arange(n)] = 1.0
    return r


def multilevel(graph: NeuronGraph, coarsest_size: int) -> tuple[list[NeuronGraph], list[torch.Tensor]]:
    """[finest, ..., coarsest] graphs and the parent maps between consecutive levels."""
    graphs, parents = [graph], []
    while graphs[-1].num_vertices > coarsest_size:
        coarse, parent = graphs[-1].coarsen()
        if coarse.num_vertices == graphs[-1].num_vertices:
            break
        graphs.append(coarse)
        parents.append(parent)
    return graphs, parents


# --- probing any network -----------------------------------------------------------------------

@contextlib.contextmanager
def _probing(model: nn.Module):
    """eval mode (batch norm must not mix positions) and no in-place nonlinearities."""
    training = model.training
    inplace = [(m, m.inplace) for _, m in nonlinearity_modules(model) if hasattr(m, "inplace")]
    model.eval()
    for m, _ in inplace:
        m.inplace = False
    try:
        yield
    finally:
        model.train(training)
        for m, flag in inplace:
            m.inplace = flag


def _relation(pre: torch.Tensor, leaves: list[torch.Tensor], axis: int, n_rows: int) -> list:
    """For each leaf: [n_rows, size of the leaf's ``axis``] bool, True where row r of ``pre``
    along ``axis`` (1 = channel, 2 = frequency, of a [B, C, F, T] view) depends on that leaf
    position; None when ``pre`` does not depend on the leaf at all.  One backward pass per row
    (plain loops beat vmap-batched gradients here by far)."""
    pre4 = pre if pre.dim() == 4 else pre.unsqueeze(2)
    rows: list[list] = [[] for _ in leaves]
    dims = (0, 2, 3) if axis == 1 else (0, 1, 3)
    for r in range(n_rows):
        grad = torch.zeros_like(pre4)
        if axis == 1:
            grad[:, r] = 1.0
        else:
            grad[:, :, r] = 1.0
        grads = torch.autograd.grad(pre, leaves, grad.view_as(pre), retain_graph=True, allow_unused=True)
        for i, g in enumerate(grads):
            if g is not None:
                g4 = g if g.dim() == 4 else g.unsqueeze(2)
                rows[i].append(g4.abs().sum(dim=dims) > 0)
            else:
                rows[i].append(None)
    return [None if any(x is None for x in r) else torch.stack(r) for r in rows]


def probe_graph(model: nn.Module, example_input: torch.Tensor | tuple) -> NeuronGraph:
    """The neuron graph of ``model``, found from one forward pass on ``example_input`` (see the
    module docstring).  Raises :class:`UserError` when the model has no nonlinearity modules."""
    nonlinearity_modules(model)  # clear error first
    pres, leaves, names = [], [], []

    def swap(layer, module, inputs, output):
        if output.dim() not in (2, 3, 4):
            raise UserError(f"layer {layer} puts out shape {tuple(output.shape)}: expected "
                            f"[batch, channel, (frequency,) time]")
        leaf = (torch.rand_like(output) + 0.5).requires_grad_(True)
        pre = inputs[0]
        names.append(layer)
        pres.append(pre.unsqueeze(-1) if output.dim() == 2 else pre)
        leaves.append(leaf.unsqueeze(-1) if output.dim() == 2 else leaf)
        return leaf

    args = example_input if isinstance(example_input, tuple) else (example_input,)
    with _probing(model), torch.enable_grad(), hooked(model, swap):
        model(*args)
    if not names:
        raise UserError(f"{type(model).__name__}: no nonlinearity was called in the forward pass")
    shapes = [(leaf.shape[1], leaf.shape[2] if leaf.dim() == 4 else 1) for leaf in leaves]
    blocks = []
    for dst, pre in enumerate(pres):
        earlier = leaves[:dst]
        if not earlier or not pre.requires_grad:
            continue
        k_rel = _relation(pre, earlier, 1, shapes[dst][0])
        used = [i for i, k in enumerate(k_rel) if k is not None and bool(k.any())]
        if not used:
            continue
        m_rel = _relation(pre, [earlier[i] for i in used], 2, shapes[dst][1])
        for i, m in zip(used, m_rel):
            blocks.append(Block(i, dst, k_rel[i].float().cpu(), m.float().cpu()))
    return NeuronGraph(names, shapes, blocks)
