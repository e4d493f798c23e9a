package sepa

import (
	"errors"
	"fmt"
)

// Sentinel errors; the Writer's errors wrap one of them.
var (
	// ErrInvalid: a field value breaks a DK rule (charset, length, IBAN, …).
	ErrInvalid = errors.New("invalid value")
	// ErrTotals: NbOfTxs or CtrlSum declared differ from what was written.
	ErrTotals = errors.New("declared totals differ from the transactions written")
	// ErrOrder: Writer methods called out of order, or after an error.
	ErrOrder = errors.New("writer calls out of order")
)

// FieldError is a bad input field: Record names the message part by its
// identifier (e.g. `CdtTrfTxInf EndToEndId "R12-C34"`), Field the input
// field (e.g. "CreditorIBAN"), Value the offending value. Err wraps
// ErrInvalid with the reason.
type FieldError struct {
	Record string
	Field  string
	Value  string
	Err    error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("sepa: %s: field %s %q: %v", e.Record, e.Field, e.Value, e.Err)
}

// Unwrap returns the reason, which wraps ErrInvalid.
func (e *FieldError) Unwrap() error { return e.Err }

// invalid builds the reason of a FieldError.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}
