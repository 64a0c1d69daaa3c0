"""The domain: each module owns one kind of data and its transactions."""
