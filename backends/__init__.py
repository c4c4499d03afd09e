"""Per-backend fast paths for the transposed convolution (see the dispatcher)."""
