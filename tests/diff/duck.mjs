// DuckDB oracle for Waybill's differential SQL test
// (tests/integration/test_differential.py).
//
// Usage: node duck.mjs JOB.json   (or the job on standard input)
//
// A job is one JSON object:
//   {"tables":  [{"name": "t", "columns": [["c1", "INTEGER"], ...],
//                 "ndjson": "/path/rows.ndjson"  |  "csv": "/path/rows.csv"}],
//    "setup":   ["SET ...", ...],           optional statements run first
//    "queries": ["SELECT ...", ...]}
//
// Every table is created with the given DuckDB types and filled from its
// file (NDJSON: a missing field or null is NULL; a TIMESTAMP column is read
// from epoch milliseconds; CSV: a header line, empty field = NULL).  Then
// each query runs and one JSON line per query goes to standard output, in
// order:
//   {"columns": [names], "types": [DuckDB type names], "rows": [[v, ...]],
//    "ms": milliseconds the query took}
//   {"error": "message", "ms": ...}           when the query failed
// Values keep their types: integers of any width are exact JSON integers
// (BIGINT/HUGEINT never pass through a double), floating point values are
// JSON numbers with a decimal point or exponent ("NaN", "Infinity" and
// "-Infinity" as strings), strings are strings, NULL is null, booleans are
// booleans and TIMESTAMP values are epoch milliseconds (integers).
// A failure to load data exits with status 2 and a message on stderr.
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

function fmtValue(v) {
	if (v === null || v === undefined)
		return 'null';
	if (typeof v === 'bigint')
		return v.toString();
	if (typeof v === 'number') {
		if (Number.isNaN(v))
			return '"NaN"';
		if (!Number.isFinite(v))
			return v > 0 ? '"Infinity"' : '"-Infinity"';
		return JSON.stringify(v);
	}
	if (typeof v === 'string' || typeof v === 'boolean')
		return JSON.stringify(v);
	if (v instanceof Date)
		return String(v.getTime());
	if (Array.isArray(v))
		return '[' + v.map(fmtValue).join(',') + ']';
	return JSON.stringify(String(v));
}

// A DOUBLE/FLOAT column's integral values still print as floats ("3.0"), so
// the reader sees the type of every value without the column types.
function fmtTyped(v, type) {
	const s = fmtValue(v);
	if ((type === 'DOUBLE' || type === 'FLOAT') && typeof v === 'number' &&
	    Number.isFinite(v) && !/[.eE]/.test(s))
		return s + '.0';
	return s;
}

function sqlString(s) {
	return "'" + String(s).replace(/'/g, "''") + "'";
}

function quoteIdent(s) {
	return '"' + String(s).replace(/"/g, '""') + '"';
}

async function loadTable(conn, t) {
	const cols = t.columns.map(([n, ty]) => quoteIdent(n) + ' ' + ty).join(', ');
	await conn.run(`CREATE TABLE ${quoteIdent(t.name)} (${cols})`);
	if (t.ndjson) {
		const readCols = t.columns.map(([n, ty]) =>
			sqlString(n) + ': ' + sqlString(ty === 'TIMESTAMP' ? 'BIGINT' : ty)).join(', ');
		const sel = t.columns.map(([n, ty]) =>
			ty === 'TIMESTAMP' ? `epoch_ms(${quoteIdent(n)})` : quoteIdent(n)).join(', ');
		await conn.run(`INSERT INTO ${quoteIdent(t.name)} SELECT ${sel} FROM read_json(` +
			`${sqlString(t.ndjson)}, format = 'newline_delimited', columns = {${readCols}})`);
	} else if (t.csv) {
		await conn.run(`COPY ${quoteIdent(t.name)} FROM ${sqlString(t.csv)} (HEADER true)`);
	}
}

async function main() {
	const path = process.argv[2];
	const job = JSON.parse(readFileSync(path && path !== '-' ? path : 0, 'utf8'));
	const instance = await DuckDBInstance.create(':memory:');
	const conn = await instance.connect();
	try {
		for (const t of job.tables || [])
			await loadTable(conn, t);
		for (const s of job.setup || [])
			await conn.run(s);
	} catch (e) {
		process.stderr.write('duck.mjs: loading failed: ' + e.message + '\n');
		process.exit(2);
	}
	const out = [];
	for (const q of job.queries || []) {
		const t0 = performance.now();
		try {
			const reader = await conn.runAndReadAll(q);
			const names = reader.columnNames();
			const types = reader.columnTypes().map((ty) => ty.toString());
			const rows = reader.getRowsJS().map((r) =>
				'[' + r.map((v, i) => fmtTyped(v, types[i])).join(',') + ']');
			out.push('{"columns":' + JSON.stringify(names) + ',"types":' +
				 JSON.stringify(types) + ',"rows":[' + rows.join(',') + '],"ms":' +
				 (performance.now() - t0).toFixed(1) + '}');
		} catch (e) {
			out.push(JSON.stringify({ error: e.message, ms: +(performance.now() - t0).toFixed(1) }));
		}
	}
	process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
	conn.closeSync?.();
}

main().catch((e) => {
	process.stderr.write('duck.mjs: ' + (e && e.stack || e) + '\n');
	process.exit(2);
});
