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
// # One pass
//
// The run's lines are read once, in journal order (case, payee, month,
// component; store.StreamExportLines), and handed in batches to two
// goroutines: the payments sum the payment lines of each (case, payee)
// into a transaction, merging the payee of its decision from a second
// stream of decisions in case order, and write the pain.001 files and the
// cash list; the bookings book every line on the chart and write the CSV
// (and, when asked for, the JSON Lines). A third goroutine checks each
// pain.001 file with sepa.Check while the next one is collected. The
// totals are reconciled at the end: Σ pain.001 + cash = Σ payment lines =
// the run's stored total = the bookings' net payable credits.
//
// # Memory
//
// Nothing grows with the run except one pain.001 file's transactions,
// rendered (sepa.Batch, about 35 MB for 100,000) because NbOfTxs and
// CtrlSum open the file, and the case ids of the journal pages that the
// bookings pull API needs (store.Journal).
package export
