// write_parquet.mjs — writes a Parquet file with hyparquet-writer (npm, pinned
// in tests/package.json; installed by scripts/bootstrap.sh into deps/node/), a
// writer independent of DuckDB, for test_parquet_ingest.py.
//
//   node write_parquet.mjs SPEC.json OUT.parquet
//
// SPEC: {"rowGroupSize": n, "kvMetadata": [{"key", "value"}] (optional),
// "columns": [{"name", "element": <Parquet SchemaElement without name>,
// "bigint": bool, "data": [...]}]}. "bigint"
// columns hold integers as decimal strings (JSON numbers lose precision past
// 2^53); they are written as BigInt. null is a null.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const nodeModules = process.env.LAKEHOUSE_NODE_MODULES ||
  path.join(here, '..', '..', 'deps', 'node', 'node_modules')
const require = createRequire(path.join(nodeModules, 'noop.js'))
const { parquetWriteFile } = await import(require.resolve('hyparquet-writer'))

const [specPath, out] = process.argv.slice(2)
const spec = JSON.parse(readFileSync(specPath, 'utf8'))
const schema = [{ name: 'root', num_children: spec.columns.length }]
const columnData = []
for (const c of spec.columns) {
  schema.push({ name: c.name, repetition_type: 'OPTIONAL', ...c.element })
  const data = c.bigint ? c.data.map(v => v === null ? null : BigInt(v)) : c.data
  columnData.push({ name: c.name, data })
}
parquetWriteFile({ filename: out, columnData, schema, rowGroupSize: spec.rowGroupSize || 100000,
  kvMetadata: spec.kvMetadata })
