"""Notebook source of the capacity exercise: cells once, for stub and solution."""

from ._cells import answer, code, intro, md, setup

# --------------------------------------------------------------------------------------------
# Exercise: capacity, under- and overfitting (L05/capacity_under_overfitting)
# --------------------------------------------------------------------------------------------

CP = "capacity"
CP_QA, CP_QB, CP_QC = (f"{CP}.q{c}" for c in "abc")

CAPACITY = [
    md("intro", intro("Capacity, Under- and Overfitting", "L05/capacity_under_overfitting",
                      "\nThe data set is 30 samples of the true function $\\cos(1.5\\pi x)$ at sorted, "
                      "uniformly drawn $x$ in $[0, 1)$, with Gaussian noise of standard deviation 0.1 "
                      "added to $y$. Polynomials of degree 1, 4 and 15 are fitted to it.")),
    setup(CP, "setup", r'''
# Setup (do not modify): imports and the data, 30 noisy samples of cos(1.5*pi*x)
import numpy as np
import matplotlib.pyplot as plt
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_val_score

def true_fun(X):
    return np.cos(1.5 * np.pi * X)

def GenerateData(n_samples=30):
    X = np.sort(np.random.rand(n_samples))
    y = true_fun(X) + np.random.randn(n_samples) * 0.1
    return X, y

np.random.seed(0)
X, y = GenerateData()

print(f"X: {X.shape}, y: {y.shape}")
'''),
    md("qa", r'''
## Qa Explain the Polynomial Fitting via Code Review

The cell below fits a polynomial of degree 1, 4 and 15 to the data and plots each fit next to the
true function. For every degree it builds a `Pipeline` of
`PolynomialFeatures(degree, include_bias=False)` and `LinearRegression`, fits it on all of `X, y`
(`Z = X[:, np.newaxis]` is `X` as a column) and evaluates it with 10-fold cross-validation.

Complete the evaluation: for each degree, compute the 10 cross-validation scores with

```python
scores = cross_val_score(pipeline, Z, y, scoring="neg_mean_squared_error", cv=10)
```

and set `score_mean` to the cross-validated MSE, i.e. minus the mean of the scores. The loop
appends it to `score_means`, so that `score_means[i]` belongs to `degrees[i]`. Keep `X`, `y`,
`degrees` and `score_means`: the grader recomputes the scores from your own `X, y`.

Review the code, write a **short** code review summary, and explain how the polynomial fitting is
implemented. Do not dig into the plotting details, but explain the outcome of the plots.
'''),
    code(CP_QA, "qa-fit", r'''
degrees = [1, 4, 15]
score_means = []  # the cross-validated MSE of each degree: score_means[i] belongs to degrees[i]

print("Iterating...degrees=", degrees)
plt.figure(figsize=(14, 5))
for i, degree in enumerate(degrees):
    ax = plt.subplot(1, len(degrees), i + 1)
    plt.setp(ax, xticks=(), yticks=())

    polynomial_features = PolynomialFeatures(degree=degree, include_bias=False)
    linear_regression = LinearRegression()
    pipeline = Pipeline([
        ("polynomial_features", polynomial_features),
        ("linear_regression", linear_regression),
    ])

    Z = X[:, np.newaxis]
    pipeline.fit(Z, y)

    # Evaluate the model with 10-fold cross-validation
    #@solution
    scores = cross_val_score(pipeline, Z, y, scoring="neg_mean_squared_error", cv=10)
    score_mean = -scores.mean()
    #@stub
    # YOUR CODE HERE: scores (10-fold cross_val_score, "neg_mean_squared_error") and score_mean
    raise NotImplementedError()
    #@end
    score_means.append(score_mean)

    X_test = np.linspace(0, 1, 100)
    y_pred = pipeline.predict(X_test[:, np.newaxis])

    # Plotting details
    plt.plot(X_test, y_pred, label="Model")
    plt.plot(X_test, true_fun(X_test), label="True function")
    plt.scatter(X, y, edgecolor="b", s=20, label="Samples")
    plt.xlabel("x")
    plt.ylabel("y")
    plt.xlim((0, 1))
    plt.ylim((-2, 2))
    plt.legend(loc="best")
    plt.title(f"Degree {degree}\nMSE = {score_mean:.2e}(+/- {scores.std():.2e})")

    print(f"  degree={degree:4d}, score_mean={score_mean:4.2f}, {polynomial_features}")

plt.show()
'''),
    answer(CP_QA, r'''
The code draws 30 sorted x values in [0, 1) with y = cos(1.5πx) plus noise of standard deviation
0.1, and for each degree 1, 4 and 15 builds a Pipeline of PolynomialFeatures, which expands the
column x into the features x, x², ..., x^degree (no bias column, since LinearRegression fits its
own intercept), and LinearRegression, which finds the least-squares weights on those features: the
model is an ordinary polynomial of that degree in x, fitted linearly in its coefficients. Each
pipeline is fitted on all data for the plot and evaluated with 10-fold cross-validation:
cross_val_score returns the negative MSE on each of the 10 held-out folds, and score_mean is minus
their mean, the cross-validated MSE. The plots show the outcome: degree 1 is a straight line that
misses the cosine (score_mean 0.41, underfit), degree 4 follows the true function closely (0.043,
the best of the three) and degree 15 chases the noisy samples and swings away from the true
function between and beyond them (0.22, overfit). Review: the code is short and readable, and the
seed makes it reproducible; the data is generated by a helper that relies on the global random
state, the fitting and the plotting are mixed in one loop, and reporting the RMSE would give
numbers in the units of y.
'''),
    md("qb", r'''
## Qb Explain the Capacity and Under/Overfitting Concept

Write a textual description of the capacity and under/overfitting concept using the plots in the
code above.

What happens when the polynomial degree is low/medium/high with respect to under/overfitting
concepts? Explain in details.
'''),
    answer(CP_QB, r'''
The capacity of a model is its ability to fit a wide variety of functions; for polynomial
regression it grows with the degree, i.e. the number of coefficients. With a low degree (1) the
capacity is too small for the cosine: the straight line cannot follow the curve, so the error is
high both on the training data and on new data. That is underfitting (high bias). With a medium
degree (4) the capacity matches the complexity of the true function: the model follows the cosine
and ignores most of the noise: its training MSE (0.012) is close to the noise variance 0.01 and
its cross-validated MSE is the lowest (0.043). With a high degree (15) the capacity is far larger
than needed: the polynomial has 16 coefficients for 30 points and bends towards the noisy samples,
so its training error is the lowest of the three (0.0102), but the curve wiggles between the
samples and shoots off beyond them. That is overfitting (high variance): the model has learned the noise, and
its error on unseen data rises again (0.22).
'''),
    md("qc", r'''
## Qc [OPTIONAL] Score Method

Why is the scoring method called `neg_mean_squared_error` in the code?

Explain why we see well-known numbers in the `score_mean` for the degrees 1 and 4, but what happens
for degree 15? Would it be more natural to print or plot the RMSE instead?

(Optional in the course; it carries few points.)
'''),
    answer(CP_QC, r'''
Scikit-learn's model selection tools always maximize a score (greater is better), so error metrics
are turned into scores by negating them: neg_mean_squared_error is minus the MSE, and the code
takes minus the mean of the fold scores to get a positive MSE back. For degrees 1 and 4 the folds
give MSEs of a familiar size, the squared model error plus the noise variance of 0.01 (0.41 and
0.043). For degree 15 each fold model has 16 coefficients fitted on 27 points, and the folds at the
ends of the sorted data must be extrapolated, where the polynomial shoots off: the first two folds
dominate the mean (0.6 and 1.4 against about 0.02 for the others). How large that gets depends on
the numerical library: 2019's version printed about 1.8e8, today's least-squares solver (an SVD
that discards tiny singular values) gives 0.22. The RMSE would be more natural, since it is in the
units of y and directly comparable to the noise level 0.1, but for such extreme values a logarithmic
scale would be needed as well.
'''),
]


NAME = CP
CELLS = CAPACITY

# group02-typical-mistakes: cell key -> [(old, new)] patches of the solution, each old text once
MISTAKES = {
    # the minus sign is forgotten: score_means are the negative scores, and the "best" is degree 1
    "qa-fit": [("score_mean = -scores.mean()", "score_mean = scores.mean()")],
}
# group02's own answers: None leaves the placeholder, "" leaves the cell empty
MISTAKE_ANSWERS = {
    CP_QA: "The code makes polynomial features and fits a linear regression for degree 1, 4 and 15 "
    "and uses cross validation to get a score. Degree 1 is a straight line, degree 4 fits well and "
    "degree 15 goes crazy.",
    CP_QB: "Low degree underfits because the model is too simple, degree 15 overfits because it "
    "learns the noise. Degree 4 is best, it has the right capacity.",
    CP_QC: "It is called neg because scikit-learn wants a score where higher is better, so the MSE "
    "is negated. Degree 15 gets a much larger error because it overfits.",
}
