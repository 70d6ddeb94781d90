"""The core layer: config, result contract, state machine, silences. Never imports Airflow."""
