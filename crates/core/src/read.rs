//! Bounded typed readers of guest memory. (filled in below)
