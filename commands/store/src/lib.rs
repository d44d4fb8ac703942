//! The [`Store`](vabot_commands::store::Store) port on sqlx: PostgreSQL and SQLite.
