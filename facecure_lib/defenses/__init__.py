"""Defenses of the model trainer: robust training, detection."""
