package sepa

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Namespace is the XML namespace of pain.001.001.09 (GBIC_5 keeps it).
const Namespace = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"

// DefaultPurpose is the purpose code written when Transaction.Purpose is
// empty: social security benefit.
const DefaultPurpose = "SSBE"

// NotProvided is the DbtrAgt identification used when the debtor BIC is
// not given (GBIC_5: Othr/Id NOTPROVIDED).
const NotProvided = "NOTPROVIDED"

// GroupHeader is the message header. NbOfTxs and CtrlSum (cents) are the
// totals over all transactions of the message; they are written first and
// verified by Close.
type GroupHeader struct {
	MsgID           string    // unique, never reused on resubmission; basic set, ≤ 35
	CreatedAt       time.Time // written with its UTC offset, to the second
	NbOfTxs         int
	CtrlSum         int64  // cents
	InitiatingParty string // name, DK set, ≤ 70
}

// PaymentInfo opens one PmtInf block: one debtor account, one execution
// date, SCT or SCT Inst.
type PaymentInfo struct {
	PmtInfID string
	// ExecutionDate: only the calendar date (in the value's location) is used.
	ExecutionDate time.Time
	// Instant requests SCT Inst (LclInstrm/Cd INST). A message is either all
	// SCT or all SCT Inst; mixing is refused.
	Instant bool
	// BatchBooking is written as BtchBookg when not nil (nil: bank default).
	BatchBooking *bool
	Debtor       string // account holder name, DK set, ≤ 70
	DebtorIBAN   string
	DebtorBIC    string // "" or NotProvided: DbtrAgt/FinInstnId/Othr/Id NOTPROVIDED
	NbOfTxs      int
	CtrlSum      int64 // cents
	// CategoryPurpose is written as PmtTpInf/CtgyPurp/Cd when not empty
	// (4 upper-case letters, e.g. SSBE or GOVT).
	CategoryPurpose string
}

// Transaction is one CdtTrfTxInf.
type Transaction struct {
	EndToEndID string // unique in the message; basic set, ≤ 35
	InstrID    string // optional
	Amount     int64  // cents, MinAmount..MaxAmount
	// CreditorName is the account holder (Verification of Payee matches it).
	CreditorName string
	CreditorIBAN string
	CreditorBIC  string // optional; CdtrAgt is omitted when empty
	// UltimateCreditor names the beneficiary when the account holder is
	// someone else (landlord, care home, card account); optional.
	UltimateCreditor string
	Purpose          string // ExternalPurpose1Code; "" means DefaultPurpose (SSBE)
	Remittance       string // RmtInf/Ustrd, DK set, ≤ 140; omitted when empty
}

type writerState int

const (
	stateTop   writerState = iota // after GrpHdr or a PmtInf, before Close
	statePmt                      // inside a PmtInf
	stateClose                    // closed
)

// Writer streams one pain.001.001.09 message. Use NewWriter, then
// StartPaymentInfo, Transaction…, EndPaymentInfo (repeated), Close. After
// the first error every method returns that error; the output is then
// incomplete and must be discarded.
type Writer struct {
	bw    *bufio.Writer
	hdr   GroupHeader
	state writerState
	err   error

	kindSet, instant bool // SCT or SCT Inst, fixed by the first PmtInf

	pi           PaymentInfo
	piTxs, txs   int
	piSum, sum   int64
	paymentInfos int

	buf []byte // scratch for one element group
}

// NewWriter validates h and writes the XML declaration, the Document root
// and the group header to out (buffered; Close flushes, it does not close
// out). It returns a *FieldError wrapping ErrInvalid when h is invalid, and
// nothing is written then.
func NewWriter(out io.Writer, h GroupHeader) (*Writer, error) {
	if err := validateHeader(&h); err != nil {
		return nil, err
	}
	w := &Writer{bw: bufio.NewWriterSize(out, 64<<10), hdr: h, buf: make([]byte, 0, 2048)}
	b := w.buf[:0]
	b = append(b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Document xmlns="`+Namespace+`">`+"\n"+
		"<CstmrCdtTrfInitn>\n<GrpHdr>"...)
	b = elem(b, "<MsgId>", h.MsgID, "</MsgId>")
	b = append(b, "<CreDtTm>"...)
	b = h.CreatedAt.Truncate(time.Second).AppendFormat(b, time.RFC3339)
	b = append(b, "</CreDtTm><NbOfTxs>"...)
	b = strconv.AppendInt(b, int64(h.NbOfTxs), 10)
	b = append(b, "</NbOfTxs><CtrlSum>"...)
	b = AppendAmount(b, h.CtrlSum)
	b = append(b, "</CtrlSum><InitgPty>"...)
	b = elem(b, "<Nm>", h.InitiatingParty, "</Nm>")
	b = append(b, "</InitgPty></GrpHdr>\n"...)
	w.write(b)
	return w, w.err
}

// StartPaymentInfo validates p and opens a PmtInf block.
func (w *Writer) StartPaymentInfo(p PaymentInfo) error {
	if err := w.expect(stateTop, "StartPaymentInfo"); err != nil {
		return err
	}
	if err := validatePaymentInfo(&p); err != nil {
		return w.fail(err)
	}
	if w.kindSet && w.instant != p.Instant {
		return w.fail(&FieldError{Record: pmtRecord(p.PmtInfID), Field: "Instant", Value: strconv.FormatBool(p.Instant),
			Err: invalid("SCT and SCT Inst must not be mixed in one message")})
	}
	w.kindSet, w.instant = true, p.Instant
	w.pi, w.piTxs, w.piSum = p, 0, 0
	w.state = statePmt
	w.paymentInfos++
	w.write(appendPmtInfHead(w.buf[:0], &p))
	return w.err
}

// Transaction validates t and writes it into the open PmtInf. A validation
// error names the EndToEndId and the field; nothing of t is written then.
func (w *Writer) Transaction(t Transaction) error {
	if err := w.expect(statePmt, "Transaction"); err != nil {
		return err
	}
	if err := validateTransaction(&t); err != nil {
		return w.fail(err)
	}
	w.piTxs++
	w.piSum += t.Amount
	w.write(appendTx(w.buf[:0], &t))
	return w.err
}

// EndPaymentInfo closes the PmtInf block. It fails with ErrTotals when the
// block's declared NbOfTxs or CtrlSum differ from the transactions written.
func (w *Writer) EndPaymentInfo() error {
	if err := w.expect(statePmt, "EndPaymentInfo"); err != nil {
		return err
	}
	if w.piTxs != w.pi.NbOfTxs || w.piSum != w.pi.CtrlSum {
		return w.fail(fmt.Errorf("sepa: %s: declared %d transactions / %s, wrote %d / %s: %w",
			pmtRecord(w.pi.PmtInfID), w.pi.NbOfTxs, FormatAmount(w.pi.CtrlSum), w.piTxs, FormatAmount(w.piSum), ErrTotals))
	}
	w.txs += w.piTxs
	w.sum += w.piSum
	w.piTxs, w.piSum = 0, 0
	w.state = stateTop
	w.write(append(w.buf[:0], "</PmtInf>\n"...))
	return w.err
}

// Close ends the message and flushes. It fails with ErrTotals when the
// group header's NbOfTxs or CtrlSum differ from what was written, and with
// ErrOrder when a PmtInf is still open or none was written. It does not
// close the underlying writer.
func (w *Writer) Close() error {
	if err := w.expect(stateTop, "Close"); err != nil {
		return err
	}
	w.state = stateClose
	if w.paymentInfos == 0 {
		return w.fail(fmt.Errorf("sepa: MsgId %q: no PmtInf written: %w", w.hdr.MsgID, ErrOrder))
	}
	if w.txs != w.hdr.NbOfTxs || w.sum != w.hdr.CtrlSum {
		return w.fail(fmt.Errorf("sepa: MsgId %q: declared %d transactions / %s, wrote %d / %s: %w",
			w.hdr.MsgID, w.hdr.NbOfTxs, FormatAmount(w.hdr.CtrlSum), w.txs, FormatAmount(w.sum), ErrTotals))
	}
	w.write(append(w.buf[:0], "</CstmrCdtTrfInitn>\n</Document>\n"...))
	if w.err == nil {
		if err := w.bw.Flush(); err != nil {
			w.err = fmt.Errorf("sepa: MsgId %q: flush: %w", w.hdr.MsgID, err)
		}
	}
	return w.err
}

// Written returns the number of transactions and their sum in cents
// written so far (in closed and open PmtInf blocks), for reconciliation.
func (w *Writer) Written() (txs int, cents int64) { return w.txs + w.piTxs, w.sum + w.piSum }

func (w *Writer) expect(s writerState, op string) error {
	if w.err != nil {
		return w.err
	}
	if w.state != s {
		return w.fail(fmt.Errorf("sepa: MsgId %q: %s: %w", w.hdr.MsgID, op, ErrOrder))
	}
	return nil
}

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return w.err
}

func (w *Writer) write(b []byte) {
	w.buf = b[:0] // keep a grown buffer
	if w.err != nil || len(b) == 0 {
		return
	}
	if _, err := w.bw.Write(b); err != nil {
		w.err = errWrite(w.hdr.MsgID, err)
	}
}

func errWrite(msgID string, err error) error {
	return fmt.Errorf("sepa: MsgId %q: write: %w", msgID, err)
}

func appendPmtInfHead(b []byte, p *PaymentInfo) []byte {
	b = append(b, "<PmtInf>"...)
	b = elem(b, "<PmtInfId>", p.PmtInfID, "</PmtInfId>")
	b = append(b, "<PmtMtd>TRF</PmtMtd>"...)
	if p.BatchBooking != nil {
		b = append(b, "<BtchBookg>"...)
		b = strconv.AppendBool(b, *p.BatchBooking)
		b = append(b, "</BtchBookg>"...)
	}
	b = append(b, "<NbOfTxs>"...)
	b = strconv.AppendInt(b, int64(p.NbOfTxs), 10)
	b = append(b, "</NbOfTxs><CtrlSum>"...)
	b = AppendAmount(b, p.CtrlSum)
	b = append(b, "</CtrlSum><PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl>"...)
	if p.Instant {
		b = append(b, "<LclInstrm><Cd>INST</Cd></LclInstrm>"...)
	}
	if p.CategoryPurpose != "" {
		b = elem(b, "<CtgyPurp><Cd>", p.CategoryPurpose, "</Cd></CtgyPurp>")
	}
	b = append(b, "</PmtTpInf><ReqdExctnDt><Dt>"...)
	b = p.ExecutionDate.AppendFormat(b, time.DateOnly)
	b = append(b, "</Dt></ReqdExctnDt>"...)
	b = elem(b, "<Dbtr><Nm>", p.Debtor, "</Nm></Dbtr>")
	b = elem(b, "<DbtrAcct><Id><IBAN>", p.DebtorIBAN, "</IBAN></Id></DbtrAcct>")
	if p.DebtorBIC == "" || p.DebtorBIC == NotProvided {
		b = append(b, "<DbtrAgt><FinInstnId><Othr><Id>NOTPROVIDED</Id></Othr></FinInstnId></DbtrAgt>"...)
	} else {
		b = elem(b, "<DbtrAgt><FinInstnId><BICFI>", p.DebtorBIC, "</BICFI></FinInstnId></DbtrAgt>")
	}
	return append(b, "<ChrgBr>SLEV</ChrgBr>\n"...)
}

func appendTx(b []byte, t *Transaction) []byte {
	b = append(b, "<CdtTrfTxInf><PmtId>"...)
	if t.InstrID != "" {
		b = elem(b, "<InstrId>", t.InstrID, "</InstrId>")
	}
	b = elem(b, "<EndToEndId>", t.EndToEndID, "</EndToEndId></PmtId>")
	b = append(b, "<Amt><InstdAmt Ccy=\"EUR\">"...)
	b = AppendAmount(b, t.Amount)
	b = append(b, "</InstdAmt></Amt>"...)
	if t.CreditorBIC != "" {
		b = elem(b, "<CdtrAgt><FinInstnId><BICFI>", t.CreditorBIC, "</BICFI></FinInstnId></CdtrAgt>")
	}
	b = elem(b, "<Cdtr><Nm>", t.CreditorName, "</Nm></Cdtr>")
	b = elem(b, "<CdtrAcct><Id><IBAN>", t.CreditorIBAN, "</IBAN></Id></CdtrAcct>")
	if t.UltimateCreditor != "" {
		b = elem(b, "<UltmtCdtr><Nm>", t.UltimateCreditor, "</Nm></UltmtCdtr>")
	}
	b = elem(b, "<Purp><Cd>", t.Purpose, "</Cd></Purp>")
	if t.Remittance != "" {
		b = elem(b, "<RmtInf><Ustrd>", t.Remittance, "</Ustrd></RmtInf>")
	}
	return append(b, "</CdtTrfTxInf>\n"...)
}

// elem appends open, the escaped text and close.
func elem(b []byte, open, text, close string) []byte {
	b = append(b, open...)
	b = appendEscaped(b, text)
	return append(b, close...)
}

// xmlMeta marks the bytes appendEscaped replaces.
var xmlMeta = [256]bool{'&': true, '<': true, '>': true, '"': true}

// appendEscaped appends s with the XML metacharacters escaped. Validated
// values contain at most & of them, but escaping everything keeps the
// output well-formed whatever happens upstream.
func appendEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		if !xmlMeta[s[i]] {
			continue
		}
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		default:
			esc = "&quot;"
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}
