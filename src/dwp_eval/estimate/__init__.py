"""After follow-up: estimators (see the ITT, CACE and DiD issues)."""
