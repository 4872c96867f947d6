"""The shared runtime every kind builds on: device, datasets, trainer, metrics, statistics.

Also checkpoints, inference helpers and plots. Plain torch/numpy/scikit-learn: no MLflow,
Prefect, GX or DVC.
"""
