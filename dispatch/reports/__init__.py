"""Leaders' reports: the trends as tables (CSV, XLSX) and the weekly or monthly brief (PDF)."""
