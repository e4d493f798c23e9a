package store

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payrun/payrun/payrun"
)

// Raw decoding of run lines (packed lines, migration 0095, and raw row
// values): the enumerations become their constants and an id equal to the
// previous line's is not copied again, so a line costs no allocation.

// Known values of the enumerated columns, in the payrun constants' order.
var (
	rawPayees   = []string{string(payrun.PayeeBeneficiary), string(payrun.PayeeLandlord)}
	rawKinds    = []string{string(payrun.LinePayment), string(payrun.LineOverpayment)}
	rawBearers  = []string{string(payrun.BearerBund), string(payrun.BearerMunicipality), string(payrun.BearerFlueAG)}
	rawPayTo    = []string{string(payrun.PayToBeneficiary), string(payrun.PayToLandlord)}
	rawChannels = []string{string(payrun.ChannelSEPA), string(payrun.ChannelCash), string(payrun.ChannelCard)}
	rawComps    = func() (s []string) {
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
