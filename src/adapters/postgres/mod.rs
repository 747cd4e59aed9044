//! PostgreSQL: call records (partitioned by month), history, blacklist, inventory.
