package store

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payrun/payrun/payrun"
)

// rawScanner decodes the export's run lines from the rows' raw values:
// the enumerations become their constants and a case or decision id equal
// to the previous row's is not copied again, so a line costs no
// allocation (pgx's Scan allocates every text column of every row).
type rawScanner struct{}

// Known values of the enumerated columns, in the payrun constants' order.
var (
	rawPayees  = []string{string(payrun.PayeeBeneficiary), string(payrun.PayeeLandlord)}
	rawKinds   = []string{string(payrun.LinePayment), string(payrun.LineOverpayment)}
	rawBearers = []string{string(payrun.BearerBund), string(payrun.BearerMunicipality), string(payrun.BearerFlueAG)}
	rawComps   = func() (s []string) {
		for _, c := range payrun.Components {
			s = append(s, string(c))
		}
		return s
	}()
	rawLaws = func() (s []string) {
		for _, l := range payrun.Laws {
			s = append(s, string(l))
		}
		return s
	}()
)

// exportLine scans one row of StreamExportLines' query into l (Seq
// untouched): case_id, month number, payee_role, component, kind, cents,
// law, cost_bearer, reclaim_id, decision_id.
func (rawScanner) exportLine(rows pgx.Rows, l *ExportLine) error {
	raw, fds := rows.RawValues(), rows.FieldDescriptions()
	if len(raw) != 10 || len(fds) != 10 {
		return fmt.Errorf("store: export line: %d columns", len(raw))
	}
	month, err := rawInt(&fds[1], raw[1])
	if err != nil {
		return fmt.Errorf("store: export line: month: %w", err)
	}
	cents, err := rawInt(&fds[5], raw[5])
	if err != nil {
		return fmt.Errorf("store: export line: amount: %w", err)
	}
	l.CaseID = reuse(l.CaseID, raw[0])
	l.Month = payrun.Month(month)
	l.Payee = payrun.PayeeRole(known(raw[2], rawPayees))
	l.Component = payrun.Component(known(raw[3], rawComps))
	l.Kind = payrun.LineKind(known(raw[4], rawKinds))
	l.Amount = payrun.Cents(cents)
	l.Law = payrun.Law(known(raw[6], rawLaws))
	l.CostBearer = payrun.CostBearer(known(raw[7], rawBearers))
	l.ReclaimID = reuse(l.ReclaimID, raw[8])
	l.DecisionID = reuse(l.DecisionID, raw[9])
	return nil
}

// reuse returns prev when it equals b, else b as a new string.
func reuse(prev string, b []byte) string {
	if prev == string(b) {
		return prev
	}
	return string(b)
}

// known returns the constant among values equal to b, else b as a new
// string (an unknown value is reported where it is used).
func known(b []byte, values []string) string {
	for _, v := range values {
		if v == string(b) {
			return v
		}
	}
	return string(b)
}

// rawInt decodes an integer column in text or binary format.
func rawInt(fd *pgconn.FieldDescription, b []byte) (int64, error) {
	if b == nil {
		return 0, fmt.Errorf("NULL")
	}
	if fd.Format == pgx.TextFormatCode {
		return strconv.ParseInt(string(b), 10, 64)
	}
	switch len(b) {
	case 2:
		return int64(int16(binary.BigEndian.Uint16(b))), nil
	case 4:
		return int64(int32(binary.BigEndian.Uint32(b))), nil
	case 8:
		return int64(binary.BigEndian.Uint64(b)), nil
	}
	return 0, fmt.Errorf("binary integer of %d bytes", len(b))
}
