//! `vstrace attach --plugin`: the client of a dormant plugin.
