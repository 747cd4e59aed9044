//! The embedded adapter: every port in one SQLite file.
