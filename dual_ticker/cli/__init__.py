"""The command line and the local stack that `make run` starts."""
