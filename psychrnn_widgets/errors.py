"""Exception types shared by every layer.

PsychRNN raises ``UserWarning`` *as an exception* for bad parameters; users have code
that catches it.  ``ParameterError`` is both a ``ValueError`` (what a Python user
expects) and a ``UserWarning`` (what a PsychRNN user already catches).
"""


class ParameterError(ValueError, UserWarning):
    """A parameter (network, training, task or simulator) is invalid or inconsistent."""


class WeightFileError(ValueError):
    """A weight file is corrupt, truncated, of an unknown format or holds unsafe content.

    The message always names the file.
    """


class TrainingDivergedError(FloatingPointError):
    """The training loss (or a gradient) became NaN or infinite.

    The model keeps the last weights for which the loss was finite.
    """
