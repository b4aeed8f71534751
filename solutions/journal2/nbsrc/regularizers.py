"""Notebook source of the regularizers exercise: cells once, for stub and solution."""

from ._cells import answer, code, intro, md, setup

# --------------------------------------------------------------------------------------------
# Exercise: regularizers (L07/regulizers)
# --------------------------------------------------------------------------------------------

RG = "regularizers"
RG_QA, RG_QB, RG_QC, RG_QD = (f"{RG}.q{c}" for c in "abcd")

REGULARIZERS = [
    md("intro", intro("Regularizers", "L07/regulizers", r'''
Regularization adds a penalty term to the cost function that is minimized during training,

$$
    \tilde{J}(\mathbf{w}) = J(\mathbf{w}) + \alpha\, \Omega(\mathbf{w}),
$$

where $J$ is the usual cost (for instance the MSE), $\Omega$ is the regularizer (the penalty) and
$\alpha \ge 0$ sets how much the penalty weighs. For $\Omega(\mathbf{w}) = ||\mathbf{w}||_2^2$ this is
Ridge regression (Tikhonov or $\mathcal{L}_2$ regularization).
''')),
    setup(RG, "setup", r'''
# Setup (do not modify): imports
import numpy as np
import matplotlib.pyplot as plt
from libitmal import utils as itmalutils
'''),
    md("qa", r'''
## Qa The Penalty Factor

Now, lets examine what $||\mathbf{w}||_2^2$ effectively mean? It is composed of our well-known
$\mathcal{L}_2^2$ norm and can also be expressed as

$$
    ||\mathbf{w}||_2^2 = \mathbf{w}^\top \mathbf{w}
$$

Construct a penalty function `Omega(w)` that implements $\mathbf{w}^\top\mathbf{w}$, re-using any
functions from `numpy` (the implementation could be a tiny *one-liner*), and that returns the
penalty as a float.

Take $w_0$ into account: this weight factor (the bias) should NOT be included in the norm. Also
checkup on `numpy`'s `dot` implementation, if you have not done so and are using it: it is a typical
pythonic *combo* function, doing both dot op's (inner product) and matrix multiplication dependent
on the shape of the input parameters.

Then run it on the three test vectors below, and notice when the penalty factor is low and when
it is high.
'''),
    code(RG_QA, "qa-omega", r'''
def Omega(w):
    #@solution
    w = np.asarray(w, dtype=float)  # float: squaring large integers must not overflow
    return float(np.sum(w[1:] ** 2))  # w[0], the bias, is not penalized
    #@end

# weight vector format: [w_0 w_1 .. w_d], ie. elem. 0 is the 'bias'
w_a = np.array([1, 2, -3])
w_b = np.array([1E10, -3E10])
w_c = np.array([0.1, 0.2, -0.3, 0])

p_a = Omega(w_a)
p_b = Omega(w_b)
p_c = Omega(w_c)

print(f"P(w_a)={p_a}")
print(f"P(w_b)={p_b}")
print(f"P(w_c)={p_c}")

# TEST VECTORS
e0 = 2 * 2 + (-3) * (-3)
e1 = 9e+20
e2 = 0.13

itmalutils.AssertInRange(p_a, e0)
itmalutils.AssertInRange(p_b, e1)
itmalutils.AssertInRange(p_c, e2)

print("OK")
'''),
    md("qb", r'''
## Qb Explain the Ridge Plot

First take a peek into the plots (and code) below, that fits the Ridge, Lasso and ElasticNet to a
polynomial model (degree 12, standardized features). The plots show three fits with different
$\alpha$ values (0, $10^{-5}$, and 1); $\alpha = 0$ is plain linear regression.

First, explain what the different $\alpha$ does to the actual fitting for the Ridge model in the
plot.
'''),
    code(RG_QB, "qb-plot", r'''
# Given code: fit and plot Ridge, Lasso and ElasticNet on a degree-12 polynomial model
import warnings
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

np.random.seed(42)
m = 20
X = 3 * np.random.rand(m, 1)
y = 1 + 0.5 * X + np.random.randn(m, 1) / 1.5
X_new = np.linspace(0, 3, 100).reshape(100, 1)

def plot_model(model_class, alphas, **model_kargs):
    for alpha, style in zip(alphas, ("b-", "g--", "r:")):
        model = model_class(alpha=alpha, **model_kargs) if alpha > 0 else LinearRegression()
        model = Pipeline([
            ("poly_features", PolynomialFeatures(degree=12, include_bias=False)),
            ("std_scaler", StandardScaler()),
            ("regul_reg", model),
        ])
        with warnings.catch_warnings():
            # Lasso with a tiny alpha on 12 strongly correlated polynomial features converges
            # very slowly; the fit after max_iter iterations is good enough for the plot.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y.ravel())
        y_new_regul = model.predict(X_new)
        lw = 2 if alpha > 0 else 1
        plt.plot(X_new, y_new_regul, style, linewidth=lw, label=rf"$\alpha = {alpha}$")
    plt.plot(X, y, "b.", linewidth=3)
    plt.legend(loc="upper left", fontsize=12)
    plt.xlabel("$x_1$", fontsize=18)
    plt.axis([0, 3, 0, 4])
    plt.title(model_class.__name__, fontsize=16)

plt.figure(figsize=(15, 4))
plt.subplot(131)
plot_model(Ridge, alphas=(0, 10**-5, 1), random_state=42)
plt.ylabel("$y$", rotation=0, fontsize=18)
plt.subplot(132)
plot_model(Lasso, alphas=(0, 10**-5, 1), random_state=42, max_iter=1_000_000)
plt.subplot(133)
plot_model(ElasticNet, alphas=(0, 10**-5, 1), l1_ratio=0.1, random_state=42, max_iter=1_000_000)
plt.show()
'''),
    answer(RG_QB, r'''
`alpha` sets how strongly the penalty on the weights counts against the MSE. With alpha = 0 (plain
linear regression) the degree-12 polynomial overfits: it wiggles through the 20 training points and
shoots off at the edges. A tiny alpha = 1e-5 already damps the largest weights and makes the Ridge
curve a little calmer, while alpha = 1 shrinks all weights so much that the fit becomes a smooth,
almost straight line that only bends up at the right edge: larger alpha trades variance for bias, and a too large alpha underfits.
'''),
    md("qc", r'''
## Qc Explain the Regularization Methods

Then explain the different regularization methods used for the Ridge, Lasso and ElasticNet models,
by looking at the math formulas for the methods in the Scikit-learn documentation and/or using
[HOML].
'''),
    answer(RG_QC, r'''
Ridge adds the squared L2 norm of the weights, minimizing ||y - Xw||² + alpha·||w||₂², which
shrinks all weights smoothly towards zero but seldom makes any of them exactly zero. Lasso adds the
L1 norm, (1/2m)·||y - Xw||² + alpha·||w||₁; the absolute values drive the least important weights
exactly to zero, so Lasso performs feature selection and gives a sparse model (with alpha = 1 in
the plot every weight is zero and the fit is a flat line). ElasticNet mixes the two,
(1/2m)·||y - Xw||² + alpha·l1_ratio·||w||₁ + ½·alpha·(1 - l1_ratio)·||w||₂², so l1_ratio = 0.1 is
mostly Ridge with a little Lasso, useful when features are correlated; in all three the bias w_0 is
not penalized.
'''),
    md("qd", r'''
## Qd Regularization and Overfitting

Finally, comment on how regularization may be used to reduce a potential tendency to overfit the
data.

Describe the situation with the tug-of-war between the MSE and regularizer terms in $\tilde{J}$
and the potential problem of $\mathbf{w}^*$ being far, far away from the origin (with $\alpha = 1$
in the regularizer term).

Would data preprocessing in the form of scaling, standardization or normalization be of any help to
that particular situation? If so, describe.
'''),
    answer(RG_QD, r'''
Minimizing J̃ = MSE + alpha·Omega(w) is a tug-of-war: the MSE term pulls w towards the unregularized
optimum w* that fits the training data (and its noise) best, while the penalty pulls w towards the
origin, so the solution is a compromise with smaller weights and a smoother, less overfitting
model. If w* lies far, far away from the origin, the penalty with alpha = 1 is huge there and
dominates: it drags w far from w*, the MSE suffers and the model underfits, and features whose scale
needs large weights are punished harder than others. Scaling helps: standardizing or normalizing
the features puts them on comparable scales, so the needed weights are of moderate and similar
size, w* comes closer to the origin and a single alpha penalizes all features fairly, which is why
the pipelines above put a StandardScaler before the regularized model.
'''),
]


NAME = RG
CELLS = REGULARIZERS

# group02-typical-mistakes: cell key -> [(old, new)] patches of the solution, each old text once
MISTAKES = {
    # the bias w[0] is included in the penalty
    "qa-omega": [(
        "    w = np.asarray(w, dtype=float)  # float: squaring large integers must not overflow\n"
        "    return float(np.sum(w[1:] ** 2))  # w[0], the bias, is not penalized",
        "    return np.sum(w**2)",
    )],
}
# group02's own answers: None leaves the placeholder, "" leaves the cell empty
MISTAKE_ANSWERS = {
    RG_QB: "Alpha decides how much the weights are punished. With alpha = 0 the curve overfits and "
    "wiggles a lot, with alpha = 1 it is much smoother.",
    RG_QC: "Ridge uses the squared L2 norm of the weights as penalty, Lasso uses the L1 norm (sum of "
    "absolute values) which can set weights to zero, and ElasticNet is a mix of the two "
    "controlled by l1_ratio.",
    RG_QD: "The MSE wants to fit the training data and the penalty wants small weights, and alpha "
    "decides who wins. If w* is far from the origin the penalty wins and the fit gets bad. "
    "Scaling the features helps because then the weights do not need to be so big.",
}
