package payrun

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors to branch on. Store and web translate their own errors to
// these; messages for people come from the wrapping.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrInvalid      = errors.New("invalid input")
	ErrForbidden    = errors.New("forbidden")
	ErrUnauthorized = errors.New("unauthorized")
	ErrSameSigner   = errors.New("four-eyes: the second signature must come from another person")
	ErrRunChanged   = errors.New("run content changed since it was shown")
	ErrRunState     = errors.New("run is not in a state that allows this")
	ErrNothingToPay = errors.New("nothing to pay")
)

// FieldError points at one bad field of one input record.
type FieldError struct {
	Line   int    // 1-based line of the input file, 0 if none
	Record string // e.g. the decision_id
	Field  string // JSON path of the field, e.g. "persons[1].birth_date"
	Value  string // the offending value, shortened
	Err    error
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Record != "" {
		fmt.Fprintf(&b, "%s: ", e.Record)
	}
	fmt.Fprintf(&b, "%s", e.Field)
	if e.Value != "" {
		v := e.Value
		if len(v) > 60 {
			v = v[:60] + "…"
		}
		fmt.Fprintf(&b, " = %q", v)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

// Unwrap returns the cause.
func (e *FieldError) Unwrap() error { return e.Err }

// Is makes every FieldError match ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// ErrorList collects several errors, e.g. one per bad input line.
type ErrorList []error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap returns the errors for errors.Is/As.
func (l ErrorList) Unwrap() []error { return l }
