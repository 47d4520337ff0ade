"""The lecture's samples, installed with cnn-tui as the package `cnn_tui_samples` (see README.md here)."""
