//! Unit tests of the structure decoders, on synthetic guest memory.
