"""Offline work: training, evaluation and reports. The service never imports this package."""
