// Package booking turns the lines of a payment run into double-entry
// bookings on a municipality's chart of accounts and writes them in the
// formats finance systems import. It is pure: no database, no HTTP, no
// clock; the run code feeds it values and streams.
//
// # Account rules
//
// A Rule maps (law, component, cost bearer, account kind) to an account,
// product, cost centre and budget position. Rules with an empty
// municipality form the county-wide default chart; a municipality's own
// rule for the same key overrides it. NewChart resolves both levels once
// per run into a fixed array, so booking a line costs four switches and an
// index. A missing rule is a *MissingRuleError (errors.Is ErrMissingRule)
// naming law, component, cost bearer and kind; Chart.Validate,
// Chart.ValidateAll and Chart.CheckLines let the run code refuse to create
// a run that could not be booked.
//
// # Journal
//
// Chart.Post books one run line as two entries of the same amount |a|,
// both carrying the line's Seq:
//
//	kind        component       a > 0                       a < 0
//	payment     not offset      Dr expense / Cr payable     Dr payable / Cr expense
//	payment     offset          Dr revenue / Cr payable     Dr payable / Cr revenue
//	overpayment not offset      Dr expense / Cr receivable  Dr receivable / Cr expense
//	overpayment offset          Dr revenue / Cr receivable  Dr receivable / Cr revenue
//
// So per run: Σ debits = Σ credits, and
//
//	Σ payment lines = net payable credits (money out: pain.001 + cash)
//	                = net expense + net new receivables − net offset revenue
//
// (DESIGN.md invariant 4). Chart.Journal does this over a stream of lines,
// checking on the way that each (case, month, payee) group has a single
// kind and the matching sign. Summary aggregates entries per account, side
// and dimensions (the summary view) and keeps Totals.
//
// # Booking CSV (docs/BOOKINGS.md)
//
// A header line with the column names, one record per entry, and a closing
// control record. Columns, in the default order (CSVLayout.Columns may pick
// a subset in any order):
//
//	municipality     municipality key of the chart
//	run              run id
//	seq              the run line's position in the run (two records per seq)
//	case             case id
//	month            benefit month YYYY-MM
//	payee            beneficiary | landlord
//	law              asylblg_3 | asylblg_2 | asylblg_1a | sgb12_3 | sgb12_4
//	component        regular | extra | child_supplement | rent | heating | income | offset
//	cost_bearer      bund_46a | municipality | fluag
//	line_kind        payment | overpayment
//	account_kind     expense | payable | receivable | revenue
//	account          account from the rule
//	product          product from the rule
//	cost_centre      cost centre from the rule
//	budget_position  budget position from the rule
//	side             D (debit, Soll) | C (credit, Haben)
//	amount           ≥ 0, two decimals, no thousands separator, decimal mark per layout
//	reclaim          reclaim id of an offset, else empty
//	text             "<case> <YYYY-MM> <law> <component> <payee>[ reclaim <id>]"
//
// Separator (default ';'), decimal comma (default) or point, encoding
// (utf-8 default, windows-1252, iso-8859-15; a character the encoding lacks
// is an error, never replaced) and LF or CR LF are set per municipality in
// CSVLayout. Fields holding the separator, a quote or a line break are
// quoted, quotes doubled (RFC 4180). The last record is the control record
//
//	CONTROL;<records>;<debit total>;<credit total>;<run>;<sha256>
//
// where records counts the booking records (not the header) and sha256 is
// the lower-case hex SHA-256 of every byte before the control record
// (header included, in the file's encoding). The same entries, run and
// layout always give byte-identical files.
//
// # JSON
//
// JSONWriter writes JSON Lines with the same keys (plus "record":"booking"),
// amounts as strings "12.34", side "debit"|"credit", then a control object
// {"record":"control","lines":…,"debit":…,"credit":…,"run":…,"sha256":…}.
// AppendJSON gives one object for the pull API.
//
// # Reports
//
// Report46a sums the net expenditure of cost bearer bund_46a per quarter
// for the § 46a SGB XII refund; FlueAGReport counts AsylbLG person-months
// per municipality and month for § 4 FlüAG NRW. Both have CSV writers.
package booking
