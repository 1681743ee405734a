"""The default optimiser (Adam with TensorFlow 1's update rule) and the last-good-weights snapshot.

    t <- t + 1;  m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2
    var <- var - lr * sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)

(``tf.compat.v1.train.AdamOptimizer``, which PsychRNN uses, with eps = 1e-8.)  The update
can be masked per entry (``fixed_weights``: frozen entries stay bit-identical).

For K networks trained together (an :class:`~psychrnn_widgets.models.ensemble.Ensemble`)
``Adam(variables, learning_rates, n_networks=K)`` keeps the step count ``t`` and the
learning rate per network ((K,) vectors); variables and slots carry the network axis
first, and :meth:`Adam.apply` takes a (K,) ``active`` mask: a network that is not active
in a step (a non-finite loss, frozen) keeps its weights, moments and ``t`` bit-identical.
The update of an active network is the same elementwise arithmetic as for one network.

:class:`LastGood` keeps a copy of the weights (and the optimiser's slots) for which the
loss was last finite, so a diverging step can be undone exactly (for K networks, network
by network).  :class:`OptimizerState` holds both for a trainer; they live in a
:class:`~psychrnn_widgets.training.trainer.Trainer`, never on the model.
"""
from ..models._tf import tf

__all__ = ["Adam", "LastGood", "OptimizerState"]


def per_network(values, like):
    """(K,) ``values`` reshaped to broadcast against ``like`` (K, ...): (K, 1, ..., 1)."""
    return tf.reshape(values, [-1] + [1] * (like.shape.rank - 1))


class Adam:
    """Adam whose slots are created eagerly for ``variables`` (so it runs in ``tf.function``).

    Args:
        variables: the trained ``tf.Variable`` s.
        learning_rate: a number, or (K,) numbers with ``n_networks=K``.
        n_networks: None for one network; K when every variable has a leading network axis.
    """

    def __init__(self, variables, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, n_networks=None):
        self.variables = list(variables)
        self.n_networks = n_networks
        shape = [] if n_networks is None else [int(n_networks)]
        self.learning_rate = tf.Variable(tf.broadcast_to(tf.constant(learning_rate, tf.float32), shape),
                                         trainable=False, dtype=tf.float32)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.iterations = tf.Variable(tf.zeros(shape), trainable=False, dtype=tf.float32)
        self.m = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.variables]
        self.v = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.variables]

    @property
    def slots(self):
        """The optimiser's own state: step count and first and second moments."""
        return [self.iterations] + self.m + self.v

    def apply(self, grads, keep_masks=None, active=None):
        """Apply one update from ``grads`` (aligned with ``variables``).

        ``keep_masks``: per variable None or a float tensor that is 1 where an entry may
        change and 0 where it is frozen.  ``active`` (networks only): a (K,) bool tensor,
        False for networks that must not change in this step.
        """
        t = self.iterations.assign_add(1.0 if active is None else tf.cast(active, tf.float32))
        lr_t = self.learning_rate * tf.sqrt(1.0 - tf.pow(self.beta2, t)) / (1.0 - tf.pow(self.beta1, t))
        keep_masks = keep_masks or [None] * len(self.variables)
        for var, g, m, v, keep in zip(self.variables, grads, self.m, self.v, keep_masks):
            if g is None:
                continue
            m_new = self.beta1 * m + (1.0 - self.beta1) * g
            v_new = self.beta2 * v + (1.0 - self.beta2) * tf.square(g)
            rate = lr_t
            if active is not None:
                on = per_network(active, var)
                m_new, v_new, rate = tf.where(on, m_new, m), tf.where(on, v_new, v), per_network(lr_t, var)
            m_new, v_new = m.assign(m_new), v.assign(v_new)
            update = rate * m_new / (tf.sqrt(v_new) + self.epsilon)
            if keep is not None:
                update = update * keep
            if active is not None:
                update = tf.where(on, update, tf.zeros_like(update))  # 0/0 of a never-updated network stays out
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

    def save_where(self, networks):
        """Copy only the networks where the (K,) bool ``networks`` is True (leading network axis)."""
        for copy, variable in zip(self.copies, self.variables):
            copy.assign(tf.where(per_network(networks, variable), variable, copy))
        return tf.constant(True)

    def restore_where(self, networks):
        """Put back only the networks where the (K,) bool ``networks`` is True."""
        for copy, variable in zip(self.copies, self.variables):
            variable.assign(tf.where(per_network(networks, copy), copy, variable))
        return tf.constant(False)


class OptimizerState:
    """Adam's slots and the last-good snapshot for a list of variables (shared by a trainer's steps).

    Args:
        variables: the trained ``tf.Variable`` s (with a leading network axis for K networks).
        learning_rate: a number, or (K,) numbers for K networks.
        n_networks: None for one network, K for K networks.
    """

    def __init__(self, variables, learning_rate, n_networks=None):
        self.variables = list(variables)
        self.n_networks = n_networks
        self.adam = Adam(self.variables, learning_rate, n_networks=n_networks)
        self.last_good = LastGood(self.variables + self.adam.slots)
        self._external_copy = None

    # an external (Keras) optimiser runs eagerly outside the graph: snapshot it in NumPy
    def save_external(self, optimizer):
        slots = getattr(optimizer, "variables", None) or []
        if callable(slots):  # tf.compat.v1 optimisers: a method
            slots = slots()
        tracked = self.variables + [v for v in slots if hasattr(v, "assign")]
        self._external_copy = [(v, v.numpy().copy()) for v in tracked]

    def restore(self, networks=None):
        """Put back the weights and optimiser state copied before the last update.

        ``networks``: for K networks, a (K,) bool of those to put back (None: all).
        """
        if self._external_copy is not None:
            for variable, value in self._external_copy:
                variable.assign(value)
        elif networks is None or self.n_networks is None:
            self.last_good.restore()
        else:
            self.last_good.restore_where(tf.constant(networks, tf.bool))

    def save(self, networks=None):
        """Copy the current weights and optimiser state (they were just found to give a finite loss).

        ``networks``: for K networks, a (K,) bool of those to copy (None: all).
        """
        if self._external_copy is not None:
            self._external_copy = [(v, v.numpy().copy()) for v, _ in self._external_copy]
        elif networks is None or self.n_networks is None:
            self.last_good.save()
        else:
            self.last_good.save_where(tf.constant(networks, tf.bool))
