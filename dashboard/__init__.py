"""spikelens dashboard: Panel pages bound to the headless analysis objects."""
