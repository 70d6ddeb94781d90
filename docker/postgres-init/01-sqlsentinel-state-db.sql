-- The SQL Sentinel state database (alert state, history, outbox, silences), next to
-- Airflow's metadata database "airflow" on the same PostgreSQL server. Run once, when the
-- postgres volume is first created (docker-entrypoint-initdb.d).
CREATE DATABASE sqlsentinel OWNER airflow;
