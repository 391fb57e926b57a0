"""The exercises' "without ..." rules as data: what each forbids, and the hint it gives.

A ``Forbidden`` lists fully-qualified names, method names on any object, and whether the ``@``
operator counts; ``scanner.py`` finds them in a learner's source. A suite names the rules its
checks enforce (``expect_without(source, "matmul", MATMUL_FAMILY)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

DYNAMIC_ATTRIBUTE = "dynamic attribute access"
DYNAMIC_ATTRIBUTE_HINT = "name the function you use directly, so the grader can read it"


@dataclass(frozen=True)
class Forbidden:
    """One "without ..." rule: fully-qualified names, method names on any object, and ``@``."""

    name: str
    dotted: frozenset[str]
    methods: frozenset[str] = frozenset()
    matmul_operator: bool = False
    hint: str = ""
    # Whole libraries ruled out (``numpy``), but for the names in ``allowed`` (``np.integer``).
    modules: frozenset[str] = frozenset()
    allowed: frozenset[str] = frozenset()
    _pairs: frozenset[tuple[str, str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pairs = frozenset((d.split(".")[0], d.split(".")[-1]) for d in self.dotted)
        object.__setattr__(self, "_pairs", pairs)

    @property
    def roots(self) -> frozenset[str]:
        return frozenset(root for root, _ in self._pairs) | self.modules

    @property
    def names(self) -> frozenset[str]:
        return self.methods | {last for _, last in self._pairs}

    def matches(self, path: str) -> bool:
        root, *rest = path.split(".")
        if root in self.modules and rest and not any(part in self.allowed for part in rest):
            return True
        return any((root, part) in self._pairs for part in rest)


def _rule(name: str, dotted: str, methods: str = "", hint: str = "", matmul_operator: bool = False) -> Forbidden:
    return Forbidden(name, frozenset(dotted.split()), frozenset(methods.split()), matmul_operator, hint)


MATMUL_FAMILY = _rule(
    "the matmul family",
    "numpy.matmul numpy.dot numpy.ndarray.dot numpy.vdot numpy.inner numpy.outer numpy.tensordot"
    " numpy.einsum numpy.linalg.multi_dot numpy.matvec numpy.vecmat numpy.vecdot numpy.linalg.vecdot"
    " torch.matmul torch.mm torch.bmm torch.mv torch.dot torch.vdot torch.inner torch.outer torch.ger"
    " torch.einsum torch.tensordot torch.addmm torch.addmv torch.addbmm torch.baddbmm torch.addr"
    " torch.chain_matmul torch.linalg.multi_dot torch.linalg.vecdot operator.matmul operator.imatmul"
    " operator.__matmul__ operator.__imatmul__ scipy.linalg.blas scipy.linalg.cython_blas"
    " scipy.linalg.get_blas_funcs"
    # sums of products under other names: np.matrix's `*` is a matrix product, a correlation
    # or convolution at one offset is a dot product, a covariance is a matrix of them
    " numpy.matrix numpy.asmatrix numpy.bmat numpy.correlate numpy.convolve numpy.cov"
    " numpy.corrcoef numpy.linalg.matrix_power numpy.polynomial numpy.polyval numpy.kron"
    " torch.kron torch.cov torch.corrcoef torch.conv1d torch.conv2d torch.conv3d"
    " torch.conv_transpose1d torch.conv_transpose2d torch.nn.functional.conv1d"
    " torch.nn.functional.conv2d torch.nn.functional.conv3d torch.nn.functional.bilinear"
    " torch.nn.functional.linear torch.linalg.matrix_power torch.matrix_power torch.nn.Bilinear"
    " torch.nn.Linear torch.nn.Conv1d torch.nn.Conv2d torch.trapz torch.trapezoid numpy.trapz"
    " numpy.trapezoid",
    "dot vdot inner outer ger matmul mm bmm mv addmm addmv addbmm baddbmm addr einsum tensordot"
    " multi_dot chain_matmul __matmul__ __rmatmul__ __imatmul__ matrix_power",
    "build the product from broadcasting and a sum",
    matmul_operator=True,
)
# ex01 asks for the length written by hand, so every library norm is out, NumPy's or torch's.
LINALG_NORM = _rule(
    "np.linalg.norm or another library norm",
    "numpy.linalg.norm numpy.linalg.vector_norm numpy.linalg.matrix_norm scipy.linalg.norm"
    " torch.norm torch.linalg.norm torch.linalg.vector_norm torch.Tensor.norm",
    "norm",
    "square, sum and take the square root yourself",
)
BROADCAST_HELPERS = _rule(
    "a broadcasting helper",
    "numpy.broadcast_shapes numpy.broadcast numpy.broadcast_to numpy.broadcast_arrays"
    " numpy.lib.stride_tricks._broadcast_shape torch.broadcast_shapes torch.broadcast_to"
    " torch.broadcast_tensors",
    hint="apply the rule yourself: align the shapes from the right and compare",
)
# broadcast_shape works on two tuples: an array of either shape, combined with one of the
# other, would let the library apply the rule (``(np.empty(a) + np.empty(b)).shape``).
SHAPES_ONLY = Forbidden(
    "an array (the shape comes from the two tuples alone)",
    BROADCAST_HELPERS.dotted, modules=frozenset({"numpy", "torch"}),
    allowed=frozenset("integer signedinteger unsignedinteger number generic bool_ dtype intp int8"
                      " int16 int32 int64 uint8 uint16 uint32 uint64 iinfo".split()),
    hint="line the two tuples up from the right and compare their sizes: no array is needed",
)
EXPAND_DIMS = _rule(
    "np.expand_dims", "numpy.expand_dims", hint="insert the axis by indexing with None or by reshape"
)
TILE_REPEAT = _rule(
    "np.tile / np.repeat",
    "numpy.tile numpy.repeat torch.tile",
    "repeat",
    "make a view with zero strides instead of copying",
)
CDIST = _rule(
    "torch.cdist or another library distance routine",
    "torch.cdist torch.pdist torch.nn.functional.pairwise_distance torch.nn.PairwiseDistance"
    " torch._euclidean_dist torch._cdist_forward scipy.spatial.distance.cdist"
    " sklearn.metrics.pairwise_distances sklearn.metrics.pairwise.euclidean_distances",
    hint="expand ||x - y||^2 = ||x||^2 + ||y||^2 - 2 x.y, or broadcast the difference",
)
SOFTMAX = _rule(
    "a library softmax",
    "torch.softmax torch.log_softmax torch.nn.functional.softmax torch.nn.functional.log_softmax"
    " torch.special.softmax torch.special.log_softmax torch._softmax torch._log_softmax"
    " torch.nn.Softmax torch.nn.LogSoftmax torch.nn.Softmax2d torch.Tensor.softmax"
    " scipy.special.softmax scipy.special.log_softmax"
    # the same under other names: softmin(-x) is softmax(x); a categorical distribution's
    # probabilities are the softmax of its logits
    " torch.nn.functional.softmin torch.nn.Softmin torch.Tensor.softmin"
    " torch.nn.functional.gumbel_softmax torch.sparse.softmax torch.sparse.log_softmax"
    " torch.distributions torch.nn.AdaptiveLogSoftmaxWithLoss",
    "softmax log_softmax softmin",
    "subtract the maximum, exponentiate and divide by the sum",
)
LINEAR = _rule(
    "nn.Linear / F.linear",
    "torch.nn.Linear torch.nn.LazyLinear torch.nn.functional.linear",
    hint="multiply by the weight with torch.matmul and add the bias",
)
DYNAMIC_CODE = _rule(
    "dynamic code (eval/exec/__import__)",
    "builtins.eval builtins.exec builtins.compile builtins.__import__ importlib.import_module"
    " importlib.__import__",
    hint="write the computation out directly",
)
DYNAMIC_ACCESS = Forbidden(DYNAMIC_ATTRIBUTE, frozenset(), hint=DYNAMIC_ATTRIBUTE_HINT)
