-- query.lua — wrk script for bench/load.py: POST one GROUP BY query to
-- /v1/query (the path comes from the URL on wrk's command line).
wrk.method = "POST"
wrk.body = '{"sql":"SELECT state, count(*) FROM candidates GROUP BY state"}'
wrk.headers["Content-Type"] = "application/json"
