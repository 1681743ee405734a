"""Exception types shared by every layer.

PsychRNN raises ``UserWarning`` *as an exception* for bad parameters; users have code
that catches it.  ``ParameterError`` is both a ``ValueError`` (what a Python user
expects) and a ``UserWarning`` (what a PsychRNN user already catches).
"""


class ParameterError(ValueError, UserWarning):
    """A parameter (network, training, task or simulator) is invalid or inconsistent.

    Attributes (None when the error is not about one declared parameter):
        parameter (str): the parameter's name, e.g. ``'dt'``.
        value: the value that was refused.
        allowed (str): what is allowed, in words (e.g. ``'a finite number > 0'``).
    """

    def __init__(self, message, parameter=None, value=None, allowed=None):
        super().__init__(message)
        self.parameter = parameter
        self.value = value
        self.allowed = allowed


class WeightFileError(ParameterError):
    """A weight file is corrupt, truncated, of an unknown format, holds unsafe content, or
    does not fit the network (a missing entry, a wrong shape).

    The message always names the file.  A ``ParameterError`` (hence a ``ValueError``):
    the file is the parameter that is wrong.
    """


class TrainingDivergedError(FloatingPointError):
    """The training loss (or a gradient) became NaN or infinite.

    The model keeps the last weights for which the loss was finite (``epoch`` says after
    which epoch of the trainer they were reached).
    """

    def __init__(self, message, epoch=None, result=None):
        super().__init__(message)
        self.epoch = epoch
        self.result = result


class CallbackError(RuntimeError):
    """A training callback raised; training stopped after the step it was called for.

    The weights trained so far are kept.  ``result`` holds what ``train`` would have
    returned (``(losses, training_time, initialization_time)``), ``callback`` the callable
    that raised; the original exception is the ``__cause__``.
    """

    def __init__(self, message, callback=None, result=None):
        super().__init__(message)
        self.callback = callback
        self.result = result
