"""Tabular classification (the MLP): a CSV of numeric features and a label column."""
