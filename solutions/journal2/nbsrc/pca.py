"""Notebook source of the pca exercise: cells once, for stub and solution.

Variable-name contract with grader_journal2/pca.py:
  setup (given): X, y (MNIST, pixels scaled to 0..1), X_train, X_test, y_train, y_test (75/25)
  Qa (given): clf_raw, time_raw, score_raw     LogisticRegression on the raw pixels
      pca              PCA(n_components=0.95), fitted on X_train
      X_train_reduced  pca.transform(X_train) (fit_transform)
      X_test_reduced   pca.transform(X_test)
      clf_reduced, time_reduced, score_reduced   LogisticRegression on the reduced data
  Qb (given): X_train_noisy, X_test_noisy (noise sigma 200/255, seed 42), clf_noisy, score_noisy
      pca_noisy        a PCA fitted on X_train_noisy, with the student's component count
      X_train_denoised, X_test_denoised   the noisy data transformed by pca_noisy
      clf_denoised, score_denoised        an SGDClassifier(random_state=42) on the reduced data
  Qc: text only (PCA -> t-SNE)
"""

from ._cells import answer, code, intro, md, setup

# --------------------------------------------------------------------------------------------
# Exercise: PCA (L08 assignment)
# --------------------------------------------------------------------------------------------

PC = "pca"
PC_QA, PC_QB, PC_QC = (f"{PC}.q{c}" for c in "abc")

PCA_CELLS = [
    md("intro", intro("Dimensionality reduction with PCA", "L08/pca",
                      "\nThe data set is MNIST, split 75/25 into a training and a test set, with the "
                      "pixels scaled to 0..1. Three tasks: speed up a classifier by compressing its "
                      "input with PCA, remove noise with PCA, and think about PCA followed by t-SNE.\n\n"
                      "Remember the rule of every preprocessing step: it is *fitted* on the training "
                      "data only; the test data is only *transformed* with it.")),
    setup(PC, "setup", r'''
# Setup (do not modify): imports and MNIST, pixels scaled to 0..1, split 75/25 into train and test sets
import numpy as np
import time
from sklearn.model_selection import train_test_split
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression, SGDClassifier
from libitmal import dataloaders_v2 as itmaldataloaders
from libitmal import profile  # the grader's quick/full profile; you do not need it yourself

X, y = itmaldataloaders.MNIST_GetDataSet()
N = profile.choose(quick=3000, full=len(y))  # the quick self-check uses the first 3000 digits
X, y = X[:N] / 255.0, y[:N]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=42)

print(f"X_train: {X_train.shape}, X_test: {X_test.shape}")
'''),
    md("qa", r'''
## Qa Speed up by compression

The cell below trains a `LogisticRegression` on the raw pixels, and records the time it takes and
its score on the test data.

See how much you can speed this up while retaining similar performance, by training on compressed
data: fit a `PCA(n_components=0.95)` (keeping 95 % of the variance) on the training data, store it
in `pca`, and the compressed training and test data in `X_train_reduced` and `X_test_reduced`
(don't forget to transform your test data too). Train the same kind of classifier on the compressed
data and store it in `clf_reduced`, its training time in `time_reduced` and its test score in
`score_reduced`.

How many components does PCA keep, how much faster is the training, and how does the score
compare?
'''),
    code(PC_QA, "qa-raw", r'''
# Given: a classifier on the raw pixels
clf_raw = LogisticRegression(max_iter=1000)
start = time.time()
clf_raw.fit(X_train, y_train)
time_raw = time.time() - start
score_raw = clf_raw.score(X_test, y_test)

print(f"raw pixels: {X_train.shape[1]} features, training {time_raw:.2f} s, test score {score_raw:.4f}")
'''),
    code(PC_QA, "qa-reduced", r'''
#@solution
pca = PCA(n_components=0.95)
X_train_reduced = pca.fit_transform(X_train)
X_test_reduced = pca.transform(X_test)

clf_reduced = LogisticRegression(max_iter=1000)
start = time.time()
clf_reduced.fit(X_train_reduced, y_train)
time_reduced = time.time() - start
score_reduced = clf_reduced.score(X_test_reduced, y_test)
#@stub
pca = None  # YOUR CODE HERE: PCA(n_components=0.95), fitted on the training data
X_train_reduced = None  # YOUR CODE HERE
X_test_reduced = None  # YOUR CODE HERE
clf_reduced = None  # YOUR CODE HERE: a LogisticRegression(max_iter=1000) trained on X_train_reduced
time_reduced = None  # YOUR CODE HERE: its training time in seconds
score_reduced = None  # YOUR CODE HERE: its score on X_test_reduced
#@end

print("PCA components:", getattr(pca, "n_components_", None))
print("reduced: training", time_reduced, "s, test score", score_reduced)
'''),
    answer(PC_QA, r'''
PCA keeps about 150 of the 784 dimensions for 95 % of the variance (154 on the full training set):
most pixels near the border are always 0, and neighbouring pixels are strongly correlated. Logistic
regression on the compressed data trains about ten times faster (on the full data about 3 s
instead of about 30 s here), because every iteration works on five times fewer features and the
decorrelated PCA features also make the optimisation converge in fewer iterations, while the test
score stays practically the same (about 0.92 both ways on the full data): the 5 % of the variance
that is thrown away is mostly noise and detail the linear classifier cannot use anyway. The PCA is
fitted on the training data only, and the test data is only transformed with it; fitting it again on
the test data would give the test data other axes than the classifier was trained on.
'''),
    md("qb", r'''
## Qb Noise reduction

The cell below adds a lot of noise to MNIST (the course's normal noise with standard deviation 200
on pixels 0..255, i.e. 200/255 on our 0..1 pixels) and trains a classifier on the noisy data (case
1). Then compare it with case 2: a PCA reduced version of the noisy data. Fit a `PCA` on the noisy
training data, store it in `pca_noisy`, and the reduced data in `X_train_denoised` and
`X_test_denoised` (remember to transform your test data too). Train an
`SGDClassifier(random_state=42)` on it, store it in `clf_denoised` and its test score in
`score_denoised`.

Can you find a reduced number of components that boosts performance? Different classifiers may
handle noise more or less well by themselves; here we use the `SGDClassifier` for both cases.
'''),
    code(PC_QB, "qb-noisy", r'''
# Given: noisy data and case 1, a classifier on the noisy data
np.random.seed(42)
X_train_noisy = np.random.normal(X_train, 200 / 255)
X_test_noisy = np.random.normal(X_test, 200 / 255)

clf_noisy = SGDClassifier(random_state=42)
clf_noisy.fit(X_train_noisy, y_train)
score_noisy = clf_noisy.score(X_test_noisy, y_test)
print(f"case 1, noisy data: test score {score_noisy:.4f}")
'''),
    code(PC_QB, "qb-denoised", r'''
#@solution
pca_noisy = PCA(n_components=40, random_state=42)
X_train_denoised = pca_noisy.fit_transform(X_train_noisy)
X_test_denoised = pca_noisy.transform(X_test_noisy)

clf_denoised = SGDClassifier(random_state=42)
clf_denoised.fit(X_train_denoised, y_train)
score_denoised = clf_denoised.score(X_test_denoised, y_test)
#@stub
pca_noisy = None  # YOUR CODE HERE: a PCA fitted on the noisy training data
X_train_denoised = None  # YOUR CODE HERE
X_test_denoised = None  # YOUR CODE HERE
clf_denoised = None  # YOUR CODE HERE: SGDClassifier(random_state=42) trained on X_train_denoised
score_denoised = None  # YOUR CODE HERE: its score on X_test_denoised
#@end

print("case 2, PCA components:", getattr(pca_noisy, "n_components_", None), " test score", score_denoised)
'''),
    answer(PC_QB, r'''
Yes: with only 40 components the SGDClassifier does better on the PCA-reduced noisy data than on
the noisy pixels (about 0.74 against 0.71 on the full data set; 0.63 against 0.56 on a small
subset, where the noise hurts even more). The noise is independent from pixel
to pixel, so it spreads its variance evenly over all 784 directions, while the digits' own variance
is concentrated in a few directions: the first principal components keep most of the signal and
only a small share of the noise, and everything else is cut away. With many components (e.g. 95 %
of the noisy variance, some 200 components) the noise comes back and the score drops to about that
of the noisy data; with too few (e.g. 5) the digits themselves lose too much. A linear classifier
like SGD has no way of ignoring noise on its own, so it profits most; the PCA is fitted on the
noisy training data only.
'''),
    md("qc", r'''
## Qc PCA -> t-SNE features

From the lecture's visualizations it seems reasonable that "PCA -> t-SNE" will perform much better
than PCA alone as feature extraction by compression as input to a classifier (and be faster than
t-SNE alone too).

Try if you can train and test with "PCA -> t-SNE" components (like we did earlier with PCA
components). If not, explain why.
'''),
    answer(PC_QC, r'''
It does not work as a feature extraction for a classifier: scikit-learn's TSNE has only
fit_transform and no transform method, because t-SNE does not learn a mapping from the input space
to the embedding. It optimises the positions of exactly the points it was given, so that their
neighbourhoods are preserved, and a new test point has no position until the whole embedding is
recomputed with it. We could embed training and test data together, but then the test data takes
part in the fitting (leakage), the embedding changes from run to run, and every new digit would
require re-running t-SNE on all the data. PCA before t-SNE (e.g. to 50 components) is still useful
to speed t-SNE up and remove noise for visualisation, but not to produce features for a classifier
that must handle unseen data.
'''),
]


NAME = PC
CELLS = PCA_CELLS

# group02-typical-mistakes: cell key -> [(old, new)] patches of the solution, each old text once
MISTAKES = {
    # the seed hand-in: X_reduced_test = pca.fit_transform(X_test), PCA fitted on the test data;
    # with the book's 154 components (its count for 95 % of MNIST) the refitted PCA still fits
    # the classifier, which then scores the test digits on the wrong axes
    "qa-reduced": [("pca = PCA(n_components=0.95)", "pca = PCA(n_components=154)"),
                   ("X_test_reduced = pca.transform(X_test)", "X_test_reduced = pca.fit_transform(X_test)")],
}
# group02's own answers: None leaves the placeholder, "" leaves the cell empty
MISTAKE_ANSWERS = {
    PC_QA: "With compressed data we get a faster training but a much worse score.",
    PC_QB: "By setting n_components to 40 we get a clearer picture of the data.",
    PC_QC: "It cannot be trained and tested since t-SNE only has fit_transform and no transform.",
}
