"""The notebooks run under nbval (``pytest --nbval-lax``) with shrunk training budgets.

``PSYCHRNN_WIDGETS_FAST=1`` is read by every notebook: the same cells run, on smaller
budgets, so the whole set takes minutes in CI.  Opened by hand, the notebooks use their
full budgets.
"""
import os

os.environ["PSYCHRNN_WIDGETS_FAST"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
