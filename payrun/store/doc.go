// Package store is payrun's PostgreSQL adapter (pgx/v5): embedded versioned
// migrations, tenancy by row-level security, the decision importer (COPY into
// a staging table, then set-based SQL) and the queries the commands need.
// It is the only package that imports pgx; it translates pgx errors into
// payrun's sentinels (payrun.ErrNotFound, payrun.ErrConflict) and does no
// file or network I/O inside a transaction.
//
// # Tenancy
//
// Every tenant table has row-level security (ENABLE + FORCE). WithTx sets
// the transaction-local setting payrun.municipality; '*' (AllMunicipalities)
// is the operator scope that sees every row. The application connects as a
// non-superuser role without BYPASSRLS that owns nothing (superusers and
// owners could switch the guards off); the schema owner migrates (Setup).
//
// # Run lines
//
// A run's lines are stored in chunks of consecutive cases, one row of
// run_chunks per batch of the writer, their fields packed in text
// (run_pack.go, migrations 0095 and 0135); the hot readers split them in
// Go, SQL readers use the views run_case_lines and run_lines.
//
// # Amounts
//
// Amounts are numeric(14,2) in SQL and payrun.Cents in Go, converted exactly
// by the Amount adapter (pgx NumericScanner/NumericValuer) or, in bulk, as
// bigint cents in staging tables. Never a float.
package store
