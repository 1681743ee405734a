"""Seeds: independent streams per consumer, unchanged task batches, and no shared bias (issue 15)."""
import numpy as np

from psychrnn_widgets import Basic, PerceptualDiscrimination, seeding


def test_the_same_integer_seed_gives_independent_streams():
    for seed in (0, 1, 7, 2020):
        draws = {name: seeding.rng(seed, name).standard_normal(2000) for name in ("task", "init", "noise", "ensemble")}
        names = sorted(draws)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                assert not np.array_equal(draws[a], draws[b])
                assert abs(np.corrcoef(draws[a], draws[b])[0, 1]) < 0.1, (seed, a, b)
        # the task's stream is the one a task seeded alike has always used: batches are unchanged
        np.testing.assert_array_equal(draws["task"], np.random.default_rng(seed).standard_normal(2000))


def test_a_network_and_a_task_seeded_alike_do_not_share_numbers():
    task = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=50, seed=3)
    model = Basic({**task.get_task_params(), "name": "same_seed", "N_rec": 50, "seed": 3})
    # W_rec is drawn standard normal before scaling: recover the draws, compare with the task's stream
    W_rec = model.initializer.get("W_rec")
    raw = W_rec.ravel() / np.std(W_rec)
    task_draws = np.random.default_rng(3).standard_normal(raw.size)
    assert abs(np.corrcoef(raw, task_draws)[0, 1]) < 0.1
    # and the first batch is what PerceptualDiscrimination(seed=3) has always drawn
    again = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=50, seed=3)
    np.testing.assert_array_equal(task.get_trial_batch()[0], again.get_trial_batch()[0])


def test_choice_biases_of_networks_trained_with_equal_task_and_network_seeds_split_both_ways():
    """At zero coherence a trained network prefers one channel; across seeds the preference must not be shared."""
    probe = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=500, coherence=0.0, seed=999)
    x, _, mask, _ = probe.get_trial_batch()
    biases = []
    for seed in range(10):
        task = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=50, seed=seed)
        model = Basic({**task.get_task_params(), "name": f"bias{seed}", "N_rec": 50, "seed": seed})
        model.train(task, {"training_iters": 5000, "verbosity": False})
        outputs = model.test(x, noise=False)[0]
        choice = np.argmax(np.mean(outputs * mask, axis=1), axis=1)
        biases.append(np.mean(choice == 1) - 0.5)
    biases = np.array(biases)
    assert (biases > 0.05).sum() >= 2 and (biases < -0.05).sum() >= 2, biases
