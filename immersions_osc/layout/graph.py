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

Building the graph (:func:`probe_graph`): one forward pass where every nonlinearity's output is
replaced by a fresh random leaf tensor, which cuts the autograd graph between captured layers.
Then, for every layer, the autograd graph of its pre-activation back to the earlier leaves is
*read*: convolutions (kernel, stride, padding, dilation, groups), batch norm, max/avg/adaptive
pooling, padding, cropping (slices), sums, element-wise functions, squeeze/unsqueeze, flattening
a pooled map and dense layers each map "which source rows feed destination row r" exactly, so K
and M follow by a few small boolean matrix products (the ``seed`` model: 0.15 s instead of 44 s
of probing).  A layer with anything else between it and its sources is *probed*: the gradient of
its pre-activation with respect to the earlier leaves shows which layers feed it and summing
|gradient| over (frequency, time) or (channel, time) gives K and M; the probe runs once over a
batch of copies of the input, batch element r carrying row r's gradient, so one backward pass
serves all rows (a model whose batch elements interact is probed row by row).  This assumes a
Kronecker structure per (src, dst) pair; a connection that is not one (two paths of different
shapes between the same two layers with no nonlinearity between) is over-approximated by the
product of its projections.  Probing a max-pool sees only each window's argmax, so probing is
exact only with enough positions; reading is exact.  ``cached_graph`` keeps the graph in an .npz
beside the layout (keyed by the module tree, parameter shapes and probe input shape).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import numpy as np
import torch
from torch import nn

from ..activations import NONLINEARITIES, hooked, nonlinearity_modules
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
    # layers whose incoming connections were probed rather than read (see probe_graph)
    probed: list[int] = field(default_factory=list, compare=False)

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
    # parameters that need gradients make autograd keep the inputs of every operation (what the
    # structure reader reads): a frozen model (LoopAscent freezes its model) is unfrozen meanwhile
    frozen = [p for p in model.parameters() if not p.requires_grad]
    model.eval()
    for m, _ in inplace:
        m.inplace = False
    for p in frozen:
        p.requires_grad_(True)
    try:
        yield
    finally:
        model.train(training)
        for m, flag in inplace:
            m.inplace = flag
        for p in frozen:
            p.requires_grad_(False)


def _shapes(leaf: torch.Tensor) -> tuple[int, int]:
    """(channels, frequencies) of a captured layer tensor [B, C, (F,) T]."""
    return leaf.shape[1], leaf.shape[2] if leaf.dim() == 4 else 1


def _as4(x: torch.Tensor) -> torch.Tensor:
    """[B, C, F, T] view of [B, C, F, T], [B, C, T] or [B, C]."""
    return x if x.dim() == 4 else x.unsqueeze(2) if x.dim() == 3 else x[:, :, None, None]


def _rows_gradient(pre: torch.Tensor, axis: int, n_rows: int, batch: int) -> torch.Tensor:
    """grad_output for the batched probe: batch element r is one along row r of ``axis``
    (1 = channel, 2 = frequency of the [B, C, F, T] view); elements n_rows.. are zero."""
    grad = torch.zeros_like(_as4(pre))
    rows = torch.arange(n_rows, device=pre.device)
    if axis == 1:
        grad[rows, rows] = 1.0
    else:
        grad[rows, :, rows] = 1.0
    return grad.view_as(pre)


def _batched_relation(pre: torch.Tensor, leaves: list[torch.Tensor], axis: int, n_rows: int) -> list:
    """For each leaf: [n_rows, size of the leaf's ``axis``] bool, True where row r of ``pre``
    depends on that leaf position; None when ``pre`` does not depend on the leaf at all.

    One backward pass for all rows: the probe's forward pass ran on a batch of identical inputs
    and batch element r carries row r's gradient (models whose batch elements do not mix: checked,
    element ``n_rows`` carries none and must receive none)."""
    grads = torch.autograd.grad(pre, leaves, _rows_gradient(pre, axis, n_rows, pre.shape[0]),
                                retain_graph=True, allow_unused=True)
    dims = (2, 3) if axis == 1 else (1, 3)
    out = []
    for g in grads:
        if g is None:
            out.append(None)
            continue
        g4 = _as4(g).abs()
        if bool(g4[n_rows:].sum() > 0):
            raise _BatchMixing()
        out.append(g4[:n_rows].sum(dim=dims) > 0)
    return out


class _BatchMixing(Exception):
    """The model mixes batch elements (the batched probe does not apply)."""


def _relation(pre: torch.Tensor, leaves: list[torch.Tensor], axis: int, n_rows: int) -> list:
    """The same as :func:`_batched_relation` on a batch of one: one backward pass per row."""
    pre4 = _as4(pre)
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
                rows[i].append(_as4(g).abs().sum(dim=dims) > 0)
            else:
                rows[i].append(None)
    return [None if any(x is None for x in r) else torch.stack(r) for r in rows]


# --- reading the structure from the autograd graph --------------------------------------------------

class _Unknown(Exception):
    """A step between two layers that :func:`_read_relations` does not know: probe that layer."""


_BUDGET = 20_000  # node visits per layer before giving up (pathological graphs: probe instead)


def _signed(d: int) -> int:
    return d - (1 << 64) if d >= 1 << 63 else d


def _window(n_out: int, n_in: int, kernel: int, stride: int, padding: int, dilation: int) -> torch.Tensor:
    """[n_out, n_in] 0/1: output row o reads input rows o * stride - padding + j * dilation."""
    o = torch.arange(n_out)[:, None]
    idx = o * stride - padding + torch.arange(kernel)[None, :] * dilation  # [n_out, kernel]
    w = torch.zeros(n_out, n_in)
    ok = (idx >= 0) & (idx < n_in)
    w[o.expand_as(idx)[ok], idx[ok]] = 1.0
    return w


def _adaptive(n_out: int, n_in: int) -> torch.Tensor:
    w = torch.zeros(n_out, n_in)
    for o in range(n_out):
        w[o, (o * n_in) // n_out: -(-(o + 1) * n_in // n_out)] = 1.0
    return w


class _At(NamedTuple):
    """One autograd node on the way back from a layer's pre-activation, with the relation of the
    destination's rows to the node's output: what a rule reads."""
    node: Any  # the autograd node
    name: str  # its type name, the key of the rule table
    next: tuple  # node.next_functions: (input node, index) per input
    rank: int  # of the node's output: [B, C, F, T] = 4, [B, C, T] = 3, [B, C] = 2 (F = 1 below 4)
    k: torch.Tensor  # bool [C_dst, C_out]: destination channel -> output channels it depends on
    m: torch.Tensor  # bool [F_dst, F_out]: the same for frequencies
    is_probe: Callable[[Any], bool]  # whether an autograd node is an earlier layer's leaf

    def through(self, i: int = 0, rank: int | None = None, k: torch.Tensor | None = None,
                m: torch.Tensor | None = None) -> tuple:
        """(input i, rank, K, M) to read on from: what is not given stays as it is at the output."""
        return (self.next[i][0], self.rank if rank is None else rank, self.k if k is None else k,
                self.m if m is None else m)

    def unknown(self) -> _Unknown:
        return _Unknown(self.name)


_Rule = Callable[[_At], list]
_RULES: dict[str, _Rule] = {}  # autograd node type name -> its rule (see _step)


def _rule(*names: str) -> Callable[[_Rule], _Rule]:
    """Register the decorated function as the rule for the autograd nodes ``names``."""
    def register(fn: _Rule) -> _Rule:
        for name in names:
            _RULES[name] = fn
        return fn
    return register


def _no_rule(at: _At) -> list:
    """Any other node: its structure is not read (the layer is probed instead)."""
    raise at.unknown()


def _step(node, rank: int, k: torch.Tensor, m: torch.Tensor, is_probe) -> list:
    """The relation of the rows of the destination to this node's *inputs*, from its relation to
    the node's output: [(next node, input rank, K, M)].  ``rank``: of the node's output
    ([B, C, F, T] = 4, [B, C, T] = 3, [B, C] = 2; F = 1 below rank 4).  One rule per kind of
    node (``_RULES``); a node without one raises :class:`_Unknown`."""
    name = type(node).__name__
    at = _At(node, name, node.next_functions, rank, k, m, is_probe)
    return _RULES.get(name, _no_rule)(at)


@_rule(*"ReluBackward0 ReluBackward1 GeluBackward0 SigmoidBackward0 TanhBackward0 LeakyReluBackward0 "
       "LeakyReluBackward1 HardtanhBackward0 SiluBackward0 EluBackward0 MishBackward0 SoftplusBackward0 "
       "HardswishBackward0 HardsigmoidBackward0 NegBackward0 MulBackward1 DivBackward1 AddBackward1 "
       "SubBackward1 CloneBackward0 AliasBackward0 ToCopyBackward0 NativeDropoutBackward0 "
       "PowBackward0".split())
def _elementwise(at: _At) -> list:
    """One output position from the same position of the first input."""
    return [at.through()]


@_rule("NativeBatchNormBackward0", "CudnnBatchNormBackward0", "MiopenBatchNormBackward0")
def _batch_norm(at: _At) -> list:
    """Element-wise (eval mode), when its saved input has the output's shape."""
    saved = getattr(at.node, "_saved_input", None)
    if saved is not None:
        shape = saved.shape
        if len(shape) != at.rank or shape[1] != at.k.shape[1] or (at.rank == 4 and shape[2] != at.m.shape[1]):
            raise at.unknown()
    return [at.through()]


@_rule("MulBackward0", "DivBackward0")
def _by_scalar(at: _At) -> list:
    """A product or quotient with a one-element constant: element-wise in the other factor (the
    only input with a gradient besides parameters; a layer's leaf counts as data)."""
    data = [i for i, (fn, _) in enumerate(at.next) if fn is not None
            and not (type(fn).__name__ == "AccumulateGrad" and not at.is_probe(fn))]
    if data == [0]:
        other = getattr(at.node, "_saved_other", None)
        if other is not None and other.numel() == 1:
            return [at.through(0)]
    if data == [1] and at.name == "MulBackward0":
        other = getattr(at.node, "_saved_self", None)
        if other is not None and other.numel() == 1:
            return [at.through(1)]
    raise at.unknown()


@_rule("AddBackward0", "SubBackward0")
def _sum_of_inputs(at: _At) -> list:
    """Every input at the output's position."""
    return [(fn, at.rank, at.k, at.m) for fn, _ in at.next]


@_rule("ConvolutionBackward0")
def _convolution(at: _At) -> list:
    """Channels through the (grouped) kernel's channel blocks, frequencies through its window
    (1-d convolutions: channels only)."""
    node, rank, k, m = at.node, at.rank, at.k, at.m
    x, w = node._saved_input, node._saved_weight
    if node._saved_transposed or x.dim() != rank or rank not in (3, 4):
        raise at.unknown()
    groups = node._saved_groups
    c_out, c_in = w.shape[0], x.shape[1]
    if groups == 1:
        kc = torch.ones(c_out, c_in)
    else:
        kc = torch.block_diag(*[torch.ones(c_out // groups, c_in // groups)] * groups)
    k2 = (k.float() @ kc) > 0
    if rank == 4:
        f_in = x.shape[2]
        band = _window(m.shape[1], f_in, w.shape[2], node._saved_stride[0], node._saved_padding[0],
                       node._saved_dilation[0])
        m2 = (m.float() @ band) > 0
    else:
        m2 = m
    return [at.through(0, rank, k2, m2)]


@_rule("MaxPool2DWithIndicesBackward0", "AvgPool2DBackward0")
def _pool(at: _At) -> list:
    """Channel by channel, frequencies through the pooling window."""
    node, m = at.node, at.m
    x = node._saved_self
    if x.dim() != 4 or at.rank != 4 or x.shape[1] != at.k.shape[1]:
        raise at.unknown()
    kernel, stride, padding = node._saved_kernel_size, node._saved_stride, node._saved_padding
    dilation = getattr(node, "_saved_dilation", (1, 1))
    stride = stride or kernel
    band = _window(m.shape[1], x.shape[2], kernel[0], stride[0], padding[0], dilation[0])
    return [at.through(0, 4, at.k, (m.float() @ band) > 0)]


@_rule("AdaptiveAvgPool2DBackward0", "AdaptiveMaxPool2DBackward0")
def _adaptive_pool(at: _At) -> list:
    """Channel by channel, frequencies through the adaptive windows."""
    x = at.node._saved_self
    if x.dim() != 4 or at.rank != 4 or x.shape[1] != at.k.shape[1]:
        raise at.unknown()
    return [at.through(0, 4, at.k, (at.m.float() @ _adaptive(at.m.shape[1], x.shape[2])) > 0)]


@_rule("MeanBackward1", "SumBackward1")
def _reduction(at: _At) -> list:
    """A mean or sum over frequency and/or time: every frequency, when frequency is reduced."""
    node, m = at.node, at.m
    sizes = tuple(node._saved_self_sym_sizes)
    dims = {_signed(d) % len(sizes) for d in node._saved_dim}
    keep = bool(node._saved_keepdim)
    if len(sizes) != 4 or sizes[1] != at.k.shape[1] or not dims or not dims <= {2, 3}:
        raise at.unknown()
    out_rank = 4 if keep else 4 - len(dims)
    if out_rank != at.rank or (not keep and dims == {3}):  # [B, C, F] would read as [B, C, T]
        raise at.unknown()
    if 2 in dims:
        m = (m.float() @ torch.ones(1, sizes[2])) > 0
    return [at.through(0, 4, at.k, m)]


@_rule("ConstantPadNdBackward0")
def _constant_pad(at: _At) -> list:
    """Padding of time (unchanged) or of frequency (a shift by the padding before)."""
    rank, m = at.rank, at.m
    pad = list(at.node._saved_pad)
    if len(pad) <= 2 or (rank == 4 and len(pad) == 4):
        if len(pad) == 4:
            lo, hi = pad[2], pad[3]
            f_in = m.shape[1] - lo - hi
            if f_in < 1:
                raise at.unknown()
            shift = torch.zeros(m.shape[1], f_in)
            rows = torch.arange(f_in)
            ok = (rows + lo >= 0) & (rows + lo < m.shape[1])
            shift[(rows + lo)[ok], rows[ok]] = 1.0
            m = (m.float() @ shift) > 0
        return [at.through(0, rank, at.k, m)]
    raise at.unknown()


@_rule("SliceBackward0")
def _slice(at: _At) -> list:
    """A crop: of batch or time (unchanged), of channels or of frequencies (a selection)."""
    node, rank, k, m = at.node, at.rank, at.k, at.m
    sizes = tuple(node._saved_self_sym_sizes)
    d = _signed(node._saved_dim) % len(sizes)
    if len(sizes) != rank:
        raise at.unknown()
    time_axis = rank - 1 if rank > 2 else None
    if d == 0 or d == time_axis:
        return [at.through(0, rank, k, m)]
    start, end, step = _signed(node._saved_start or 0), node._saved_end, node._saved_step
    n = sizes[d]
    idx = torch.arange(n)[slice(start, None if end is None else min(_signed(end), n), step)]
    sel = torch.zeros(len(idx), n)
    sel[torch.arange(len(idx)), idx] = 1.0
    if d == 1:
        return [at.through(0, rank, (k.float() @ sel) > 0, m)]
    return [at.through(0, rank, k, (m.float() @ sel) > 0)]


@_rule("SqueezeBackward1")
def _squeeze(at: _At) -> list:
    """Dropping a frequency axis of one: the input has one rank more."""
    rank = at.rank
    sizes = tuple(at.node._saved_self_sym_sizes)
    d = _signed(at.node._saved_dim) % len(sizes)
    if len(sizes) == 4 and rank == 3 and d == 2 and sizes[2] == 1:
        return [at.through(0, 4, at.k, at.m)]
    if len(sizes) == 3 and rank == 2 and d == 2 and sizes[2] == 1:  # a dense layer's [B, C, 1] leaf
        return [at.through(0, 3, at.k, at.m)]
    raise at.unknown()


@_rule("UnsqueezeBackward0")
def _unsqueeze(at: _At) -> list:
    """Adding a frequency axis of one: the input has one rank less."""
    rank = at.rank
    d = _signed(at.node._saved_dim) % rank
    if rank == 4 and d == 2 and at.m.shape[1] == 1:
        return [at.through(0, 3, at.k, at.m)]
    if rank == 3 and d == 2:  # [B, C] -> [B, C, 1]: a dense layer
        return [at.through(0, 2, at.k, at.m)]
    raise at.unknown()


@_rule("ViewBackward0", "UnsafeViewBackward0", "ReshapeAliasBackward0")
def _flatten(at: _At) -> list:
    """Flattening a map pooled to one frequency and one time step into [B, C]."""
    sizes = tuple(at.node._saved_self_sym_sizes)
    k, m = at.k, at.m
    if at.rank == 2 and len(sizes) in (3, 4) and all(s == 1 for s in sizes[2:]) and sizes[1] == k.shape[1]:
        return [at.through(0, len(sizes), k, torch.ones(m.shape[0], 1, dtype=torch.bool))]
    raise at.unknown()


@_rule("AddmmBackward0")
def _dense(at: _At) -> list:
    """A dense layer: every input channel to every output channel (a bias that is an earlier
    layer's leaf: channel to channel)."""
    nxt, k, m = at.next, at.k, at.m
    x = at.node._saved_mat1
    if at.rank != 2 or x.dim() != 2 or at.is_probe(nxt[2][0]):
        raise at.unknown()
    k2 = (k.float() @ torch.ones(k.shape[1], x.shape[1])) > 0
    out = [at.through(1, 2, k2, m)]
    if nxt[0][0] is not None and at.is_probe(nxt[0][0]):
        out.append(at.through(0, 2, k, m))
    return out


@_rule("AccumulateGrad")
def _parameter(at: _At) -> list:
    """A parameter (an earlier layer's leaf never gets here: _read_relations stops there)."""
    return []


def _read_relations(pre: torch.Tensor, leaves: list[torch.Tensor]) -> list:
    """For each leaf (raw, as the model put it out): (K [C_dst, C_src], M [F_dst, F_src]) bool,
    or None when ``pre`` does not depend on it -- read from the autograd graph of ``pre`` through
    known operations (convolutions, batch norm, pooling, padding, cropping, sums, element-wise
    functions, squeeze/unsqueeze, dense layers).  Raises :class:`_Unknown` at anything else."""
    index = {id(leaf): i for i, leaf in enumerate(leaves)}

    def probe_leaf(fn) -> int | None:
        if fn is not None and type(fn).__name__ == "AccumulateGrad":
            return index.get(id(fn.variable))
        return None

    rank = pre.dim()
    c, f = pre.shape[1], pre.shape[2] if rank == 4 else 1
    found: list = [None] * len(leaves)
    stack = [(pre.grad_fn, rank, torch.eye(c, dtype=torch.bool), torch.eye(f, dtype=torch.bool))]
    visits = 0
    while stack:
        node, r, k, m = stack.pop()
        if node is None:
            continue
        visits += 1
        if visits > _BUDGET:
            raise _Unknown("too many paths")
        i = probe_leaf(node)
        if i is not None:
            leaf = leaves[i]
            lc, lf = leaf.shape[1], leaf.shape[2] if leaf.dim() == 4 else 1
            if leaf.dim() != r or k.shape[1] != lc or m.shape[1] != lf:
                raise _Unknown("leaf shape")
            if found[i] is None:
                found[i] = (k.clone(), m.clone())
            else:
                found[i] = (found[i][0] | k, found[i][1] | m)
            continue
        try:
            stack.extend(_step(node, r, k, m, lambda fn: probe_leaf(fn) is not None))
        except (AttributeError, RuntimeError, TypeError, IndexError) as exc:  # a saved value missing or odd
            raise _Unknown(f"{type(node).__name__}: {exc}") from None
    return found


def _repeat_batch(example_input, n: int):
    args = example_input if isinstance(example_input, tuple) else (example_input,)
    out = []
    for a in args:
        if not isinstance(a, torch.Tensor) or a.dim() == 0 or a.shape[0] != 1:
            raise _BatchMixing()  # only a batch of one can be repeated
        out.append(a.expand(n, *a.shape[1:]).contiguous())
    return tuple(out)


def _probe_pass(model: nn.Module, args: tuple):
    """One forward pass with every layer's output replaced by a random leaf: (names, pres,
    leaves), both in the canonical [B, C, (F,) T] layout (dense layers: [B, C, 1]).  The
    pre-activation of a nonlinearity is its input; of any other neuron module, its output."""
    pres, leaves, names = [], [], []

    def swap(layer, module, inputs, output):
        leaf = (torch.rand_like(output) + 0.5).requires_grad_(True)
        first = inputs[0] if inputs else None
        elementwise = isinstance(module, NONLINEARITIES) and isinstance(first, torch.Tensor) \
            and first.shape == output.shape
        names.append(layer)
        pres.append(first if elementwise else output)
        leaves.append(leaf)
        return leaf

    with _probing(model), torch.enable_grad(), hooked(model, swap):
        model(*args)
    if not names:
        raise UserError(f"{type(model).__name__}: no nonlinearity was called in the forward pass")
    return names, pres, leaves, leaves


def probe_graph(model: nn.Module, example_input: torch.Tensor | tuple, method: str = "auto") -> NeuronGraph:
    """The neuron graph of ``model``, found from a forward pass on ``example_input`` (see the
    module docstring).  Raises :class:`UserError` when the model has no nonlinearity modules.

    ``method``:
      * ``"auto"`` (default): every layer's connections are read from the autograd graph of one
        forward pass where the steps between layers are known operations (convolution, batch
        norm, pooling, padding, cropping, sums, element-wise functions, dense layers); the
        layers with anything else between them are probed, batched (below);
      * ``"batched"``: probe every layer with the input repeated over a batch as wide as the
        widest layer axis, one backward pass per layer and axis (models whose batch elements
        interact fall back to ``"rows"`` by themselves);
      * ``"rows"``: one backward pass per row of every layer (the reference; slow).
    """
    if method not in ("auto", "batched", "rows"):
        raise ValueError(f"unknown probe method {method!r}")
    nonlinearity_modules(model)  # clear error first
    args = example_input if isinstance(example_input, tuple) else (example_input,)
    names, pres, leaves, raw = _probe_pass(model, args)
    shapes = [_shapes(leaf) for leaf in leaves]
    relations: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}
    unknown = list(range(1, len(pres)))
    if method == "auto":
        unknown = []
        for dst in range(1, len(pres)):
            if pres[dst].grad_fn is None:
                continue
            try:
                found = _read_relations(pres[dst], raw[:dst])
            except _Unknown:
                unknown.append(dst)
                continue
            for src, rel in enumerate(found):
                if rel is not None and bool(rel[0].any()) and bool(rel[1].any()):
                    relations[(src, dst)] = rel
    if unknown:
        relations.update(_probed(model, example_input, args, unknown, method))
    blocks = [Block(src, dst, k.float().cpu(), m.float().cpu()) for (src, dst), (k, m) in sorted(
        relations.items(), key=lambda item: (item[0][1], item[0][0]))]
    graph = NeuronGraph(names, shapes, blocks)
    graph.probed = list(unknown)
    return graph


def _probed(model: nn.Module, example_input, args: tuple, layers: list[int], method: str) -> dict:
    """{(src, dst): (K, M)} for the destination ``layers``, by autograd probing."""
    if method != "rows":
        try:
            with torch.no_grad(), _probing(model):
                shapes = []
                with hooked(model, lambda layer, m, i, out: shapes.append(_shapes(out))):
                    model(*args)
            width = max(max(shapes[d]) for d in layers) + 1  # + 1: a spare element that must stay zero
            return _relations(model, _repeat_batch(example_input, width), layers, _batched_relation)
        except _BatchMixing:
            pass
    return _relations(model, args, layers, _relation)


def _relations(model: nn.Module, args: tuple, layers: list[int], relation) -> dict:
    _, pres, leaves, raw = _probe_pass(model, args)
    out = {}
    for dst in layers:
        # the gradients go to the tensors the model used (a dense layer's [B, C] leaf, not its view)
        pre, earlier = pres[dst], raw[:dst]
        if not earlier or not pre.requires_grad:
            continue
        k_rel = relation(pre, earlier, 1, _shapes(leaves[dst])[0])
        used = [i for i, k in enumerate(k_rel) if k is not None and bool(k.any())]
        if not used:
            continue
        m_rel = relation(pre, [earlier[i] for i in used], 2, _shapes(leaves[dst])[1])
        for i, m in zip(used, m_rel):
            out[(i, dst)] = (k_rel[i], m)
    return out


# --- the cache beside the layout ----------------------------------------------------------------

GRAPH_FORMAT = "immersions-graph-1"


def graph_key(model: nn.Module, example_input: torch.Tensor | tuple) -> str:
    """What the graph depends on: the module tree (types and settings), every parameter's and
    buffer's shape, and the probe input's shape.  (A model whose ``forward`` code changed while
    all of these stayed the same keeps its key: delete the cache file then.)"""
    import hashlib

    args = example_input if isinstance(example_input, tuple) else (example_input,)
    h = hashlib.sha256(GRAPH_FORMAT.encode())
    h.update(repr(model).encode())
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        h.update(f"{name}{tuple(t.shape)}".encode())
    h.update(repr([tuple(a.shape) for a in args if isinstance(a, torch.Tensor)]).encode())
    return h.hexdigest()


def save_graph(path: str, graph: NeuronGraph, key: str) -> None:
    """Write ``graph`` (names, shapes, blocks) to an .npz, atomically."""
    import io

    from ..atomic import atomic_write_bytes

    arrays = {"format": np.array(GRAPH_FORMAT), "key": np.array(key), "names": np.array(graph.names, dtype=str),
              "shapes": np.array(graph.shapes, np.int64).reshape(-1, 2),
              "pairs": np.array([[b.src, b.dst] for b in graph.blocks], np.int64).reshape(-1, 2)}
    for i, b in enumerate(graph.blocks):
        arrays[f"k{i}"] = b.channels.cpu().numpy().astype(np.uint8)
        arrays[f"m{i}"] = b.frequencies.cpu().numpy().astype(np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def load_graph(path: str, key: str) -> NeuronGraph | None:
    """The cached graph at ``path`` when it was built for ``key``; None otherwise (missing,
    unreadable, another model)."""
    import os

    if not os.path.isfile(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["format"]) != GRAPH_FORMAT or str(z["key"]) != key:
                return None
            blocks = [Block(int(s), int(d), torch.from_numpy(z[f"k{i}"].astype(np.float32)),
                            torch.from_numpy(z[f"m{i}"].astype(np.float32))) for i, (s, d) in enumerate(z["pairs"])]
            return NeuronGraph([str(n) for n in z["names"]], [(int(c), int(f)) for c, f in z["shapes"]], blocks)
    except Exception:  # a damaged cache is rebuilt, never an error
        return None


def cached_graph(model: nn.Module, example_input: torch.Tensor | tuple, path: str | None) -> tuple[NeuronGraph, bool]:
    """(graph, whether it came from the cache at ``path``); a fresh build is written there."""
    key = graph_key(model, example_input)
    if path:
        graph = load_graph(path, key)
        if graph is not None:
            return graph, True
    graph = probe_graph(model, example_input)
    if path:
        save_graph(path, graph, key)
    return graph, False
