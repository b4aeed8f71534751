"""Notebook source of the naive_bayes exercise: cells once, for stub and solution.

Variable-name contract with grader_journal2/naive_bayes.py:
  setup (given): X, y (MNIST, raw pixels 0..255), X_train, X_test, y_train, y_test (70/30 split)
  Qa: gnb          a fitted GaussianNB; the grader calls gnb.predict on its own held-out digits
      mnb          a fitted MultinomialNB; likewise (both take raw 0..255 pixel rows, as X_train)
      y_pred_gnb   gnb's predictions for X_test
      y_pred_mnb   mnb's predictions for X_test
  Qb: average      'micro', 'macro' or 'weighted': the averaging of precision and f1
      accuracy_gnb, precision_gnb, f1_gnb, accuracy_mnb, precision_mnb, f1_mnb
                   the metrics of y_pred_gnb / y_pred_mnb against y_test; the grader recomputes
                   them from the fetched y_test and y_pred_* with sklearn.metrics
"""

from ._cells import answer, code, intro, md, setup

# --------------------------------------------------------------------------------------------
# Exercise: Naive Bayes on MNIST (L06 assignment)
# --------------------------------------------------------------------------------------------

NB = "naive_bayes"
NB_QA, NB_QB = (f"{NB}.q{c}" for c in "ab")

NAIVE_BAYES = [
    md("intro", intro("Naive Bayes on MNIST", "L06/naive_bayes",
                      "\nThe data set is MNIST: 28x28 images of handwritten digits as rows of 784 "
                      "raw pixel values 0..255, split 70/30 into a training and a test set.\n\n"
                      "The grader also judges your two models on digits it keeps to itself, which "
                      "your notebook never sees: keep the names `gnb` and `mnb`, and keep them "
                      "taking raw pixel rows like `X_train` (if you want to scale, put the scaling "
                      "inside a `Pipeline`).")),
    setup(NB, "setup", r'''
# Setup (do not modify): imports and MNIST, split 70/30 into train and test sets
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB, MultinomialNB
from sklearn.metrics import accuracy_score, f1_score, precision_score
from libitmal import dataloaders_v2 as itmaldataloaders
from libitmal import profile  # the grader's quick/full profile; you do not need it yourself

X, y = itmaldataloaders.MNIST_GetDataSet()
N = profile.choose(quick=5000, full=len(y))  # the quick self-check uses the first 5000 digits
X, y = X[:N], y[:N]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=42)

print(f"X_train: {X_train.shape} {X_train.dtype}, X_test: {X_test.shape}, pixels {X.min()}..{X.max()}")
'''),
    md("qa", r'''
## Qa Naive Bayes classifiers on MNIST

Scikit-learn has several Naive Bayes classifiers (`sklearn.naive_bayes`): `GaussianNB` models each
pixel, given the class, as a normal distribution; `MultinomialNB` models the pixels as counts
(like word counts in a text); `BernoulliNB` models binary features.

Fit a `GaussianNB` and a `MultinomialNB` with default parameters on the training data, store the
fitted models in `gnb` and `mnb`, and their predictions for the test data in `y_pred_gnb` and
`y_pred_mnb`.

Which variant suits the MNIST pixels better, and why? Motivate your choice.
'''),
    code(NB_QA, "qa-models", r'''
#@solution
gnb = GaussianNB()
gnb.fit(X_train, y_train)
y_pred_gnb = gnb.predict(X_test)

mnb = MultinomialNB()
mnb.fit(X_train, y_train)
y_pred_mnb = mnb.predict(X_test)
#@stub
gnb = None         # YOUR CODE HERE: a fitted GaussianNB
y_pred_gnb = None  # YOUR CODE HERE: its predictions for X_test
mnb = None         # YOUR CODE HERE: a fitted MultinomialNB
y_pred_mnb = None  # YOUR CODE HERE: its predictions for X_test
#@end

print("GaussianNB test accuracy:   ", np.mean(y_pred_gnb == y_test))
print("MultinomialNB test accuracy:", np.mean(y_pred_mnb == y_test))
'''),
    answer(NB_QA, r'''
MultinomialNB suits the MNIST pixels better (test accuracy about 0.83 against about 0.56 for
GaussianNB). The pixels are non-negative intensities 0..255, much like counts of ink, which is what
the multinomial model assumes. GaussianNB assumes every pixel is normally distributed within a class,
which is far from true: most pixels are 0 in almost every image of a class (a spike at zero) and the
rest are close to 255, and pixels near the border have almost zero variance, so their tiny variances
dominate the likelihood. Both models ignore the strong dependence between neighbouring pixels (the
"naive" independence assumption), which limits either of them to well below the accuracy of e.g. an
SVM or a neural network.
'''),
    md("qb", r'''
## Qb Metrics

Choose the metrics you want to report for the two classifiers, and motivate your choice. Report at
least the accuracy, the precision and the F1 score of each model on the test data: MNIST has ten
classes, so precision and F1 need an averaging (`average=` in `sklearn.metrics`). Store your
choice of averaging in `average` (`'micro'`, `'macro'` or `'weighted'`) and the metrics in
`accuracy_gnb`, `precision_gnb`, `f1_gnb` (GaussianNB) and `accuracy_mnb`, `precision_mnb`,
`f1_mnb` (MultinomialNB), computed from `y_test` and your predictions.
'''),
    code(NB_QB, "qb-metrics", r'''
#@solution
average = "weighted"

accuracy_gnb = accuracy_score(y_test, y_pred_gnb)
precision_gnb = precision_score(y_test, y_pred_gnb, average=average)
f1_gnb = f1_score(y_test, y_pred_gnb, average=average)

accuracy_mnb = accuracy_score(y_test, y_pred_mnb)
precision_mnb = precision_score(y_test, y_pred_mnb, average=average)
f1_mnb = f1_score(y_test, y_pred_mnb, average=average)
#@stub
average = None  # YOUR CODE HERE: 'micro', 'macro' or 'weighted'
accuracy_gnb = precision_gnb = f1_gnb = None  # YOUR CODE HERE
accuracy_mnb = precision_mnb = f1_mnb = None  # YOUR CODE HERE
#@end

print(f"average={average!r}")
print("GaussianNB:    accuracy", accuracy_gnb, " precision", precision_gnb, " f1", f1_gnb)
print("MultinomialNB: accuracy", accuracy_mnb, " precision", precision_mnb, " f1", f1_mnb)
'''),
    answer(NB_QB, r'''
Accuracy is the natural headline for MNIST: the ten classes are nearly balanced and every mistake
costs the same. Precision (how many of the images predicted as a digit really are that digit) and
F1 (the harmonic mean of precision and recall) show more: GaussianNB has a clearly higher
precision than accuracy, because it puts a lot of images into a few classes (it predicts many
images as 8 or 9), so the classes it rarely predicts have a high precision but a low recall, and
its F1 is the lowest of its three numbers. I average precision and F1 over the classes weighted by
their support ('weighted'), so that each class counts by its number of test images; with nearly
balanced classes 'macro' would give almost the same, while 'micro' would just repeat the accuracy.
MultinomialNB is better on all three metrics, and its metrics agree with each other, because its
errors are spread more evenly over the classes.
'''),
]


NAME = NB
CELLS = NAIVE_BAYES

# group02-typical-mistakes: cell key -> [(old, new)] patches of the solution, each old text once
MISTAKES = {
    # the hand-in's habit accuracy_score(y_pred, y_test): harmless for accuracy, not for precision
    "qb-metrics": [("precision_gnb = precision_score(y_test, y_pred_gnb, average=average)",
                    "precision_gnb = precision_score(y_pred_gnb, y_test, average=average)")],
}
# group02's own answers: None leaves the placeholder, "" leaves the cell empty
MISTAKE_ANSWERS = {
    NB_QA: "We use MultinomialNB because it gives the best accuracy, 0.83 against 0.56 for GaussianNB.",
    NB_QB: "We report accuracy, precision and f1 because they are the usual metrics.",
}
