-- The advisor benchmark's workload (benchmarks/advisor/README.md explains the traps).
-- Each query's weight is its calls in the period the workload stands for.

-- Q1 and Q2 should share one index: orders (customer_id).
-- weight: 400
SELECT id, total FROM orders WHERE customer_id = 4242 ORDER BY created_at DESC LIMIT 20;
-- weight: 200
SELECT count(*) FROM orders WHERE customer_id = 1717;

-- Q3, an expression index: customers (lower(email)).
-- weight: 300
SELECT id, name FROM customers WHERE lower(email) = 'user123456@example.com';

-- Q4, an operator class: products (name text_pattern_ops) under a non-C collation.
-- weight: 200
SELECT id, name FROM products WHERE name LIKE 'gizmo-4321%';

-- Q5, GIN: events USING gin (payload jsonb_path_ops).
-- weight: 300
SELECT count(*) FROM events WHERE payload @> '{"campaign": "c-77"}';

-- Q6, a partial index for a rare constant: orders (created_at) WHERE status = 'pending'.
-- weight: 300
SELECT id, customer_id FROM orders WHERE status = 'pending' ORDER BY created_at LIMIT 50;

-- Traps that must get no index.
-- T1, a tiny table.
-- weight: 2000
SELECT name FROM countries WHERE code = 'DE';
-- T2, a predicate that keeps 90 % of the rows.
-- weight: 20
SELECT avg(balance) FROM customers WHERE tier = 'free';
-- T3 and T4, already indexed (a unique constraint, the primary key).
-- weight: 1000
SELECT name FROM products WHERE sku = 'SKU-000042';
-- weight: 1000
SELECT email FROM customers WHERE id = 99;

-- Writes: an index on events(user_agent) would speed W2 up, but W1's inserts would
-- pay for it on every row.
-- weight: 80000
INSERT INTO events (customer_id, kind, payload, user_agent, created_at)
VALUES (5, 'click', '{"campaign": "c-1"}', 'ua-1', now());
-- weight: 30
SELECT count(*) FROM events WHERE user_agent = 'ua-4242';
-- weight: 500
UPDATE orders SET status = 'done' WHERE id = 123;
