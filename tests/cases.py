"""The tests' cases: a pairwise-covering slice of the conformance matrix
(`conformance/cases.csv`), which the conformance suite runs whole."""

from keras_ct_plugin.conformance import matrix
from keras_ct_plugin.conformance.case import Case  # noqa: F401 - re-exported
from keras_ct_plugin.conformance.covering import covering

MATRIX = matrix.load()
COVERING = covering(MATRIX)
# Settings Keras's built-in layers take too, covered pairwise among themselves.
BUILTIN_COVERING = covering([case for case in MATRIX if case.keras_builtin_accepts])
