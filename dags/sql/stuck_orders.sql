-- Orders still 'pending' two hours after they were placed: payment or fulfilment is stuck.
-- Used by the `stuck_orders` alert in ../alerts.yaml (query_file paths are relative to the YAML).
-- The contract: one row; `status` is 'ALERT' or 'OK'; `actual_value` and `threshold` are shown
-- in notifications and history; every other column is context.
SELECT
    CASE WHEN COUNT(*) > 25 THEN 'ALERT' ELSE 'OK' END AS status,
    COUNT(*) AS actual_value,
    25 AS threshold,
    MIN(created_at) AS oldest_pending_since,
    ROUND(COALESCE(SUM(amount), 0), 2) AS amount_on_hold
FROM orders
WHERE status = 'pending'
  AND created_at < datetime('now', '-2 hours')
