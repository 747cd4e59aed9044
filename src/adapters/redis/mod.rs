//! Redis: sticky routes, counters, rate windows and the lookup cache.
