"""The pipeline's steps, one package per stage; each step is a plain function."""
