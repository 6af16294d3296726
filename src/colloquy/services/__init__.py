"""Business rules over the Store: what the API, the CLI and the dashboard all call."""
