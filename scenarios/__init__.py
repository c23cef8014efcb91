"""Bundled scenarios (TOML), one per policy family; ``m2c run NAME`` finds them by name."""
