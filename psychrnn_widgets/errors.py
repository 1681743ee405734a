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


class UnknownClassError(ParameterError):
    """A file, a record or a caller names a task or model class that is not in the catalog.

    Classes are found by their registered name only (:mod:`psychrnn_widgets.catalog`):
    the built-ins and the classes registered in this process.  Nothing is imported
    because a file names it.  The message lists the known names and says how to register
    a class (``psychrnn_widgets.register_task(MyTask)``).
    """


class RegistryError(ParameterError):
    """A sweep's run registry refuses a request or a file: a path that would leave the
    registry, a ``sweep.json`` that is damaged or belongs to another sweep, a weight file
    that does not match its record, or a lock that cannot be taken.

    The message names the registry, the run or file, and what to do next.
    """


class RegistryWarning(UserWarning):
    """A registry file was malformed and moved aside (quarantined); its run is done again."""
