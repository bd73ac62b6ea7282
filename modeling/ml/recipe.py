"""The default fine-tuning recipe's user-facing knobs, importable without torch.

The Models page (web process) and TrainConfig (worker) both read these, so the form's
defaults are always the recipe that was measured in bench/train_demo.py.
"""

DEFAULT_EPOCHS = 2
DEFAULT_SEEDS = 2
DEFAULT_MAX_LENGTH = 128
