// DuckDB runner for the peer benchmark (bench/peers.py).
//
// Usage: node bench/peers/duck.mjs JOB.json
//
// A job is one JSON object:
//   {"csv": "/tmp/.../chunk-*.csv",           CSV files with a header line
//    "columns": [["order_id", "VARCHAR"], ...],
//    "setup": ["SET threads = 2", ...],        optional
//    "queries": [{"name": "q1", "sql": "SELECT ..."}, ...],
//    "runs": 5, "slow_ms": 2000, "slow_runs": 3, "once_ms": 10000}
//
// DuckDB runs in this process (in memory), so the times are taken here:
// the table is created from the CSV files (load time reported), then each
// query runs once to warm up and `runs` more times (`slow_runs` when the
// warm-up took longer than `slow_ms`; queries faster than that repeat for
// at least 1 s, at most 100 runs), each timed from the call until the rows
// are in JavaScript values.  One JSON object goes to standard output:
//   {"load_ms": N, "rows": N,
//    "queries": {"q1": {"times_ms": [...], "rows": [[...]...]} |
//                       {"error": "message"}}}
// Values: TIMESTAMP as "YYYY-MM-DD HH:MM:SS", integers of any width as JSON
// numbers (the results here are far below 2^53), doubles as numbers.
//
// The @duckdb/node-api package is the one tests/diff installs (npm ci there,
// scripts/install-deps.sh); it is resolved from tests/diff/package.json.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(resolve(here, '../../tests/diff/package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');

function pad(n, w) {
	return String(n).padStart(w, '0');
}

function value(v) {
	if (v === null || v === undefined)
		return null;
	if (typeof v === 'bigint')
		return Number(v);
	if (v instanceof Date)
		return v.getUTCFullYear() + '-' + pad(v.getUTCMonth() + 1, 2) + '-' + pad(v.getUTCDate(), 2) +
			' ' + pad(v.getUTCHours(), 2) + ':' + pad(v.getUTCMinutes(), 2) + ':' + pad(v.getUTCSeconds(), 2);
	if (typeof v === 'object')
		return String(v);
	return v;
}

function sqlString(s) {
	return "'" + String(s).replace(/'/g, "''") + "'";
}

async function main() {
	const job = JSON.parse(readFileSync(process.argv[2], 'utf8'));
	const instance = await DuckDBInstance.create(':memory:');
	const conn = await instance.connect();
	for (const s of job.setup || [])
		await conn.run(s);
	const cols = job.columns.map(([n, t]) => sqlString(n) + ': ' + sqlString(t)).join(', ');
	let t = performance.now();
	await conn.run(`CREATE TABLE order_events AS SELECT * FROM read_csv(${sqlString(job.csv)}, ` +
		`header = true, columns = {${cols}})`);
	const loadMs = performance.now() - t;
	const n = (await conn.runAndReadAll('SELECT count(*) FROM order_events')).getRowsJS()[0][0];
	const out = {};
	for (const q of job.queries) {
		try {
			const run = async () => {
				const t0 = performance.now();
				const reader = await conn.runAndReadAll(q.sql);
				const rows = reader.getRowsJS();
				return [performance.now() - t0, rows];
			};
			const [warm, rows] = await run();
			if (warm > (job.once_ms || 10000)) {	// one figure only, as bench/peers.py does
				out[q.name] = { warmup_ms: warm, times_ms: [warm], rows: rows.map((r) => r.map(value)), single_run: true };
				continue;
			}
			const k = warm > (job.slow_ms || 2000) ? (job.slow_runs || 3) : (job.runs || 5);
			// fast queries: repeated for at least 1 s (at most 100 runs)
			const times = [];
			const start = performance.now();
			while (times.length < k || (performance.now() - start < 1000 && times.length < 100))
				times.push((await run())[0]);
			out[q.name] = { warmup_ms: warm, times_ms: times, rows: rows.map((r) => r.map(value)) };
		} catch (e) {
			out[q.name] = { error: e.message };
		}
	}
	process.stdout.write(JSON.stringify({ load_ms: loadMs, rows: Number(n), queries: out }) + '\n');
	conn.closeSync?.();
}

main().catch((e) => {
	process.stderr.write('duck.mjs: ' + (e && e.stack || e) + '\n');
	process.exit(2);
});
