"""The default fine-tuning recipe's user-facing knobs, importable without torch.

The Models page (web process) and TrainConfig (worker) both read these, so the form's
defaults are always the recipe that was measured in bench/train_demo.py.
"""

DEFAULT_EPOCHS = 3
DEFAULT_SEEDS = 1
DEFAULT_MAX_LENGTH = 128
# Training is scheduled in optimiser steps per seed: epochs x batches, but never fewer
# than MIN_STEPS (100 labelled reports are only 7 batches an epoch) and never more than
# MAX_STEPS (100,000 reports would otherwise take a day on a CPU).
DEFAULT_MIN_STEPS = 200
DEFAULT_MAX_STEPS = 2000
