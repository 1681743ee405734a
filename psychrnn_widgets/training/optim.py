"""The default optimiser (Adam with TensorFlow 1's update rule) and the last-good-weights snapshot.

    t <- t + 1;  m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2
    var <- var - lr * sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)

(``tf.compat.v1.train.AdamOptimizer``, which PsychRNN uses, with eps = 1e-8.)  The update
can be masked per entry (``fixed_weights``: frozen entries stay bit-identical).

:class:`LastGood` keeps a copy of the weights (and the optimiser's slots) for which the
loss was last finite, so a diverging step can be undone exactly.  Both live in a
:class:`~psychrnn_widgets.training.trainer.Trainer`, never on the model.
"""
from ..models._tf import tf

__all__ = ["Adam", "LastGood"]


class Adam:
    """Adam whose slots are created eagerly for ``variables`` (so it runs in ``tf.function``)."""

    def __init__(self, variables, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.variables = list(variables)
        self.learning_rate = tf.Variable(float(learning_rate), trainable=False, dtype=tf.float32)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.iterations = tf.Variable(0.0, trainable=False, dtype=tf.float32)
        self.m = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.variables]
        self.v = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.variables]

    @property
    def slots(self):
        """The optimiser's own state: step count and first and second moments."""
        return [self.iterations] + self.m + self.v

    def apply(self, grads, keep_masks=None):
        """Apply one update from ``grads`` (aligned with ``variables``).

        ``keep_masks``: per variable None or a float tensor that is 1 where an entry may
        change and 0 where it is frozen.
        """
        t = self.iterations.assign_add(1.0)
        lr_t = self.learning_rate * tf.sqrt(1.0 - tf.pow(self.beta2, t)) / (1.0 - tf.pow(self.beta1, t))
        keep_masks = keep_masks or [None] * len(self.variables)
        for var, g, m, v, keep in zip(self.variables, grads, self.m, self.v, keep_masks):
            if g is None:
                continue
            m_new = m.assign(self.beta1 * m + (1.0 - self.beta1) * g)
            v_new = v.assign(self.beta2 * v + (1.0 - self.beta2) * tf.square(g))
            update = lr_t * m_new / (tf.sqrt(v_new) + self.epsilon)
            if keep is not None:
                update = update * keep
            var.assign_sub(update)


class LastGood:
    """A copy of ``variables`` taken when the loss was finite; :meth:`restore` puts it back.

    Both methods work eagerly and inside a ``tf.function`` (plain assignments).
    """

    def __init__(self, variables):
        self.variables = list(variables)
        self.copies = [tf.Variable(v, trainable=False) for v in self.variables]

    def save(self):
        for copy, variable in zip(self.copies, self.variables):
            copy.assign(variable)
        return tf.constant(True)

    def restore(self):
        for copy, variable in zip(self.copies, self.variables):
            variable.assign(copy)
        return tf.constant(False)
