"""Notebook source of the mlp_mnist exercise: cells once, for stub and solution.

Variable-name contract with grader_journal2/mlp_mnist.py:
  setup (given): X, y (the official MNIST training digits, a subset in the quick profile),
                 X_train, X_test, y_train, y_test (80/20 split), y_train_binary, y_test_binary
  Qa: preprocess(X)                   raw pixel rows (0..255) -> the model's inputs (the
                                      solution: float32 pixels / 255); the grader feeds the
                                      models preprocess(held-out digits)
      X_train_scaled, X_test_scaled   preprocess(X_train), preprocess(X_test)
      model_mnist                     a fitted Keras model taking 784 scaled pixels, giving
                                      10 class scores
  Qb: model_deep                      a fitted deeper Keras MLP, same inputs and outputs
      y_pred_deep                     model_deep's predicted digits for X_test_scaled, shape like y_test
      score_deep                      model_deep's accuracy on (X_test_scaled, y_test), a fraction
"""

from ._cells import answer, code, intro, md, setup

# --------------------------------------------------------------------------------------------
# Exercise: Keras MLP on MNIST (L09/mlp_mnist)
# --------------------------------------------------------------------------------------------

MN = "mlp_mnist"
MN_QA, MN_QB = (f"{MN}.q{c}" for c in "ab")

MLP_MNIST = [
    md("intro", intro("Keras Multi-Layer Perceptrons (MLP's) on MNIST-data", "L09/mlp_mnist",
                      "\nThe data set is the official MNIST *training* digits (60000 images of 28x28 "
                      "pixels, values 0..255), split 80/20 into a training and a test set. The "
                      "official MNIST *test* digits are kept by the grader: it measures your models' "
                      "accuracy on them, so keep the names `model_mnist` (Qa) and `model_deep` (Qb), "
                      "and scale every input your models see with your own `preprocess(X)` (Qa): the "
                      "grader feeds your models `preprocess(held-out digits)`.")),
    setup(MN, "setup", r'''
# Setup (do not modify): imports, the MNIST training digits split into train and test sets
import numpy as np
import matplotlib.pyplot as plt
from time import time
from sklearn.model_selection import train_test_split
import keras
from keras.models import Sequential
from keras.layers import Dense, Input
from keras.optimizers import SGD, Adam
from keras.utils import to_categorical
from libitmal import dataloaders_v2 as itmaldataloaders
from libitmal import profile  # the grader's quick/full profile: a subset and fewer epochs in quick

X, y = itmaldataloaders.MNIST_GetDataSet()
X, y = X[:60000], y[:60000]  # the official training digits; the official test digits are the grader's
N = profile.choose(quick=6000, full=60000)
X, y = X[:N], y[:N]

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
y_train_binary = to_categorical(y_train, 10)
y_test_binary = to_categorical(y_test, 10)

print(f"X_train: {X_train.shape} {X_train.dtype}, pixel values {X_train.min()}..{X_train.max()}")
print(f"X_test:  {X_test.shape}, y_train_binary: {y_train_binary.shape}")

VERBOSE = 0
EPOCHS = profile.choose(quick=5, full=10)
'''),
    md("qa", r'''
## Qa A Keras MLP on MNIST

Now, make a Keras `Sequential` model and fit it to the MNIST data, re-using as much of the code
from the `mlp_moon.ipynb` as you can (a hidden layer or two of `tanh` or `relu` neurons, a
`softmax` output of 10 neurons, one per digit, the `categorical_crossentropy` loss, and the
one-hot labels `y_train_binary`, `y_test_binary` from the setup).

NOTE: you need to scale the MNIST data before a fit. Write the scaling as a function
`preprocess(X)` that takes raw pixel rows (values 0..255, shape `(n, 784)`) and returns what your
model takes as input, for example the pixels scaled to [0, 1] as `float32`:

```python
def preprocess(X):
    return X.astype(np.float32) / 255

X_train_scaled = preprocess(X_train)
X_test_scaled = preprocess(X_test)
```

(any sound scaling will do, e.g. a `StandardScaler` fitted on `X_train` and used inside
`preprocess`), and fit your model on `X_train_scaled`. No 2D-decision boundaries can be drawn from
the 784-dimensional MNIST data, but plot the accuracy and the loss against the epochs.

Keep the fitted model in `model_mnist`. The grader checks that `X_train_scaled` is on a small scale
(not the raw 0..255 pixels) and measures your model's accuracy on official MNIST test digits,
which your notebook never sees, fed to it as `preprocess(digits)`: it must be at most 0.03 below
what the reference solution's model reaches.

Why does the scaling matter?
'''),
    code(MN_QA, "qa-mlp", r'''
def preprocess(X):
    """Raw pixel rows (0..255, shape (n, 784)) -> your models' inputs. The grader feeds your
    models preprocess(held-out digits)."""
    #@solution
    return X.astype(np.float32) / 255
    #@end

#@solution
X_train_scaled = preprocess(X_train)
X_test_scaled = preprocess(X_test)

model_mnist = Sequential([
    Input(shape=(784,)),
    Dense(units=256, activation="tanh", kernel_initializer="random_normal"),
    Dense(units=10, activation="softmax"),
])
model_mnist.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.1),
                    metrics=["categorical_accuracy", "mean_squared_error", "mean_absolute_error"])

start = time()
history = model_mnist.fit(X_train_scaled, y_train_binary, validation_data=(X_test_scaled, y_test_binary),
                          epochs=EPOCHS, verbose=VERBOSE)
print(f"OK, training time={time() - start:0.1f} s")

score = model_mnist.evaluate(X_test_scaled, y_test_binary, verbose=0)
print(f"Test loss: {score[0]:.4f}, test accuracy: {score[1]:.4f}")

fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for ax, key in zip(axes, ("categorical_accuracy", "loss")):
    ax.plot(history.history[key], label="train")
    ax.plot(history.history["val_" + key], label="test")
    ax.set_xlabel("epoch")
    ax.set_title(key)
    ax.legend()
plt.show()
#@stub
X_train_scaled = None  # YOUR CODE HERE
X_test_scaled = None  # YOUR CODE HERE
model_mnist = None  # YOUR CODE HERE
#@end
'''),
    answer(MN_QA, r'''
The model is the moon MLP made wider: 784 inputs, one hidden layer of 256 tanh neurons, a softmax
output of 10 neurons, trained with SGD (learning rate 0.1) on the one-hot labels. With all 48000
training digits and 10 epochs it reaches about 0.97 on the test data. The scaling matters because
the pixels are 0..255: without it the weighted sums into the tanh neurons are in the hundreds, the
neurons saturate at -1 or 1 where their gradient is almost zero, and the large inputs make the
gradient steps of SGD huge, so training diverges or gets stuck (about 0.3-0.4 accuracy with the
same model and unscaled pixels). Divided by 255 every input lies in [0, 1], on the same scale as
the small initial weights, and SGD with learning rate 0.1 converges in a few epochs. The same
scaling must be applied to every input the model later sees, the test digits included.
'''),
    md("qb", r'''
## Qb Crank up the accuracy

Now, try to crank up the accuracy for the model using the MNIST data, you could follow the NN
layout found by ITMAL Grp10 using an MLP in the Scikit-learn framework.

Basically, they created a seven-layer `sklearn.neural_network.MLPClassifier`, with layer sizes
20-50-70-100-70-50-20. Their Scikit-learn `MLPClassifier` constructor looked like

```python
MLPClassifier(activation='relu', alpha=0.05, batch_size='auto', beta_1=0.9,
    beta_2=0.999, early_stopping=False, epsilon=1e-08,
    hidden_layer_sizes=(20, 50, 70, 100, 70, 50, 20),
    learning_rate='adaptive', learning_rate_init=0.001, max_iter=500,
    momentum=0.9, n_iter_no_change=10, nesterovs_momentum=True,
    power_t=0.5, random_state=None, shuffle=True, solver='sgd',
    tol=0.0001, validation_fraction=0.1, verbose=False,
    warm_start=False)
```

See, if you can create a somewhat similar model in Keras, but feel free to replace any of the
other hyperparameters (where some are not even present in Keras).

What best accuracy can you get from your model for your test set? Keep your best model, fitted
on `X_train_scaled`, in `model_deep`, its predicted digits for `X_test_scaled` (the argmax of
`model_deep.predict(X_test_scaled)`) in `y_pred_deep`, and its accuracy on your test data in
`score_deep`, as a fraction (0.95, not 95). The grader checks that `score_deep` is the accuracy of
`y_pred_deep` against `y_test`, and measures `model_deep` on held-out digits: it must be at most
0.03 below what the reference solution's deep model reaches there.

For the journal describe your investigation methods and results in your quest for a higher
accuracy score on MNIST.
'''),
    code(MN_QB, "qb-deep", r'''
#@solution
EPOCHS_DEEP = profile.choose(quick=8, full=15)

model_deep = Sequential([Input(shape=(784,))]
                        + [Dense(units=n, activation="relu") for n in (20, 50, 70, 100, 70, 50, 20)]
                        + [Dense(units=10, activation="softmax")])
model_deep.compile(loss="categorical_crossentropy", optimizer=Adam(learning_rate=0.001),
                   metrics=["categorical_accuracy"])

start = time()
history_deep = model_deep.fit(X_train_scaled, y_train_binary, validation_data=(X_test_scaled, y_test_binary),
                              epochs=EPOCHS_DEEP, verbose=VERBOSE)
print(f"OK, training time={time() - start:0.1f} s")

y_pred_deep = np.argmax(model_deep.predict(X_test_scaled, verbose=0), axis=1)
loss_deep, score_deep = model_deep.evaluate(X_test_scaled, y_test_binary, verbose=0)
print(f"Deep MLP test accuracy: {score_deep:.4f} (Qa's model: {score[1]:.4f}); "
      f"share of y_pred_deep == y_test: {np.mean(y_pred_deep == y_test):.4f}")

plt.plot(history_deep.history["val_categorical_accuracy"], label="deep MLP (test)")
plt.plot(history.history["val_categorical_accuracy"], label="Qa's MLP (test)")
plt.xlabel("epoch")
plt.ylabel("categorical_accuracy")
plt.legend()
plt.show()
#@stub
model_deep = None  # YOUR CODE HERE
y_pred_deep = None  # YOUR CODE HERE
score_deep = None  # YOUR CODE HERE
#@end
'''),
    answer(MN_QB, r'''
We rebuilt Grp10's layout in Keras: seven hidden relu layers of 20-50-70-100-70-50-20 neurons and
a softmax output, trained with Adam (learning rate 0.001, the Keras default) instead of Scikit-learn's
adaptive SGD, and compared its test accuracy per epoch with Qa's one-layer model in the plot. With
all 48000 training digits and 15 epochs it reaches about 0.96 on our test data, and about the same
on the grader's held-out digits: no better than Qa's single hidden layer of 256 tanh neurons
(about 0.97). Depth alone does not help here: the first hidden layer has only 20 neurons, so the
784 pixels are squeezed through a narrow bottleneck, and the deep, narrow net starts to overfit
(the training accuracy keeps rising while the test accuracy flattens). Wider layers (a few hundred
neurons) and more epochs, or regularization such as dropout, are what increases the accuracy
further; our method was to change one hyperparameter at a time and compare the test-accuracy
curves.
'''),
]


NAME = MN
CELLS = MLP_MNIST

# group02-typical-mistakes: cell key -> [(old, new)] patches of the solution, each old text once
MISTAKES = {
    # the pixels were never scaled: 0..255 inputs saturate the tanh neurons and SGD fails
    "qa-mlp": [("return X.astype(np.float32) / 255", "return X.astype(np.float32)")],
}
# group02's own answers: None leaves the placeholder, "" leaves the cell empty
MISTAKE_ANSWERS = {
    MN_QA: "We made an MLP with 256 tanh neurons and trained it with SGD. The accuracy is not very "
    "good, maybe it needs more epochs.",
    MN_QB: None,
}
