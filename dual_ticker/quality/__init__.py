"""The blocking quality gate: pandera schemas plus the calendar rules pandera cannot express."""
