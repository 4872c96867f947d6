"""Time-series forecasting (the RNN): a CSV of timestamps and values → the next steps."""
