"""Market-data feeds: one interface, interchangeable clients (Alpha Vantage, Yahoo, replay)."""
