// Package bench holds the benchmarks that cross component boundaries: the
// email_compromise processor on load-generator batches against the
// read-once baseline, the same stateless checks written as OTTL conditions,
// vendor bytes to pdata against encoding/json, and per-user state memory.
// `make bench` runs them and writes BENCHMARKS.md (see bench/benchreport).
//
// It also holds the oracle test of the load generator: the processor over
// a generated tenant must tag exactly the records the generator expects.
package bench
