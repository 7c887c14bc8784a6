"""Impact tables, plots and reports."""
