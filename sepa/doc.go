// Package sepa writes and checks SEPA credit transfer files in the
// ISO 20022 format pain.001.001.09 under the German DK rules (Anlage 3,
// GBIC_5 technical validation subset).
//
// It does not import package payrun: amounts are int64 euro cents, dates
// are time.Time values of which only the calendar date is used, and the
// caller (the exporter) decides grouping, identifiers and file splitting.
// It writes to an io.Writer and never touches files itself: atomic
// publishing (temp file, fsync, rename) belongs to the exporter.
//
// # Writing
//
// [NewWriter] streams one message. The group header totals (NbOfTxs,
// CtrlSum) must be known before the first byte, so the caller computes them
// first (e.g. a SQL aggregate) and the Writer verifies them: [Writer.EndPaymentInfo]
// and [Writer.Close] fail with [ErrTotals] when what was written differs
// from what was declared. Every field is validated before it is written; the
// first invalid field stops the Writer with a [*FieldError] naming the record
// (EndToEndId, PmtInfId or MsgId) and the field. Memory use does not grow
// with the number of transactions; in particular the Writer does not track
// EndToEndId uniqueness (the caller guarantees it and [Check] verifies it).
//
// The output is UTF-8 without BOM, without a schemaLocation, and laid out
// with one line for the group header, one for each PmtInf head and one for
// each transaction: compact for the bank, still readable in a diff.
//
// # Characters
//
// Identifiers (MsgId, PmtInfId, InstrId, EndToEndId) use the SEPA basic set
// [A-Za-z0-9 +?/-:().,'] with at most 35 characters ([IDValid]). Text fields
// (names ≤ 70 characters, remittance ≤ 140) use the DK set: the basic set plus
// Ä Ö Ü ä ö ü ß & * $ % ([TextValid]). Lengths count runes, not bytes.
// [CleanText] maps arbitrary text into the DK set without touching umlauts
// and ß (transliterating names breaks Verification of Payee).
//
// # Checking
//
// [Check] reads a pain.001.001.09 file as a stream and reports every
// violation of the DK business rules that the XSDs do not catch (totals,
// IBAN check digits, unique identifiers, SvcLvl, ChrgBr, UETR, LclInstrm/Prtry,
// SCT/Inst mixing, character set, …) with an XPath-like location. Its
// tokenizer (xmlscan.go) is a strict streaming XML scanner that accepts and
// refuses what encoding/xml's Decoder does, with the same error messages
// (a differential test and fuzz target compare the two), at about eight
// times the speed: it allocates nothing per element.
//
// Bank business days for execution dates live in the sub-package bankday.
package sepa
