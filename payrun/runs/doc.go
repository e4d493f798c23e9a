// Package runs is the service logic of payment runs: creating (and
// recomputing) a run with the calculation core, the canonical content
// digest, the four-eyes signatures and cancelling. The database work —
// transaction, advisory lock, cursors, COPY, triggers — lives in
// payrun/store; this package adds the rules a person sees first and wires
// the calculation core to the store's case stream.
//
// # Which months a run computes
//
// For every case whose effective recompute_from is NULL or ≤ the period,
// the months from it (NULL: the case's earliest decision or paid month)
// through the period. cases.recompute_from is lowered by every change that
// can alter a month's netting — a new decision (to its first month), a rate
// or Sofortzuschlag change (every case, to the month of valid_from), the
// cancellation of a live run (its cases, to their earliest month in that
// run) — each time with a new generation (recompute_gen). A run's first
// signature records one watermark (period+1, the run's generation): every
// case not lowered since the run was built is settled through the period.
// The effective recompute_from is the stored one raised by the watermarks
// whose generation is at least the case's (migration 0090 proves it equal to
// updating every computed case, which the signature did before).
//
// # Digest
//
// The digest is sha256 over the lines in canonical order — case_id in byte
// order, month, payee (beneficiary, landlord), component in the order of
// payrun.Components, reclaim_id — each encoded by AppendCanonicalLine.
// Each signature records the digest its signer saw; the database refuses a
// signature over another digest, and any change of a proposed run's lines
// clears its digest until the run is rebuilt.
//
// Errors: payrun.ErrNothingToPay (no run created), payrun.ErrForbidden,
// payrun.ErrSameSigner, payrun.ErrRunState, payrun.ErrRunChanged,
// payrun.ErrUnauthorized.
package runs
