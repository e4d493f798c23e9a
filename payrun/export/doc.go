// Package export writes the files of a released payment run (CONTRACT.md §4):
// the pain.001.001.09 credit transfer file(s), the cash payout list, the
// booking files and manifest.json, and then marks the run exported.
//
// # Determinism
//
// Every byte of every file is a function of the run's content: identifiers
// (MsgId, PmtInfId, EndToEndId) derive from the run id and the file number,
// CreDtTm is the run's release time, and transactions are streamed in
// (case, payee role) order. Exporting the same run again rewrites
// byte-identical files.
//
// # Atomic publishing
//
// Each file is written to a temporary name starting with ".tmp-" in the
// output directory, fsynced, checked (pain.001 files with sepa.Check) and
// only then renamed to its final name; manifest.json is written last and the
// directory is fsynced. On any error every temporary file and every file
// already renamed by this export is removed, so a failed export leaves no
// file that looks complete. The manifest is the commit marker: a consumer
// reads only the files listed in manifest.json.
//
// # Memory
//
// The transactions are never loaded as a whole: the group header totals of
// each file come from a SQL aggregate (first pass), then the transactions
// are streamed from a cursor in the same order (second pass).
package export
